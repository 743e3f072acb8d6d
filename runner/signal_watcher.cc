#include "runner/signal_watcher.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <cstdint>
#include <utility>

#include "absl/strings/str_cat.h"

namespace fnrunner {
namespace {

sigset_t TerminationSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  return set;
}

absl::Status Errno(absl::string_view what) {
  return absl::InternalError(absl::StrCat(what, ": ", strerror(errno)));
}

}  // namespace

absl::Status SignalWatcher::BlockTerminationSignals() {
  const sigset_t set = TerminationSignals();
  if (int err = pthread_sigmask(SIG_BLOCK, &set, nullptr); err != 0) {
    return absl::InternalError(absl::StrCat("pthread_sigmask: ", strerror(err)));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<SignalWatcher>> SignalWatcher::Start(Handler on_signal) {
  const sigset_t set = TerminationSignals();
  const int signal_fd = signalfd(-1, &set, SFD_CLOEXEC);
  if (signal_fd < 0) return Errno("signalfd");
  const int stop_fd = eventfd(0, EFD_CLOEXEC);
  if (stop_fd < 0) {
    absl::Status status = Errno("eventfd");
    close(signal_fd);
    return status;
  }
  return std::unique_ptr<SignalWatcher>(
      new SignalWatcher(signal_fd, stop_fd, std::move(on_signal)));
}

SignalWatcher::SignalWatcher(int signal_fd, int stop_fd, Handler on_signal)
    : signal_fd_(signal_fd),
      stop_fd_(stop_fd),
      on_signal_(std::move(on_signal)),
      thread_([this] { Loop(); }) {}

SignalWatcher::~SignalWatcher() {
  const uint64_t one = 1;
  // Best effort: if this write failed the join below would hang, but an eventfd write of 1
  // only fails on counter overflow.
  (void)!write(stop_fd_, &one, sizeof(one));
  thread_.join();
  close(signal_fd_);
  close(stop_fd_);
}

void SignalWatcher::Loop() {
  int count = 0;
  while (true) {
    pollfd fds[2] = {{signal_fd_, POLLIN, 0}, {stop_fd_, POLLIN, 0}};
    if (poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      return;
    }
    if (fds[1].revents != 0) return;
    signalfd_siginfo info;
    if (read(signal_fd_, &info, sizeof(info)) != sizeof(info)) continue;
    on_signal_(static_cast<int>(info.ssi_signo), ++count);
  }
}

}  // namespace fnrunner
