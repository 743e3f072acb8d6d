#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "agent/agent.h"
#include "agent/hot_container.h"
#include "agent/task_runner.h"
#include "base/clock.h"

namespace fnrunner {

class Driver;
class FunctionIoFactory;
class LogHub;
class ResourceTracker;

struct HotAgentOptions {
  absl::Duration freeze_idle = absl::Milliseconds(50);  // FN_FREEZE_IDLE_MSECS; <0: never
  absl::Duration init_timeout = absl::Seconds(5);       // FN_HOT_START_TIMEOUT_MSECS
  // FN_ENABLE_NB_RESOURCE_TRACKER: a call that cannot get room now is refused with 503 at
  // once instead of waiting for room.
  bool non_blocking = false;
  // How often the scheduler thread runs Tick(). Zero: no thread; the owner calls Tick().
  absl::Duration tick_interval = absl::Milliseconds(10);
  // When a waiting call starts a new container (FN_LAUNCH_POLICY).
  enum class LaunchPolicy {
    // fn's: whenever waiting calls outnumber containers already starting.
    kFn,
    // Only for the waiting calls that the slot's busy containers are not expected to serve
    // before a new container would be ready (from running averages of the slot's call
    // durations and of launch durations); a call that has waited as long as a launch takes
    // starts one anyway. Without averages yet, as kFn.
    kEstimate,
  };
  LaunchPolicy launch_policy = LaunchPolicy::kEstimate;
  // Frozen spares (FN_SPARES, FN_SPARE_MEMORY_BYTES, FN_SPARE_WINDOW_MSECS): a function whose
  // calls had to start a container in the last `spare_window` keeps up to `spares_per_slot`
  // pre-started containers of its own, frozen once idle, so the next scale-up thaws one
  // instead of waiting for a start. All spares together reserve at most
  // `spare_memory_bytes`; they are evicted before any other idle container and retire after
  // the call's idle timeout like any idle container. 0 spares: off.
  int spares_per_slot = 0;
  uint64_t spare_memory_bytes = 0;
  absl::Duration spare_window = absl::Seconds(60);
  // Labels put on every container (besides the driver's own), e.g. for test cleanup.
  std::map<std::string, std::string> container_labels;
};

// fn's hot-slot agent. Calls with the same slot key share warm containers: an idle one is
// reused (the most recently idle first), a new one is launched only when waiting calls
// outnumber containers already starting (and, by default, those the slot's busy containers
// will serve before a launch could finish: options.launch_policy) and memory/CPU allow it
// (evicting idle containers of other functions if that covers the whole shortfall). Idle containers are paused after
// `freeze_idle` and removed after the call's idle_timeout.
//
// Design: one mutex guards all scheduling state; every blocking step (Docker, waiting for a
// socket, the exchange with the function) runs on TaskRunner threads with the lock released.
// Time-based work (freeze, retire, call and init timeouts) is done only by Tick(), so tests
// drive it with a FakeClock. Thread-safe.
class HotAgent final : public Agent {
 public:
  // All references must outlive the agent.
  HotAgent(HotAgentOptions options, Driver& driver, FunctionIoFactory& io_factory,
           ResourceTracker& resources, LogHub& logs, Clock& clock);
  HotAgent(const HotAgent&) = delete;
  HotAgent& operator=(const HotAgent&) = delete;
  // Shuts down (no grace) if Shutdown() was not called.
  ~HotAgent() override;

  std::unique_ptr<CallHandle> Submit(Call call, CallEvents& events) override
      ABSL_LOCKS_EXCLUDED(mu_);
  AgentSnapshot Snapshot() override ABSL_LOCKS_EXCLUDED(mu_);
  void Shutdown(absl::Duration grace) override ABSL_LOCKS_EXCLUDED(mu_);

  // Freezes, retires and times out as of clock.Now(). Never blocks on I/O.
  void Tick() ABSL_LOCKS_EXCLUDED(mu_);
  // Blocks until no agent task is queued or running (tests: "everything settled").
  void WaitForTasks() { tasks_.WaitIdle(); }
  bool WaitForTasksFor(absl::Duration timeout) { return tasks_.WaitIdleFor(timeout); }

 private:
  class Handle;

  // Scheduling (hot_agent.cc), all under mu_.
  void EnqueueLocked(std::shared_ptr<CallState> call) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void MaybeLaunchLocked(SlotQueue& slot) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Starts the slot's missing spares while its spare window is open and the budget allows.
  void MaybeStartSparesLocked(SlotQueue& slot) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // A spare leaves the spares' accounting (first call, retirement). No-op for others.
  void ForgetSpareLocked(HotContainer& container) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Creates the bookkeeping of a new container and posts its launch.
  HotContainer& LaunchLocked(SlotQueue& slot, const Call& template_call,
                             std::optional<ResourceReservation> reservation, bool spare)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // How many containers the slot's waiting calls need in all (starting ones included).
  size_t ContainersWantedLocked(SlotQueue& slot) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void RecheckAllLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  bool EvictForLocked(const SlotQueue& slot, const Resources& shortfall)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void AssignLocked(HotContainer& container, std::shared_ptr<CallState> call)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void OfferLocked(HotContainer& container) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void RetireLocked(HotContainer& container) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void FailLocked(std::shared_ptr<CallState> call, FnError error)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void DropSlotIfEmptyLocked(const std::string& key) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void CancelCall(const std::shared_ptr<CallState>& call) ABSL_LOCKS_EXCLUDED(mu_);

  // Blocking tasks (hot_agent_tasks.cc), run on tasks_ without mu_.
  void LaunchTask(HotContainer* container, Call template_call) ABSL_LOCKS_EXCLUDED(mu_);
  void ExecTask(HotContainer* container, std::shared_ptr<CallState> call) ABSL_LOCKS_EXCLUDED(mu_);
  void PauseTask(HotContainer* container) ABSL_LOCKS_EXCLUDED(mu_);
  void RemoveTask(HotContainer* container) ABSL_LOCKS_EXCLUDED(mu_);
  void ContainerExited(HotContainer* container) ABSL_LOCKS_EXCLUDED(mu_);
  void SchedulerLoop();

  bool NoRunningCallsLocked() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return running_calls_ == 0;
  }
  bool NoContainersLocked() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return containers_.empty(); }

  const HotAgentOptions options_;
  Driver& driver_;
  FunctionIoFactory& io_factory_;
  ResourceTracker& resources_;
  LogHub& logs_;
  Clock& clock_;

  mutable absl::Mutex mu_;
  absl::flat_hash_map<std::string, std::unique_ptr<SlotQueue>> slots_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, std::unique_ptr<HotContainer>> containers_ ABSL_GUARDED_BY(mu_);
  int64_t running_calls_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t waiting_calls_ ABSL_GUARDED_BY(mu_) = 0;
  // Running averages of how long a successful launch takes (create, start, socket) and of
  // call durations over every slot (the guess for a slot with no call finished yet).
  absl::Duration launch_estimate_ ABSL_GUARDED_BY(mu_);
  absl::Duration call_estimate_ ABSL_GUARDED_BY(mu_);
  // Memory reserved by spares, bounded by options_.spare_memory_bytes.
  uint64_t spare_memory_bytes_ ABSL_GUARDED_BY(mu_) = 0;
  // Reservations of containers being removed: room that will be free soon.
  Resources releasing_ ABSL_GUARDED_BY(mu_);
  int64_t evictions_ ABSL_GUARDED_BY(mu_) = 0;
  bool draining_ ABSL_GUARDED_BY(mu_) = false;

  absl::Notification stop_scheduler_;
  std::thread scheduler_;  // Runs SchedulerLoop() when options_.tick_interval > 0.
  // Declared last: destroyed first, so its threads stop before the state they use goes away.
  TaskRunner tasks_;
};

}  // namespace fnrunner
