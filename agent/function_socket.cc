#include "agent/function_socket.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "agent/iofs_dir.h"

namespace fnrunner {
namespace {

absl::Status Refused(absl::string_view why) {
  return absl::FailedPreconditionError(absl::StrCat("function socket refused: ", why));
}

// The symlink text fdk-go writes is "phonylsnr.sock": a name in the same directory. Anything
// with a '/' could leave the directory (absolute, "../x") or enter a subdirectory the
// function controls ("sub/x"); "." and ".." name directories.
bool IsBareName(absl::string_view text) {
  return !text.empty() && text != "." && text != ".." && text.find('/') == absl::string_view::npos;
}

}  // namespace

absl::StatusOr<FunctionSocket> FunctionSocket::Open(absl::string_view dir) {
  std::string dir_path(dir);
  UniqueFd dir_fd(open(dir_path.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!dir_fd.valid()) {
    return absl::ErrnoToStatus(errno, absl::StrCat("opening iofs directory ", dir_path));
  }

  std::string name(kSocketName);
  struct stat st;
  if (fstatat(dir_fd.get(), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
    return Refused(absl::StrCat("lstat ", name, ": ", std::strerror(errno)));
  }
  if (S_ISLNK(st.st_mode)) {
    char text[256];
    ssize_t n = readlinkat(dir_fd.get(), name.c_str(), text, sizeof(text));
    if (n < 0) return Refused(absl::StrCat("readlink ", name, ": ", std::strerror(errno)));
    if (static_cast<size_t>(n) == sizeof(text) ||
        !IsBareName(absl::string_view(text, static_cast<size_t>(n)))) {
      return Refused(absl::StrCat(name, " links to \"",
                                  absl::CEscape(absl::string_view(text, std::min<size_t>(n, 64))),
                                  "\", not a file name in its own directory"));
    }
    name.assign(text, static_cast<size_t>(n));
  }

  // Pin the final file. With O_PATH | O_NOFOLLOW a symlink opens as the link itself instead
  // of failing, so the type check below is made on the descriptor: whatever the function
  // swapped in between the checks above and this open, the pinned object is what we verify.
  UniqueFd pinned(openat(dir_fd.get(), name.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC));
  if (!pinned.valid()) return Refused(absl::StrCat("open ", name, ": ", std::strerror(errno)));
  if (fstat(pinned.get(), &st) != 0) {
    return absl::ErrnoToStatus(errno, absl::StrCat("fstat ", name));
  }
  if (!S_ISSOCK(st.st_mode)) {
    return Refused(S_ISLNK(st.st_mode) ? absl::StrCat(name, " is a link to a link")
                                       : absl::StrCat(name, " is not a unix socket"));
  }
  return FunctionSocket(std::move(pinned), std::move(name));
}

absl::StatusOr<UniqueFd> FunctionSocket::Connect() const {
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  // The magic link resolves to the pinned file itself, not to a name: renaming or replacing
  // entries in the iofs directory cannot redirect it.
  std::string path = absl::StrCat("/proc/self/fd/", pinned_.get());
  std::memcpy(address.sun_path, path.c_str(), path.size() + 1);

  UniqueFd fd(socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd.valid()) return absl::ErrnoToStatus(errno, "socket");
  int result;
  do {
    result = connect(fd.get(), reinterpret_cast<const sockaddr*>(&address), sizeof(address));
  } while (result != 0 && errno == EINTR);
  if (result != 0) {
    int err = errno;
    std::string what = absl::StrCat("connecting to function socket ", name_);
    if (err == ECONNREFUSED || err == EAGAIN) {
      return absl::UnavailableError(absl::StrCat(what, ": ", std::strerror(err)));
    }
    return absl::ErrnoToStatus(err, what);
  }
  return fd;
}

}  // namespace fnrunner
