#include "agent/socket_watcher.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <string>

#include "absl/strings/str_cat.h"
#include "agent/iofs_dir.h"

namespace fnrunner {
namespace {

// Everything but the creation of the socket name is noise.
constexpr uint32_t kWatchMask = IN_CREATE | IN_MOVED_TO | IN_ONLYDIR;

absl::Status Internal(int err, absl::string_view what) {
  return absl::InternalError(absl::StrCat(what, ": ", std::strerror(err)));
}

}  // namespace

absl::StatusOr<std::unique_ptr<SocketWatcher>> SocketWatcher::Create(absl::string_view dir) {
  std::string path(dir);
  UniqueFd dir_fd(open(path.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!dir_fd.valid()) return Internal(errno, absl::StrCat("opening ", path));
  UniqueFd inotify(inotify_init1(IN_NONBLOCK | IN_CLOEXEC));
  if (!inotify.valid()) return Internal(errno, "inotify_init1");
  // The watch goes on the path we just opened; the directory is the agent's own and its
  // parent is not visible to the container, so the two cannot differ.
  if (inotify_add_watch(inotify.get(), path.c_str(), kWatchMask) < 0) {
    return Internal(errno, absl::StrCat("watching ", path));
  }
  UniqueFd cancel(eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
  if (!cancel.valid()) return Internal(errno, "eventfd");
  return std::unique_ptr<SocketWatcher>(
      new SocketWatcher(std::move(dir_fd), std::move(inotify), std::move(cancel)));
}

bool SocketWatcher::SocketExists() const {
  struct stat st;
  std::string name(kSocketName);
  return fstatat(dir_.get(), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0;
}

absl::Status SocketWatcher::Wait(absl::Time deadline) {
  // The watch has been in place since Create(), so checking the name now and then
  // reading events misses nothing: a socket made before this call is found here, one made
  // after it leaves an event.
  if (SocketExists()) return absl::OkStatus();
  while (true) {
    pollfd fds[2] = {{cancel_.get(), POLLIN, 0}, {inotify_.get(), POLLIN, 0}};
    absl::Duration left = deadline - absl::Now();
    if (left <= absl::ZeroDuration()) {
      return absl::DeadlineExceededError("function socket did not appear in time");
    }
    timespec timeout = absl::ToTimespec(left);
    if (ppoll(fds, 2, &timeout, nullptr) < 0) {
      if (errno == EINTR) continue;
      return Internal(errno, "poll");
    }
    if (fds[0].revents != 0) return absl::CancelledError("waiting for the function socket");
    if (fds[1].revents == 0) continue;  // timed out: the deadline check above reports it
    absl::StatusOr<bool> created = ReadEvents();
    if (!created.ok()) return created.status();
    if (*created) return absl::OkStatus();
  }
}

void SocketWatcher::Cancel() {
  uint64_t one = 1;
  // Can only fail if the counter would overflow, i.e. after 2^64-2 cancels: ignored.
  (void)!write(cancel_.get(), &one, sizeof(one));
}

absl::StatusOr<bool> SocketWatcher::ReadEvents() {
  alignas(inotify_event) char buffer[4096];
  bool created = false;
  while (true) {
    ssize_t n = read(inotify_.get(), buffer, sizeof(buffer));
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN) return created;
      return Internal(errno, "reading inotify events");
    }
    for (ssize_t offset = 0; offset < n;) {
      const auto* event = reinterpret_cast<const inotify_event*>(buffer + offset);
      offset += static_cast<ssize_t>(sizeof(inotify_event) + event->len);
      if (event->mask & IN_Q_OVERFLOW) {
        // Events were lost: the file system itself is the truth.
        created = created || SocketExists();
      } else if (event->len > 0 && (event->mask & (IN_CREATE | IN_MOVED_TO)) &&
                 absl::string_view(event->name) == kSocketName) {
        created = true;
      }
    }
  }
}

}  // namespace fnrunner
