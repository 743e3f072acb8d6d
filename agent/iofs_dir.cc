#include "agent/iofs_dir.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <memory>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "glog/logging.h"

namespace fnrunner {
namespace {

// sockaddr_un.sun_path holds 108 bytes including the terminating NUL.
constexpr size_t kMaxSocketPathBytes = sizeof(sockaddr_un::sun_path) - 1;
constexpr absl::string_view kDirPrefix = "iofs";
// A container can nest directories far deeper than this; we leave such trees to the
// operator rather than recurse (and hold a descriptor per level) without bound.
constexpr int kMaxRemoveDepth = 64;

struct DirCloser {
  void operator()(DIR* dir) const { closedir(dir); }
};
using DirPtr = std::unique_ptr<DIR, DirCloser>;

std::string ResolveRoot(absl::string_view configured) {
  std::string root(configured);
  if (root.empty()) {
    const char* tmpdir = std::getenv("TMPDIR");
    root = (tmpdir != nullptr && *tmpdir != '\0') ? tmpdir : "/tmp";
  }
  while (root.size() > 1 && root.back() == '/') root.pop_back();
  return root;
}

// Opens `dir_fd` a second time as a DIR stream positioned at its first entry.
absl::StatusOr<DirPtr> OpenDirStream(int dir_fd) {
  int fd = fcntl(dir_fd, F_DUPFD_CLOEXEC, 0);
  if (fd < 0) return absl::ErrnoToStatus(errno, "dup");
  DirPtr dir(fdopendir(fd));
  if (dir == nullptr) {
    int err = errno;
    close(fd);
    return absl::ErrnoToStatus(err, "fdopendir");
  }
  rewinddir(dir.get());  // the duplicate shares the file offset with `dir_fd`
  return dir;
}

absl::Status RemoveContents(int dir_fd, int depth);

// Removes `name` in `dir_fd`. Everything goes through descriptors and O_NOFOLLOW, so a
// symlink the function planted is removed itself and never followed out of the directory.
absl::Status RemoveEntry(int dir_fd, const char* name, int depth) {
  if (unlinkat(dir_fd, name, 0) == 0 || errno == ENOENT) return absl::OkStatus();
  int unlink_errno = errno;
  if (unlink_errno != EISDIR && unlink_errno != EPERM) {
    return absl::ErrnoToStatus(unlink_errno, absl::StrCat("unlink ", name));
  }
  UniqueFd child(openat(dir_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!child.valid()) {
    // EPERM from unlink on something that is not a directory is the real error.
    return absl::ErrnoToStatus(errno == ENOTDIR ? unlink_errno : errno,
                               absl::StrCat("open ", name));
  }
  absl::Status status = RemoveContents(child.get(), depth + 1);
  if (unlinkat(dir_fd, name, AT_REMOVEDIR) != 0 && errno != ENOENT && status.ok()) {
    status = absl::ErrnoToStatus(errno, absl::StrCat("rmdir ", name));
  }
  return status;
}

// Removes every entry of `dir_fd`, continuing past failures; returns the first failure.
absl::Status RemoveContents(int dir_fd, int depth) {
  if (depth > kMaxRemoveDepth) {
    return absl::ResourceExhaustedError("directory tree too deep to remove");
  }
  absl::StatusOr<DirPtr> dir = OpenDirStream(dir_fd);
  if (!dir.ok()) return dir.status();
  absl::Status result;
  while (dirent* entry = readdir(dir->get())) {
    absl::string_view name = entry->d_name;
    if (name == "." || name == "..") continue;
    absl::Status removed = RemoveEntry(dir_fd, entry->d_name, depth);
    if (!removed.ok() && result.ok()) result = removed;
  }
  return result;
}

}  // namespace

absl::StatusOr<IofsDir> IofsDir::Create(const IofsOptions& options) {
  std::string root = ResolveRoot(options.root);
  if (!absl::StartsWith(root, "/")) {
    return absl::InvalidArgumentError(
        absl::StrCat("iofs root must be an absolute path, got \"", root, "\""));
  }
  std::string path = absl::StrCat(root == "/" ? "" : root, "/", kDirPrefix, "XXXXXX");
  size_t socket_path_bytes = path.size() + 1 + kSocketName.size();
  if (socket_path_bytes > kMaxSocketPathBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("iofs root \"", root, "\" is too long: the socket path would be ",
                     socket_path_bytes, " bytes, more than the ", kMaxSocketPathBytes,
                     " a unix socket address holds; set FN_IOFS_PATH to a shorter directory"));
  }
  if (mkdtemp(path.data()) == nullptr) {
    return absl::ErrnoToStatus(errno, absl::StrCat("creating an iofs directory in ", root));
  }
  // The flock marks the directory as in use for RemoveStaleIofsDirs(); chmod rather than
  // mkdir's mode because the umask would strip the bits the container's uid needs.
  UniqueFd lock(open(path.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!lock.valid() || flock(lock.get(), LOCK_EX | LOCK_NB) != 0 ||
      (options.world_writable && fchmod(lock.get(), 0777) != 0)) {
    int err = errno;
    rmdir(path.c_str());  // best effort: it is empty, and the stale sweep would remove it
    return absl::ErrnoToStatus(err, absl::StrCat("preparing iofs directory ", path));
  }
  std::string host_path = path;
  if (!options.docker_root.empty()) {
    // The directory is a direct child of the root, so its host path is the host root plus
    // its name: this works even when FN_IOFS_PATH is unset (fn failed then, §10.36).
    absl::string_view docker_root = options.docker_root;
    while (docker_root.size() > 1) {
      if (!absl::ConsumeSuffix(&docker_root, "/")) break;
    }
    host_path =
        absl::StrCat(docker_root, docker_root == "/" ? "" : "/", path.substr(path.rfind('/') + 1));
  }
  return IofsDir(std::move(path), std::move(host_path), std::move(lock));
}

IofsDir::IofsDir(IofsDir&& other) noexcept
    : path_(std::exchange(other.path_, "")),
      host_path_(std::exchange(other.host_path_, "")),
      lock_(std::move(other.lock_)) {}

IofsDir& IofsDir::operator=(IofsDir&& other) noexcept {
  if (this != &other) {
    if (absl::Status removed = Remove(); !removed.ok()) LOG(WARNING) << removed;
    path_ = std::exchange(other.path_, "");
    host_path_ = std::exchange(other.host_path_, "");
    lock_ = std::move(other.lock_);
  }
  return *this;
}

IofsDir::~IofsDir() {
  if (absl::Status removed = Remove(); !removed.ok()) LOG(WARNING) << removed;
}

std::string IofsDir::socket_path() const { return absl::StrCat(path_, "/", kSocketName); }

absl::Status IofsDir::Remove() {
  if (path_.empty()) return absl::OkStatus();
  std::string path = std::exchange(path_, "");
  absl::Status status = RemoveContents(lock_.get(), 0);
  if (rmdir(path.c_str()) != 0 && errno != ENOENT && status.ok()) {
    status = absl::ErrnoToStatus(errno, "rmdir");
  }
  // Whatever happened, the directory is no longer ours: unlocked, a failed removal is left
  // for the next RemoveStaleIofsDirs().
  lock_.Reset();
  if (!status.ok()) {
    return absl::Status(status.code(),
                        absl::StrCat("removing iofs directory ", path, ": ", status.message()));
  }
  return absl::OkStatus();
}

absl::StatusOr<int> RemoveStaleIofsDirs(const IofsOptions& options, absl::Duration min_age) {
  std::string root = ResolveRoot(options.root);
  UniqueFd root_fd(open(root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!root_fd.valid()) {
    if (errno == ENOENT) return 0;
    return absl::ErrnoToStatus(errno, absl::StrCat("opening iofs root ", root));
  }
  absl::StatusOr<DirPtr> entries = OpenDirStream(root_fd.get());
  if (!entries.ok()) return entries.status();
  int removed = 0;
  const absl::Time now = absl::Now();
  while (dirent* entry = readdir(entries->get())) {
    const char* name = entry->d_name;
    struct stat st;
    if (!absl::StartsWith(name, kDirPrefix) ||
        fstatat(root_fd.get(), name, &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISDIR(st.st_mode) ||
        st.st_uid != geteuid() || now - absl::TimeFromTimespec(st.st_mtim) < min_age) {
      continue;
    }
    UniqueFd dir(openat(root_fd.get(), name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!dir.valid() || flock(dir.get(), LOCK_EX | LOCK_NB) != 0) continue;  // in use
    absl::Status status = RemoveContents(dir.get(), 0);
    if (status.ok() && unlinkat(root_fd.get(), name, AT_REMOVEDIR) != 0) {
      status = absl::ErrnoToStatus(errno, "rmdir");
    }
    if (status.ok()) {
      ++removed;
    } else {
      LOG(WARNING) << "leaving stale iofs directory " << root << "/" << name << ": " << status;
    }
  }
  return removed;
}

}  // namespace fnrunner
