#include "tests/testing/temp_dir.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace fnrunner {
namespace {

absl::Status ErrnoError(absl::string_view what, absl::string_view path) {
  return absl::InternalError(absl::StrCat(what, " ", path, ": ", std::strerror(errno)));
}

// Removes `name` (relative to the directory `parent_fd`; `display` is its full path for
// messages) and, if it is a directory, everything below it. Symlinks are removed, never
// followed, so a hostile link cannot make us delete outside the tree.
absl::Status RemoveTree(int parent_fd, const char* name, const std::string& display) {
  if (::unlinkat(parent_fd, name, 0) == 0 || errno == ENOENT) return absl::OkStatus();
  if (errno != EISDIR && errno != EPERM) return ErrnoError("cannot remove", display);

  int fd = ::openat(parent_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return ErrnoError("cannot open", display);
  // A directory a container made may lack the write or search bits we need to empty it;
  // widening them works when we own it or are root, and is harmless otherwise.
  ::fchmod(fd, 0700);
  DIR* dir = ::fdopendir(fd);
  if (dir == nullptr) {
    ::close(fd);
    return ErrnoError("cannot read", display);
  }
  // Collect first: removing entries while readdir walks the same directory may skip some.
  std::vector<std::string> entries;
  while (dirent* entry = ::readdir(dir)) {
    if (std::strcmp(entry->d_name, ".") != 0 && std::strcmp(entry->d_name, "..") != 0) {
      entries.push_back(entry->d_name);
    }
  }
  absl::Status status;
  for (const std::string& entry : entries) {
    status.Update(RemoveTree(::dirfd(dir), entry.c_str(), absl::StrCat(display, "/", entry)));
  }
  ::closedir(dir);
  if (!status.ok()) return status;
  if (::unlinkat(parent_fd, name, AT_REMOVEDIR) != 0 && errno != ENOENT) {
    return ErrnoError("cannot remove directory", display);
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<TempDir> TempDir::Create(Mode mode) {
  const char* tmpdir = std::getenv("TMPDIR");
  std::string pattern = absl::StrCat(tmpdir != nullptr && *tmpdir != '\0' ? tmpdir : "/tmp",
                                     "/fn-runner-test-XXXXXX");
  if (::mkdtemp(pattern.data()) == nullptr) return ErrnoError("cannot create", pattern);
  TempDir dir(std::move(pattern));
  // chmod rather than a umask-dependent mkdir mode: the umask would strip the bits we need.
  if (mode == Mode::kWorldWritable && ::chmod(dir.path_.c_str(), 0777) != 0) {
    return ErrnoError("cannot chmod", dir.path_);
  }
  return dir;
}

TempDir::TempDir(TempDir&& other) noexcept : path_(std::exchange(other.path_, "")) {}

TempDir& TempDir::operator=(TempDir&& other) noexcept {
  if (this != &other) {
    if (absl::Status removed = Remove(); !removed.ok()) ADD_FAILURE() << removed;
    path_ = std::exchange(other.path_, "");
  }
  return *this;
}

TempDir::~TempDir() {
  if (absl::Status removed = Remove(); !removed.ok()) ADD_FAILURE() << removed;
}

std::string TempDir::Join(absl::string_view name) const { return absl::StrCat(path_, "/", name); }

absl::Status TempDir::Remove() {
  if (path_.empty()) return absl::OkStatus();
  absl::Status status = RemoveTree(AT_FDCWD, path_.c_str(), path_);
  if (status.ok()) path_.clear();
  return status;
}

}  // namespace fnrunner
