#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace fnrunner {

// Configuration of DockerDriver. Mirrors fn's FN_* environment variables (spec §8); the
// isolation settings apply to every container the driver creates.
struct DockerDriverOptions {
  // Engine endpoint (DOCKER_HOST=unix://<path>; other schemes are rejected).
  std::string socket_path = "/var/run/docker.sock";

  // Isolation (spec §5.1).
  int64_t max_pids = 50;  // FN_MAX_PIDS; 0 = unlimited
  // Ulimits, soft = hard. nullopt skips the ulimit (fn: a value above the int64 range).
  std::optional<int64_t> max_open_files = 350;        // FN_MAX_OPEN_FILES (nofile)
  std::optional<int64_t> max_locked_memory = 65536;   // FN_MAX_LOCKED_MEMORY (memlock)
  std::optional<int64_t> max_pending_signals = 5000;  // FN_MAX_PENDING_SIGNALS (sigpending)
  std::optional<int64_t> max_message_queue = 819200;  // FN_MAX_MESSAGE_QUEUE (msgqueue)
  int64_t max_tmpfs_inodes = 0;                       // FN_MAX_TMPFS_INODES; 0 = tmpfs default
  int64_t max_fs_size_mb = 0;                    // FN_MAX_FS_SIZE_MB (StorageOpt size); 0 = off
  bool disable_readonly_rootfs = false;          // FN_DISABLE_READONLY_ROOTFS
  bool disable_unprivileged_containers = false;  // FN_DISABLE_UNPRIVILEGED_CONTAINERS
  // FN_DOCKER_NETWORKS (whitespace-separated). Empty: containers get no network at all
  // (NetworkMode "none"). Otherwise each container joins the least-used of these; "bridge"
  // is Docker's default bridge.
  std::vector<std::string> networks;

  // Labels. FN_CONTAINER_LABEL_TAG: value of fn-agent-classifier; empty disables the
  // runner's labels and RemoveOrphans(). instance_id: value of fn-agent-instance; empty
  // means a random id per driver (per process).
  std::string container_label_tag;
  std::string instance_id;

  // Registry credentials: FN_DOCKER_AUTH (JSON, {"auths": {...}} or the legacy flat map),
  // else the Docker config file ($DOCKER_CONFIG/config.json or ~/.docker/config.json).
  std::string docker_auth_json;
  std::string docker_config_path;

  // Time limits. Every engine request has one, so a stalled daemon never blocks a caller
  // forever.
  absl::Duration connect_timeout = absl::Seconds(2);
  absl::Duration request_timeout = absl::Seconds(30);  // FN_DOCKER_API_TIMEOUT_MSECS: create,
                                                       // start, remove, inspect, list, stats
  absl::Duration pause_timeout = absl::Seconds(5);     // pause and unpause (fn's intended 5 s)
  absl::Duration pull_timeout = absl::Minutes(10);     // FN_HOT_PULL_TIMEOUT_MSECS

  // How idle containers are frozen (FN_DOCKER_FREEZER): kAuto writes the cgroup freezer when
  // the start-up probe finds it writable and uses the engine's pause otherwise; kCgroup
  // requires the cgroup (start-up fails without it); kEngine always uses the engine's pause.
  enum class FreezerMode { kAuto, kCgroup, kEngine };
  FreezerMode freezer = FreezerMode::kAuto;
  // Where the cgroup freezer looks: not fn variables, for tests (and unusual mounts).
  std::string cgroup_root = "/sys/fs/cgroup";
  std::string proc_root = "/proc";

  // FN_DOCKER_LOAD_FILE: an image tarball (`docker save` output) loaded at start-up, for
  // machines without a registry; start-up fails if it cannot be loaded. "" = none.
  std::string load_file;

  // Logs: lines longer than this arrive in pieces.
  size_t max_log_line_bytes = 16 * 1024;

  // Image cleaner (spec §6.5): FN_IMAGE_CLEAN_MAX_SIZE bytes high-water mark, 0 = off;
  // FN_IMAGE_CLEAN_EXEMPT_TAGS (whitespace-separated "repo:tag" never removed).
  int64_t image_clean_max_size_bytes = 0;
  std::vector<std::string> image_clean_exempt_tags;
  // Only images with this label ("key=value") are cleaned; empty = all. Not an fn variable:
  // for tests, and engines shared with other software.
  std::string image_clean_only_label;
};

// Returns the value of an environment variable, nullopt when it is not set.
using EnvLookup = std::function<std::optional<std::string>(absl::string_view)>;

// Reads DockerDriverOptions from the environment (spec §8 parsing rules: values are trimmed,
// empty means default, the four ulimit variables reject a present but empty value and skip
// the ulimit for a value above the int64 range). InvalidArgument naming the variable on a bad
// value.
absl::StatusOr<DockerDriverOptions> DockerDriverOptionsFromEnv(const EnvLookup& lookup);

// An EnvLookup over the process environment (getenv).
EnvLookup ProcessEnv();

// One environment variable DockerDriverOptionsFromEnv reads, for fn-runner --help.
struct EnvSettingHelp {
  const char* env;
  const char* default_text;
  const char* help;
};
// Every variable DockerDriverOptionsFromEnv reads except FN_HOT_PULL_TIMEOUT_MSECS (a runner
// flag too, listed with the flags), in a stable order.
const std::vector<EnvSettingHelp>& DockerDriverEnvHelp();

}  // namespace fnrunner
