#pragma once

// The function's listening socket, validated once and then pinned. fn checked only the first
// symlink hop, once, and re-resolved the path on every dial, so a function could later point
// lsnr.sock (or the file it links to) at any socket in the agent's mount namespace, e.g. the
// Docker socket (spec §10.24). Here the socket file is opened with O_PATH when it is
// validated, and every connection goes through that descriptor (/proc/self/fd/N): nothing the
// function does to its directory afterwards changes which socket we reach.

#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "base/unique_fd.h"

namespace fnrunner {

// A validated, pinned function socket. Move-only. Connect() is const and safe to call from
// several threads.
class FunctionSocket {
 public:
  // Validates `dir`/lsnr.sock and pins the socket file it designates. Accepted:
  //   * lsnr.sock is itself a unix socket file; or
  //   * lsnr.sock is a symlink whose text is a bare file name (no '/', not "." or "..") and
  //     that name, not followed any further, is a unix socket file in the same directory
  //     (fdk-go's "phony socket" pattern). A link to a link is refused.
  // FailedPrecondition when the function broke that contract (missing, wrong file type, bad
  // link, swapped during validation): the agent reports fn's ErrContainerInitFail (502) and
  // removes the container. Other codes are the agent's own failures (e.g. no descriptors).
  static absl::StatusOr<FunctionSocket> Open(absl::string_view dir);

  FunctionSocket(FunctionSocket&&) noexcept = default;
  FunctionSocket& operator=(FunctionSocket&&) noexcept = default;
  FunctionSocket(const FunctionSocket&) = delete;
  FunctionSocket& operator=(const FunctionSocket&) = delete;

  // A new stream connection, non-blocking and close-on-exec, to the socket file pinned by
  // Open(), never re-resolving any name. Does not block (a unix connect either completes or
  // fails at once). Unavailable when nobody accepts on it (ECONNREFUSED: not listening yet
  // or any more; EAGAIN: its backlog is full); other codes from errno.
  absl::StatusOr<UniqueFd> Connect() const;

  // The socket file's name in the directory: "lsnr.sock" or the link's text (for logs).
  const std::string& name() const { return name_; }

 private:
  FunctionSocket(UniqueFd pinned, std::string name)
      : pinned_(std::move(pinned)), name_(std::move(name)) {}

  UniqueFd pinned_;  // O_PATH | O_NOFOLLOW descriptor of the validated socket file
  std::string name_;
};

}  // namespace fnrunner
