#pragma once

// The physical-limit baseline of the runner benchmark: HTTP/1.1 straight to a hot function's
// unix socket (the FDK contract: POST /call), bypassing runner and LB.

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace fnrunner {

// One kept-alive connection to a function socket. Owns the descriptor; movable, not
// copyable. Not thread-safe (one per worker).
class DirectSocketClient {
 public:
  // Unavailable if nothing accepts on `path`.
  static absl::StatusOr<DirectSocketClient> Connect(const std::string& path);
  DirectSocketClient(DirectSocketClient&& other) noexcept;
  DirectSocketClient& operator=(DirectSocketClient&& other) noexcept;
  DirectSocketClient(const DirectSocketClient&) = delete;
  DirectSocketClient& operator=(const DirectSocketClient&) = delete;
  ~DirectSocketClient();

  // POST /call with `body` (Content-Length framing) and `call_id` as Fn-Call-Id; reads the
  // whole answer (Content-Length or chunked) and returns its status. Unavailable if the peer
  // closed, DeadlineExceeded after `timeout`, Internal for a malformed answer. Blocks.
  absl::StatusOr<int> Post(absl::string_view body, absl::string_view call_id,
                           absl::Duration timeout);

 private:
  explicit DirectSocketClient(int fd) : fd_(fd) {}
  absl::Status Fill(absl::Time deadline);  // reads more bytes into buffer_
  absl::StatusOr<std::string> Line(absl::Time deadline);

  int fd_ = -1;
  std::string buffer_;
};

}  // namespace fnrunner
