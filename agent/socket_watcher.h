#pragma once

// Readiness of a function container (spec §4.3): its FDK is ready once `lsnr.sock` appears
// in the container's iofs directory. We learn it from inotify, not by polling the path.

#include <memory>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "base/unique_fd.h"

namespace fnrunner {

// Waits for `lsnr.sock` to be created in (or moved into) one iofs directory. Create it
// before the container is created so the watch is in place before the FDK can act; a socket
// that already exists when Wait() starts counts as well. Wait() is for one thread at a time;
// Cancel() may be called from any thread.
//
// What the agent makes of Wait()'s result (fn's errors, spec §9):
//   OK                 run FunctionSocket::Open() on the directory: only the name was seen
//   DeadlineExceeded   ErrContainerInitTimeout (504), remove the container
//   Cancelled          the agent cancelled (e.g. the container exited first: ErrContainerInitFail)
//   Internal           inotify failed: fn's 500
class SocketWatcher {
 public:
  // Watches `dir` (which must exist). Internal if inotify cannot be set up (e.g. the
  // per-user watch limit, fs.inotify.max_user_watches/instances).
  static absl::StatusOr<std::unique_ptr<SocketWatcher>> Create(absl::string_view dir);

  SocketWatcher(const SocketWatcher&) = delete;
  SocketWatcher& operator=(const SocketWatcher&) = delete;

  // Blocks until the socket name exists, `deadline` (real time) passes, or Cancel() is
  // called; see the class comment for the codes. May be called again after a timeout.
  absl::Status Wait(absl::Time deadline);

  // Makes a blocked Wait() (and every later one) return Cancelled promptly. Never blocks;
  // idempotent; safe from any thread while the watcher is alive.
  void Cancel();

 private:
  SocketWatcher(UniqueFd dir, UniqueFd inotify, UniqueFd cancel)
      : dir_(std::move(dir)), inotify_(std::move(inotify)), cancel_(std::move(cancel)) {}

  // Whether the socket name exists in the directory, whatever it is (a socket, a link...).
  bool SocketExists() const;
  // Reads pending inotify events: true if one of them created or moved in the socket name.
  absl::StatusOr<bool> ReadEvents();

  const UniqueFd dir_;      // O_PATH descriptor of the directory
  const UniqueFd inotify_;  // non-blocking inotify instance watching `dir_`
  const UniqueFd cancel_;   // eventfd; readable once Cancel() was called (never drained)
};

}  // namespace fnrunner
