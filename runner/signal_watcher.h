#pragma once

#include <functional>
#include <memory>
#include <thread>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace fnrunner {

// Delivers SIGTERM and SIGINT on a thread of its own through a signalfd, so no asynchronous
// signal handler ever runs. Call BlockTerminationSignals() first thing in main(), before any
// thread exists: threads inherit the mask, and a signal not blocked everywhere would be
// delivered the default way (death). Owns its thread; the destructor stops and joins it.
class SignalWatcher {
 public:
  // Calls `on_signal(signo, count)` on the watcher thread for every SIGTERM/SIGINT; `count`
  // is 1 for the first one, 2 for the second, ...
  using Handler = std::function<void(int signo, int count)>;

  // Blocks SIGTERM and SIGINT in the calling thread (and so in threads it starts later).
  static absl::Status BlockTerminationSignals();

  static absl::StatusOr<std::unique_ptr<SignalWatcher>> Start(Handler on_signal);

  SignalWatcher(const SignalWatcher&) = delete;
  SignalWatcher& operator=(const SignalWatcher&) = delete;
  ~SignalWatcher();

 private:
  SignalWatcher(int signal_fd, int stop_fd, Handler on_signal);
  void Loop();

  const int signal_fd_;
  const int stop_fd_;  // an eventfd: written by the destructor to stop Loop()
  const Handler on_signal_;
  std::thread thread_;
};

}  // namespace fnrunner
