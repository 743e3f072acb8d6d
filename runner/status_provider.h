#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "agent/agent.h"
#include "base/clock.h"
#include "proto/runner.pb.h"

namespace fnrunner {

class EngageTracker;
class RunnerMetrics;

struct StatusOptions {
  std::string image;         // FN_STATUS_IMAGE; "" = counters only, as fn's default runner
  std::string barrier_path;  // FN_STATUS_BARRIER_FILE; set and absent => network disabled
  // fn's constants (runner-protocol.md §6.2).
  absl::Duration cache_ttl = absl::Milliseconds(1500);  // idle timeout + 500 ms
  absl::Duration run_bound = absl::Seconds(60);         // whole status call, any caller
  absl::Duration call_timeout = absl::Seconds(5);
  absl::Duration call_idle_timeout = absl::Seconds(1);
};

// fn's capacity summary for RunnerStatus.customStatus, from one snapshot. Keys (values are
// decimal integers unless noted): fnrunner.mem.total / .reserved / .evictable (bytes),
// fnrunner.cpu.total / .reserved / .evictable (mCPU), fnrunner.calls.running / .waiting,
// fnrunner.containers.starting / .idle / .paused / .busy, fnrunner.draining ("true"/"false").
std::map<std::string, std::string> CapacitySummary(const AgentSnapshot& snapshot);

// Answers Status and Status2 (runner-protocol.md §6). Without a status image: the live
// counters at once. With one: a real call of the image through the agent, at most one at a
// time (single-flight: concurrent requests wait for the call in progress), its result shared
// by everyone for cache_ttl after it finished, `cached` false only for its first reader. The
// counters and customStatus are always live. The status call runs on a worker thread this
// object owns, independent of any caller's deadline. Thread-safe.
class StatusProvider {
 public:
  using Done = std::function<void(RunnerStatus)>;

  // The references must outlive this object.
  StatusProvider(StatusOptions options, Agent& agent, EngageTracker& tracker,
                 RunnerMetrics& metrics, Clock& clock);
  StatusProvider(const StatusProvider&) = delete;
  StatusProvider& operator=(const StatusProvider&) = delete;
  // Cancels a status call in progress, joins the worker and answers anyone still waiting
  // (failed, "runner shutting down"). Must run before the agent is destroyed.
  ~StatusProvider();

  // Calls `done` exactly once with the status: on this thread when no status call is needed,
  // else on the worker thread when it finishes. Never blocks. `request_json` is the status
  // call's body ("{}" for Status, the Struct as JSON for Status2); ignored when a cached
  // result is served, as in fn.
  void Get(std::string request_json, Done done) ABSL_LOCKS_EXCLUDED(mu_);

 private:
  struct Waiter {
    Done done;
  };

  void WorkerLoop() ABSL_LOCKS_EXCLUDED(mu_);
  // Runs one status call, blocking the worker. Fills everything but the live fields.
  RunnerStatus RunStatusCall(const std::string& body) ABSL_LOCKS_EXCLUDED(mu_);
  // Adds the live fields (counters, customStatus) and records fn_status_call.
  RunnerStatus Live(RunnerStatus status, bool record_metric);

  const StatusOptions options_;
  Agent& agent_;
  EngageTracker& tracker_;
  RunnerMetrics& metrics_;
  Clock& clock_;

  absl::Mutex mu_;
  std::optional<RunnerStatus> cache_ ABSL_GUARDED_BY(mu_);
  absl::Time expiry_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  bool cache_read_ ABSL_GUARDED_BY(mu_) = false;  // someone got `cached: false` already
  std::vector<Waiter> waiters_ ABSL_GUARDED_BY(mu_);
  std::optional<std::string> requested_body_ ABSL_GUARDED_BY(mu_);  // a run is wanted
  bool running_ ABSL_GUARDED_BY(mu_) = false;
  CallHandle* running_handle_ ABSL_GUARDED_BY(mu_) = nullptr;  // to cancel on shutdown
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  std::thread worker_;  // Runs WorkerLoop() when a status image is configured.
};

}  // namespace fnrunner
