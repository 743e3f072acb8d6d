#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "drivers/driver.h"

namespace fnrunner {

// An in-memory Driver for the agent's tests. Containers live in a map with engine-like states
// ("created", "running", "paused", "exited"); every spec given to Create() is recorded. Knobs
// make any method fail (once or always), stall a method until the test releases it, emit log
// lines to an attached sink and simulate a container exit. Thread-safe; sink calls and
// blocking waits happen outside the lock.
class FakeDriver final : public Driver {
 public:
  enum class Method {
    kCreate,
    kAttachLogs,
    kStart,
    kWait,
    kPause,
    kUnpause,
    kStats,
    kRemove,
    kInspectImage,
    kPullImage,
    kListContainers,
    kRemoveOrphans,
  };

  struct Container {
    ContainerId id;
    ContainerSpec spec;
    std::string state;  // "created", "running", "paused", "exited"
    ExitInfo exit;
    ContainerStats stats;
    bool logs_attached = false;
  };

  FakeDriver() = default;
  // Delivers OnClosed() to sinks still attached.
  ~FakeDriver() override;

  // --- Knobs -----------------------------------------------------------------------------
  // The next call of `method` fails with `status` (without side effects).
  void FailOnce(Method method, absl::Status status) ABSL_LOCKS_EXCLUDED(mu_);
  // Every call of `method` fails with `status` until ClearFailures(method).
  void FailAlways(Method method, absl::Status status) ABSL_LOCKS_EXCLUDED(mu_);
  void ClearFailures(Method method) ABSL_LOCKS_EXCLUDED(mu_);
  // Calls of `method` block (before doing anything) until `release` is notified; `release`
  // must outlive them. Stall(method, nullptr) stops stalling new calls.
  void Stall(Method method, absl::Notification* release) ABSL_LOCKS_EXCLUDED(mu_);
  // Waits until `count` calls of `method` are blocked in a stall; false after `timeout`.
  bool AwaitStalled(Method method, int count, absl::Duration timeout) ABSL_LOCKS_EXCLUDED(mu_);
  // Images that InspectImage finds. PullImage adds those registered as pullable.
  void AddImage(const std::string& image, ImageInfo info = {}) ABSL_LOCKS_EXCLUDED(mu_);
  void SetPullable(const std::string& image, ImageInfo info = {}) ABSL_LOCKS_EXCLUDED(mu_);
  // Containers of "another runner instance": listed, and removed by RemoveOrphans().
  void AddOrphan(ContainerSummary orphan) ABSL_LOCKS_EXCLUDED(mu_);
  void SetStats(const ContainerId& id, ContainerStats stats) ABSL_LOCKS_EXCLUDED(mu_);

  // --- Driving containers ------------------------------------------------------------------
  // Delivers one line to `id`'s sink on the calling thread. FailedPrecondition without one.
  absl::Status EmitLog(const ContainerId& id, LogStream stream, absl::string_view line)
      ABSL_LOCKS_EXCLUDED(mu_);
  // The container exits: state "exited", Wait() returns `exit`, the sink gets OnClosed().
  absl::Status SimulateExit(const ContainerId& id, ExitInfo exit = {}) ABSL_LOCKS_EXCLUDED(mu_);

  // --- Inspection -------------------------------------------------------------------------
  std::vector<ContainerSpec> created_specs() ABSL_LOCKS_EXCLUDED(mu_);
  std::optional<Container> container(const ContainerId& id) ABSL_LOCKS_EXCLUDED(mu_);
  std::vector<ContainerId> live_containers() ABSL_LOCKS_EXCLUDED(mu_);
  int calls(Method method) ABSL_LOCKS_EXCLUDED(mu_);
  std::vector<std::string> pulled_images() ABSL_LOCKS_EXCLUDED(mu_);
  // The registry token each PullImage() call was given, in call order.
  std::vector<std::string> pull_tokens() ABSL_LOCKS_EXCLUDED(mu_);

  // --- Driver -----------------------------------------------------------------------------
  absl::StatusOr<ContainerId> Create(const ContainerSpec& spec) override;
  absl::Status AttachLogs(const ContainerId& id, LogSink& sink) override;
  absl::Status Start(const ContainerId& id) override;
  absl::StatusOr<ExitInfo> Wait(const ContainerId& id, absl::Duration timeout) override;
  absl::Status Pause(const ContainerId& id) override;
  absl::Status Unpause(const ContainerId& id) override;
  absl::StatusOr<ContainerStats> Stats(const ContainerId& id) override;
  absl::Status Remove(const ContainerId& id) override;
  absl::StatusOr<ImageInfo> InspectImage(absl::string_view image) override;
  absl::Status PullImage(absl::string_view image, const RegistryAuth& auth) override;
  absl::StatusOr<std::vector<ContainerSummary>> ListContainers(
      const std::map<std::string, std::string>& labels) override;
  absl::StatusOr<int> RemoveOrphans() override;

 private:
  struct Knobs {
    std::optional<absl::Status> fail_once;
    std::optional<absl::Status> fail_always;
    absl::Notification* stall = nullptr;
    int stalled = 0;
    int calls = 0;
  };
  struct Entry {
    Container container;
    LogSink* sink = nullptr;
    bool closed = false;  // OnClosed() delivered or due
    int emitting = 0;     // EmitLog() calls running outside the lock
  };

  // Counts the call, waits out a stall, then returns the injected failure, if any.
  absl::Status Enter(Method method) ABSL_LOCKS_EXCLUDED(mu_);
  // Detaches `entry`'s sink if OnClosed() is due; the caller delivers it after unlocking.
  LogSink* TakeSinkToCloseLocked(Entry& entry) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  absl::Mutex mu_;
  absl::flat_hash_map<Method, Knobs> knobs_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<ContainerId, Entry> containers_ ABSL_GUARDED_BY(mu_);
  std::vector<ContainerSpec> created_specs_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, ImageInfo> images_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, ImageInfo> pullable_ ABSL_GUARDED_BY(mu_);
  std::vector<std::string> pulled_ ABSL_GUARDED_BY(mu_);
  std::vector<std::string> pull_tokens_ ABSL_GUARDED_BY(mu_);
  std::vector<ContainerSummary> orphans_ ABSL_GUARDED_BY(mu_);
  int next_id_ ABSL_GUARDED_BY(mu_) = 1;
};

}  // namespace fnrunner
