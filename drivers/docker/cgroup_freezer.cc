#include "drivers/docker/cgroup_freezer.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "base/unique_fd.h"

namespace fnrunner {
namespace {

absl::Status ErrnoStatus(int error, absl::string_view what) {
  const std::string message = absl::StrCat(what, ": ", std::strerror(error));
  if (error == ENOENT || error == ENODEV || error == ESRCH) return absl::NotFoundError(message);
  if (error == EACCES || error == EPERM || error == EROFS) {
    return absl::FailedPreconditionError(message);
  }
  return absl::InternalError(message);
}

// One write(2) of `value`: a cgroup file takes its whole value in one write.
absl::Status WriteValue(const std::string& path, absl::string_view value) {
  UniqueFd fd(open(path.c_str(), O_WRONLY | O_CLOEXEC));
  if (!fd.valid()) return ErrnoStatus(errno, absl::StrCat("opening ", path));
  if (write(fd.get(), value.data(), value.size()) != static_cast<ssize_t>(value.size())) {
    return ErrnoStatus(errno, absl::StrCat("writing ", value, " to ", path));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> ReadText(const std::string& path) {
  std::ifstream in(path);
  if (!in) return ErrnoStatus(errno, absl::StrCat("reading ", path));
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

absl::Status CheckWritable(const std::string& path) {
  if (access(path.c_str(), W_OK) != 0) return ErrnoStatus(errno, path);
  return absl::OkStatus();
}

}  // namespace

absl::Status CgroupFreezer::Probe() const {
  // A mounted hierarchy has cgroup.procs at its root; whether we may write to it tells
  // whether we may freeze (a read-only mount, or no privilege, says no).
  const std::string v1 = absl::StrCat(options_.cgroup_root, "/freezer/cgroup.procs");
  if (access(v1.c_str(), F_OK) == 0) {
    if (absl::Status s = CheckWritable(v1); !s.ok()) {
      return absl::FailedPreconditionError(
          absl::StrCat("cgroup v1 freezer not writable: ", s.message()));
    }
    return absl::OkStatus();
  }
  // cgroup v2: every non-root cgroup has cgroup.freeze (kernel 5.2+); the root's
  // cgroup.subtree_control tells a v2 mount.
  const std::string v2 = absl::StrCat(options_.cgroup_root, "/cgroup.subtree_control");
  if (access(v2.c_str(), F_OK) == 0) {
    if (absl::Status s = CheckWritable(v2); !s.ok()) {
      return absl::FailedPreconditionError(absl::StrCat("cgroup v2 not writable: ", s.message()));
    }
    return absl::OkStatus();
  }
  return absl::FailedPreconditionError(absl::StrCat(
      "no cgroup freezer under ", options_.cgroup_root, " (neither ", v1, " nor ", v2, ")"));
}

absl::StatusOr<FreezerFile> CgroupFreezer::Locate(int64_t pid) const {
  if (pid <= 0) return absl::NotFoundError(absl::StrCat("no process ", pid));
  absl::StatusOr<std::string> table =
      ReadText(absl::StrCat(options_.proc_root, "/", pid, "/cgroup"));
  if (!table.ok()) return table.status();
  // Lines are "hierarchy-id:controllers:path". A v1 freezer line wins over the v2 line ("0::")
  // of a hybrid mount, where the v1 freezer is what the engine uses.
  std::string v2_path;
  for (absl::string_view line : absl::StrSplit(*table, '\n', absl::SkipEmpty())) {
    std::vector<absl::string_view> fields = absl::StrSplit(line, absl::MaxSplits(':', 2));
    if (fields.size() != 3) continue;
    for (absl::string_view controller : absl::StrSplit(fields[1], ',')) {
      if (controller == "freezer") {
        FreezerFile file{
            absl::StrCat(options_.cgroup_root, "/freezer", fields[2], "/freezer.state"), false};
        if (absl::Status s = CheckWritable(file.path); !s.ok()) return s;
        return file;
      }
    }
    if (fields[0] == "0" && fields[1].empty()) v2_path = std::string(fields[2]);
  }
  if (v2_path.empty() || v2_path == "/") {
    return absl::FailedPreconditionError(
        absl::StrCat("process ", pid, " is in no freezer cgroup of its own"));
  }
  FreezerFile file{absl::StrCat(options_.cgroup_root, v2_path, "/cgroup.freeze"), true};
  if (absl::Status s = CheckWritable(file.path); !s.ok()) return s;
  return file;
}

absl::Status CgroupFreezer::Freeze(const FreezerFile& file) {
  return WriteValue(file.path, file.v2 ? "1" : "FROZEN");
}

absl::Status CgroupFreezer::Thaw(const FreezerFile& file) {
  return WriteValue(file.path, file.v2 ? "0" : "THAWED");
}

absl::StatusOr<bool> CgroupFreezer::IsFrozen(const FreezerFile& file) {
  absl::StatusOr<std::string> text = ReadText(file.path);
  if (!text.ok()) return text.status();
  absl::string_view value = absl::StripAsciiWhitespace(*text);
  return file.v2 ? value == "1" : (value == "FROZEN" || value == "FREEZING");
}

}  // namespace fnrunner
