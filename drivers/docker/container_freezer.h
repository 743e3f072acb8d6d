#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "base/ids.h"
#include "drivers/docker/cgroup_freezer.h"
#include "drivers/docker/docker_options.h"

namespace fnrunner {

// How DockerDriver freezes idle containers: through the cgroup freezer (a file write, about a
// millisecond) where the probe at start found it usable and the container's cgroup can be
// found, else through the engine's pause and unpause (one engine request each, 10-140 ms
// under load). Remembers which containers it froze through the cgroup: the engine believes
// those are running, so they are thawed the same way before anything else touches them
// (Unpause, Remove) and Docker's view stays true. Thread-safe; the engine functions and the
// file writes run without the lock held.
class ContainerFreezer {
 public:
  // The engine side, provided by DockerDriver.
  struct Engine {
    // POST /containers/{id}/pause or /unpause, idempotent.
    std::function<absl::Status(const ContainerId&, bool pause)> pause_or_unpause;
    // State.Pid of the container (0 when it is not running); NotFound when it is gone.
    std::function<absl::StatusOr<int64_t>(const ContainerId&)> init_pid;
  };

  ContainerFreezer(DockerDriverOptions::FreezerMode mode, CgroupFreezer cgroup, Engine engine);
  ContainerFreezer(const ContainerFreezer&) = delete;
  ContainerFreezer& operator=(const ContainerFreezer&) = delete;

  // Decides the method once, at start: kCgroup needs the probe to pass (FailedPrecondition
  // otherwise, which stops start-up); kAuto falls back to the engine and says why in the log.
  absl::Status Probe();
  // "cgroup" or "engine": the method chosen by Probe() (engine before it).
  const char* method() const { return use_cgroup_ ? "cgroup" : "engine"; }
  // Why the engine is used under kAuto ("" when the cgroup is).
  const std::string& fallback_reason() const { return fallback_reason_; }

  // Driver::Pause and Unpause. NotFound when the container is gone; FailedPrecondition when
  // it is not running.
  absl::Status Freeze(const ContainerId& id) ABSL_LOCKS_EXCLUDED(mu_);
  absl::Status Thaw(const ContainerId& id) ABSL_LOCKS_EXCLUDED(mu_);
  // Before a removal: thaws the container if it was frozen through the cgroup (best effort)
  // and forgets it.
  void ForgetForRemoval(const ContainerId& id) ABSL_LOCKS_EXCLUDED(mu_);
  // Before removing another instance's leftover, which may have been frozen through the
  // cgroup by a runner that died: thaws it if its cgroup says frozen. Best effort.
  void ThawLeftover(const ContainerId& id);

 private:
  // A container's freezer file (nullopt: freeze it through the engine), looked up once.
  absl::StatusOr<std::optional<FreezerFile>> FileFor(const ContainerId& id)
      ABSL_LOCKS_EXCLUDED(mu_);

  const DockerDriverOptions::FreezerMode mode_;
  const CgroupFreezer cgroup_;
  const Engine engine_;
  bool use_cgroup_ = false;  // set by Probe(), before the driver is shared
  std::string fallback_reason_;

  struct Entry {
    std::optional<FreezerFile> file;  // nullopt: this container is frozen by the engine
    bool cgroup_frozen = false;       // frozen through `file` and not thawed since
  };
  absl::Mutex mu_;
  absl::flat_hash_map<ContainerId, Entry> containers_ ABSL_GUARDED_BY(mu_);
};

}  // namespace fnrunner
