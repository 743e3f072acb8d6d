#include "tests/testing/poll.h"

#include "absl/strings/str_cat.h"

namespace fnrunner {

absl::Status PollUntil(absl::FunctionRef<bool()> done, absl::Duration timeout,
                       absl::string_view what, absl::Duration interval) {
  const absl::Time deadline = absl::Now() + timeout;
  while (!done()) {
    if (absl::Now() >= deadline) {
      return absl::DeadlineExceededError(
          absl::StrCat("waited ", absl::FormatDuration(timeout), " for ", what));
    }
    absl::SleepFor(interval);
  }
  return absl::OkStatus();
}

}  // namespace fnrunner
