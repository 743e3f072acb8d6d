#pragma once

#include <cstdint>

#include "absl/status/statusor.h"

namespace fnrunner {

// The process's open-files limit (RLIMIT_NOFILE) before and after RaiseOpenFilesLimit().
struct OpenFilesLimit {
  uint64_t soft_before = 0;
  uint64_t soft = 0;
  uint64_t hard = 0;
};

// Raises the soft open-files limit to the hard one. A runner holds a socket per LB connection,
// per function container (its unix socket and log stream) and per engine request; with an
// inherited soft limit of 1024 (or 256), a burst of connections exhausts it, and gRPC's
// listener stops accepting for good after EMFILE. Internal if getrlimit/setrlimit fail.
absl::StatusOr<OpenFilesLimit> RaiseOpenFilesLimit();

}  // namespace fnrunner
