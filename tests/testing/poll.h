#pragma once

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace fnrunner {

// Calls `done` every `interval` until it returns true or `timeout` has passed; the one way
// tests wait for something outside their control (a socket, a log line, a container state).
// Returns OK, or DeadlineExceeded naming `what`. Blocks.
absl::Status PollUntil(absl::FunctionRef<bool()> done, absl::Duration timeout,
                       absl::string_view what, absl::Duration interval = absl::Milliseconds(10));

}  // namespace fnrunner
