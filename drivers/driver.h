#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "base/ids.h"

namespace fnrunner {

enum class LogStream { kStdout, kStderr };

// Receives one container's output, split into lines. Called from a driver-owned thread, in
// output order for that container; implementations must not block (copy and return).
class LogSink {
 public:
  virtual ~LogSink() = default;
  // `line` excludes the newline. Lines longer than the driver's limit arrive in pieces.
  virtual void OnLine(LogStream stream, absl::string_view line) = 0;
  // Called once, last, when the output streams end: the container exited or was removed.
  virtual void OnClosed() {}
};

// Everything that differs between functions' containers. Isolation that is the same for
// every container (user, capabilities, pids, ulimits, read-only root, networks, the runner's
// own labels) is the driver's configuration, not part of the spec.
struct ContainerSpec {
  std::string name;                           // unique container name; the agent's container key
  std::string image;                          // exactly as configured on the function
  std::vector<std::string> env;               // "KEY=value"
  int64_t memory_mb = 0;                      // hard limit, swap equal to it; 0 = unlimited
  int64_t milli_cpus = 0;                     // CPU quota in mCPU; 0 = unlimited
  int64_t tmpfs_mb = 0;                       // size of the /tmp tmpfs; 0 = engine default
  std::string iofs_host_dir;                  // bound read-write at /tmp/iofs when not empty
  std::map<std::string, std::string> labels;  // extra labels, e.g. the function's ids
  bool disable_network = false;               // NetworkMode "none" whatever the driver's networks
  std::string syslog_url;                     // "" = no logging driver (LogConfig "none")
  std::string syslog_tag;  // syslog tag, fn's "app_id=<app>,fn_id=<fn>"; "" = name
};

struct ExitInfo {
  int64_t exit_code = 0;
  bool oom_killed = false;
};

struct ContainerStats {
  int64_t memory_usage_bytes = 0;
  int64_t memory_limit_bytes = 0;
  absl::Duration cpu_total;  // CPU time consumed since the container started
};

struct ImageInfo {
  std::string id;  // "sha256:..."
  int64_t size_bytes = 0;
  std::vector<std::string> repo_tags;
  bool declares_volumes = false;
};

struct ContainerSummary {
  ContainerId id;
  std::string name;
  std::string state;  // engine state: "created", "running", "paused", ...
  std::map<std::string, std::string> labels;
};

// Credentials for one pull. Empty fields mean "use the driver's configured credentials".
struct RegistryAuth {
  std::string registry_token;  // fn's FN_REGISTRY_TOKEN call extension
};

// Creates and controls the containers that run functions; the only code that talks to a
// container engine. Thread-safe. Every method may block on I/O (bounded by the driver's
// timeouts): never call one from a gRPC reaction or while holding a lock.
//
// Error codes say what the caller should do: NotFound (image or container missing),
// Unavailable (engine down or not answering: retry later), DeadlineExceeded (a bounded
// operation such as a pull ran out of time), InvalidArgument (the engine rejected the spec),
// Internal (an engine reply we cannot make sense of).
class Driver {
 public:
  virtual ~Driver() = default;

  // Creates, but does not start, a container. NotFound if the image is not present locally.
  virtual absl::StatusOr<ContainerId> Create(const ContainerSpec& spec) = 0;
  // Streams stdout and stderr to `sink` until the container exits or is removed. Call before
  // Start() so no output is lost. `sink` must stay valid until Remove(id) has returned:
  // Remove() delivers OnClosed() and makes no call to the sink after it returns.
  virtual absl::Status AttachLogs(const ContainerId& id, LogSink& sink) = 0;
  virtual absl::Status Start(const ContainerId& id) = 0;
  // Blocks until the container exits; DeadlineExceeded after `timeout`.
  virtual absl::StatusOr<ExitInfo> Wait(const ContainerId& id, absl::Duration timeout) = 0;
  // Freezes the container's processes; it keeps its memory. Idempotent.
  virtual absl::Status Pause(const ContainerId& id) = 0;
  // Idempotent.
  virtual absl::Status Unpause(const ContainerId& id) = 0;
  // One sample of resource usage.
  virtual absl::StatusOr<ContainerStats> Stats(const ContainerId& id) = 0;
  // Kills and deletes the container (paused or not) with its anonymous volumes. OK if it is
  // already gone.
  virtual absl::Status Remove(const ContainerId& id) = 0;

  // NotFound if the image is not present locally.
  virtual absl::StatusOr<ImageInfo> InspectImage(absl::string_view image) = 0;
  // Pulls `image`. Concurrent pulls of one image share one engine request. NotFound if the
  // registry does not have it, Unavailable if no registry can be reached, DeadlineExceeded
  // when the driver's pull timeout passes.
  virtual absl::Status PullImage(absl::string_view image, const RegistryAuth& auth) = 0;

  // Containers carrying every label in `labels` (exact key=value matches), running or not.
  virtual absl::StatusOr<std::vector<ContainerSummary>> ListContainers(
      const std::map<std::string, std::string>& labels) = 0;
  // Removes the containers that a previous instance of this runner left behind: those with
  // this runner's classifier label and another instance's label. Never touches anything
  // else. Returns how many were removed.
  virtual absl::StatusOr<int> RemoveOrphans() = 0;
};

}  // namespace fnrunner
