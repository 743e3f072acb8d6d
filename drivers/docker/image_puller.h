#pragma once

#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "drivers/docker/engine_client.h"

namespace fnrunner {

// Pulls images, merging concurrent pulls of one image with the same credentials into one
// engine request whose result every caller gets. The merged pull runs under the puller's own
// timeout, not the first caller's (fn's gotcha §10.16), and the merge key holds a hash of
// the credentials, never the credentials. Thread-safe.
class ImagePuller {
 public:
  // `engine` must outlive the puller.
  ImagePuller(EngineClient& engine, absl::Duration timeout) : engine_(engine), timeout_(timeout) {}

  // Pulls `image` with `auth_header` (an X-Registry-Auth value, "" for none). Blocks until
  // the pull ends. NotFound if the registry does not have the image, PermissionDenied if it
  // refused the credentials, Unavailable if no registry (or engine) could be reached,
  // DeadlineExceeded after the timeout, InvalidArgument for a malformed reference.
  absl::Status Pull(absl::string_view image, const std::string& auth_header)
      ABSL_LOCKS_EXCLUDED(mu_);
  // Waits until `callers` Pull() calls are in progress (leaders and joiners); false after
  // `timeout`. For tests of the merging.
  bool AwaitCallers(int callers, absl::Duration timeout) ABSL_LOCKS_EXCLUDED(mu_);

 private:
  struct Flight;
  absl::Status PullOnce(absl::string_view image, const std::string& auth_header);

  EngineClient& engine_;
  const absl::Duration timeout_;
  absl::Mutex mu_;
  absl::flat_hash_map<std::string, std::shared_ptr<Flight>> flights_ ABSL_GUARDED_BY(mu_);
  int callers_ ABSL_GUARDED_BY(mu_) = 0;
};

// Classifies a pull failure message from the engine or the progress stream.
absl::Status PullError(absl::string_view image, absl::string_view message,
                       absl::StatusCode fallback);

// Scans a pull's JSON-lines progress stream for the first "error". Used by one thread.
class PullProgressScanner {
 public:
  void Feed(absl::string_view bytes);
  void Finish();
  // The first error reported, empty if none.
  const std::string& error() const { return error_; }

 private:
  void Line(absl::string_view line);
  std::string partial_;
  std::string error_;
};

}  // namespace fnrunner
