#pragma once

#include <vector>

#include "absl/status/statusor.h"
#include "drivers/driver.h"
#include "nlohmann/json.hpp"

namespace fnrunner {

// Readers of engine replies. Replies are input: every field is checked, and a reply that
// lacks what we need is Internal ("an engine reply we cannot make sense of").

// GET /images/{name}/json.
absl::StatusOr<ImageInfo> ParseImageInspect(const nlohmann::json& reply);
// GET /images/json: one ImageInfo per image (declares_volumes is not known there).
absl::StatusOr<std::vector<ImageInfo>> ParseImageList(const nlohmann::json& reply);
// GET /containers/json.
absl::StatusOr<std::vector<ContainerSummary>> ParseContainerList(const nlohmann::json& reply);
// GET /containers/{id}/stats?stream=false. Memory usage excludes the inactive page cache
// (what `docker stats` shows), from cgroup v1 (total_inactive_file) or v2 (inactive_file)
// statistics; CPU total is cpu_stats.cpu_usage.total_usage (nanoseconds on both).
absl::StatusOr<ContainerStats> ParseStats(const nlohmann::json& reply);
// POST /containers/{id}/wait: the exit code (oom_killed is filled from an inspect).
absl::StatusOr<ExitInfo> ParseWait(const nlohmann::json& reply);
// GET /containers/{id}/json: State.Status, Paused, OOMKilled and Pid.
struct ContainerState {
  std::string status;  // "created", "running", "paused", "exited", ...
  bool paused = false;
  bool oom_killed = false;
  int64_t pid = 0;  // the container's init process as the host sees it; 0 when not running
};
absl::StatusOr<ContainerState> ParseContainerState(const nlohmann::json& reply);

}  // namespace fnrunner
