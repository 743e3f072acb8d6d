#include "drivers/docker/container_freezer.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "base/status_macros.h"
#include "glog/logging.h"

namespace fnrunner {

using FreezerMode = DockerDriverOptions::FreezerMode;

ContainerFreezer::ContainerFreezer(FreezerMode mode, CgroupFreezer cgroup, Engine engine)
    : mode_(mode), cgroup_(std::move(cgroup)), engine_(std::move(engine)) {}

absl::Status ContainerFreezer::Probe() {
  if (mode_ == FreezerMode::kEngine) {
    fallback_reason_ = "FN_DOCKER_FREEZER=engine";
    return absl::OkStatus();
  }
  absl::Status probe = cgroup_.Probe();
  if (probe.ok()) {
    use_cgroup_ = true;
    return absl::OkStatus();
  }
  if (mode_ == FreezerMode::kCgroup) {
    return absl::FailedPreconditionError(
        absl::StrCat("FN_DOCKER_FREEZER=cgroup: ", probe.message()));
  }
  fallback_reason_ = std::string(probe.message());
  return absl::OkStatus();
}

absl::StatusOr<std::optional<FreezerFile>> ContainerFreezer::FileFor(const ContainerId& id) {
  {
    absl::MutexLock lock(&mu_);
    if (auto it = containers_.find(id); it != containers_.end()) return it->second.file;
  }
  ASSIGN_OR_RETURN(int64_t pid, engine_.init_pid(id));
  std::optional<FreezerFile> file;
  if (pid > 0) {
    absl::StatusOr<FreezerFile> located = cgroup_.Locate(pid);
    if (located.ok()) {
      file = *std::move(located);
    } else {
      // The container runs where we cannot see or write its cgroup: the engine freezes it.
      LOG(WARNING) << "container " << id.value << ": no usable cgroup freezer ("
                   << located.status().message() << "); pausing it through the engine";
    }
  } else {
    // Not running (created or exited): the engine's answer says so; nothing to remember.
    return std::optional<FreezerFile>();
  }
  absl::MutexLock lock(&mu_);
  return containers_.try_emplace(id, Entry{file, false}).first->second.file;
}

absl::Status ContainerFreezer::Freeze(const ContainerId& id) {
  if (!use_cgroup_) return engine_.pause_or_unpause(id, true);
  ASSIGN_OR_RETURN(std::optional<FreezerFile> file, FileFor(id));
  if (!file.has_value()) return engine_.pause_or_unpause(id, true);
  if (absl::Status s = CgroupFreezer::Freeze(*file); !s.ok()) {
    // The cgroup is gone with the container, or the write was refused.
    return absl::Status(s.code(), absl::StrCat("freezing container ", id.value, ": ", s.message()));
  }
  absl::MutexLock lock(&mu_);
  if (auto it = containers_.find(id); it != containers_.end()) it->second.cgroup_frozen = true;
  return absl::OkStatus();
}

absl::Status ContainerFreezer::Thaw(const ContainerId& id) {
  std::optional<FreezerFile> file;
  {
    absl::MutexLock lock(&mu_);
    auto it = containers_.find(id);
    if (it != containers_.end() && it->second.file.has_value()) file = it->second.file;
  }
  if (!file.has_value()) return engine_.pause_or_unpause(id, false);
  if (absl::Status s = CgroupFreezer::Thaw(*file); !s.ok()) {
    return absl::Status(s.code(), absl::StrCat("thawing container ", id.value, ": ", s.message()));
  }
  absl::MutexLock lock(&mu_);
  if (auto it = containers_.find(id); it != containers_.end()) it->second.cgroup_frozen = false;
  return absl::OkStatus();
}

void ContainerFreezer::ForgetForRemoval(const ContainerId& id) {
  std::optional<FreezerFile> frozen;
  {
    absl::MutexLock lock(&mu_);
    auto it = containers_.find(id);
    if (it == containers_.end()) return;
    if (it->second.cgroup_frozen) frozen = it->second.file;
    containers_.erase(it);
  }
  // A cgroup v1 task cannot act on a SIGKILL while frozen: thaw, so the engine's kill works
  // at once and never sees a container in a state it did not make.
  if (frozen.has_value()) CgroupFreezer::Thaw(*frozen).IgnoreError();  // Remove reports.
}

void ContainerFreezer::ThawLeftover(const ContainerId& id) {
  if (!use_cgroup_) return;
  absl::StatusOr<int64_t> pid = engine_.init_pid(id);
  if (!pid.ok() || *pid <= 0) return;
  absl::StatusOr<FreezerFile> file = cgroup_.Locate(*pid);
  if (!file.ok()) return;
  absl::StatusOr<bool> frozen = CgroupFreezer::IsFrozen(*file);
  if (frozen.ok() && *frozen) {
    LOG(INFO) << "thawing leftover container " << id.value << " before removing it";
    CgroupFreezer::Thaw(*file).IgnoreError();  // Best effort: the removal reports failures.
  }
}

}  // namespace fnrunner
