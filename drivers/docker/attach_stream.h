#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "base/unique_fd.h"

namespace fnrunner {

// An attach connection whose HTTP reply header has been read: the framed output stream
// follows on `fd` (non-blocking). `initial_bytes` are stream bytes that arrived together
// with the header.
struct AttachConnection {
  UniqueFd fd;
  std::string initial_bytes;
};

// Opens a raw AF_UNIX connection to the engine at `socket_path`, sends
// "POST <api_path>" (an attach request, hijacked by the engine) by hand and waits for the
// reply header. Raw sockets rather than libcurl: the stream then lives on a plain fd that one
// epoll thread can serve for every container. Blocks at most `timeout`. Errors: Unavailable
// (engine down or silent), the engine's code for an HTTP error (NotFound for an unknown
// container), Internal for a reply that is not HTTP.
absl::StatusOr<AttachConnection> OpenAttachStream(absl::string_view socket_path,
                                                  absl::string_view api_path,
                                                  absl::Duration timeout);

}  // namespace fnrunner
