#pragma once

// The per-container iofs directory (spec §4.1): the function's FDK creates its unix socket
// there, and the agent connects to it from the other side of the bind mount.

#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "base/unique_fd.h"

namespace fnrunner {

// Where every container sees its iofs directory, and what the FDK is told to listen on.
inline constexpr absl::string_view kContainerIofsPath = "/tmp/iofs";
inline constexpr absl::string_view kSocketName = "lsnr.sock";
inline constexpr absl::string_view kFnListener = "unix:/tmp/iofs/lsnr.sock";

struct IofsOptions {
  // FN_IOFS_PATH: the absolute directory the iofs directories are created in. "" = $TMPDIR,
  // or /tmp when that is unset.
  std::string root;
  // FN_IOFS_DOCKER_PATH: where `root` is on the Docker host, when the agent itself runs in a
  // container. "" = the same path as the agent's.
  std::string docker_root;
  // chmod 0777, so the container's uid (1000) can create its socket. Off only when the
  // containers run as the agent's own uid.
  bool world_writable = true;
};

// One container's iofs directory: a fresh `iofsXXXXXX` under the root. Owns it: Remove() or
// the destructor deletes it with everything in it, never following the symlinks a function
// may have planted. While alive it holds an exclusive flock(2) on the directory, which is how
// RemoveStaleIofsDirs() (in any process) knows it is in use. Move-only; one owner at a time.
class IofsDir {
 public:
  // Creates the directory. InvalidArgument if the root is not absolute or the socket path
  // would not fit in sockaddr_un.sun_path (107 bytes), so a unix socket could not be bound
  // or connected by path (our own connects go through /proc/self/fd, but operators' tools
  // and fn's contract use the path); other codes for file-system errors.
  static absl::StatusOr<IofsDir> Create(const IofsOptions& options);

  IofsDir(IofsDir&& other) noexcept;
  IofsDir& operator=(IofsDir&& other) noexcept;
  IofsDir(const IofsDir&) = delete;
  IofsDir& operator=(const IofsDir&) = delete;
  // Removes the directory if Remove() was not called; errors are logged.
  ~IofsDir();

  // Absolute path in the agent's mount namespace.
  const std::string& path() const { return path_; }
  // The bind-mount source for Docker (differs from path() under FN_IOFS_DOCKER_PATH).
  const std::string& host_path() const { return host_path_; }
  // path() + "/lsnr.sock".
  std::string socket_path() const;

  // Deletes the directory and its content. Idempotent. Call once the container is gone:
  // files it creates during the removal may survive (then the error says so). Returns
  // PermissionDenied when the agent may not delete what the container created (an agent not
  // running as root and a subdirectory owned by the container's uid).
  absl::Status Remove();

 private:
  IofsDir(std::string path, std::string host_path, UniqueFd lock)
      : path_(std::move(path)), host_path_(std::move(host_path)), lock_(std::move(lock)) {}

  std::string path_;  // "" once removed or moved from
  std::string host_path_;
  UniqueFd lock_;  // the directory, opened and flock'ed for as long as we own it
};

// Deletes iofs directories that a previous (crashed) agent left under the root (fn never
// did, spec §10.22). A directory is removed only if all of these hold:
//   * it is a direct child of the root named `iofs*` and a real directory, not a symlink;
//   * it belongs to our effective uid (a shared /tmp may hold other users' directories);
//   * its mtime is at least `min_age` old, which covers the instant between another agent's
//     mkdtemp() and its flock();
//   * no process holds its flock: every live IofsDir does, and the kernel drops the lock
//     when its process dies, so a locked directory is in use by a running agent.
// Returns how many were removed. Directories that cannot be removed are logged and skipped.
// The root not existing is not an error.
absl::StatusOr<int> RemoveStaleIofsDirs(const IofsOptions& options,
                                        absl::Duration min_age = absl::Minutes(1));

}  // namespace fnrunner
