#pragma once

// The runner's Prometheus metrics: fn's names where they apply (see runner/METRICS.md for the
// list, the units and where we differ from fn) and fnrunner_* capacity gauges refreshed from
// Agent::Snapshot() at every scrape.

#include <cstdint>
#include <memory>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "agent/agent.h"
#include "agent/fn_errors.h"
#include "prometheus/collectable.h"
#include "runner/engage_tracker.h"

namespace prometheus {
class Counter;
class Gauge;
class Histogram;
class Registry;
template <typename T>
class Family;
}  // namespace prometheus

namespace fnrunner {

// How a call handed to the agent ended, in fn's counter terms.
enum class CallOutcome { kCompleted, kCanceled, kTimedOut, kServerBusy, kError };

// Classifies an fn error (or success when `error` is null) as fn's agent counts it.
CallOutcome ClassifyOutcome(const FnError* error, bool cancelled);

// Owns nothing but metric handles; the families live in the injected registry, which must
// outlive this object. Thread-safe (prometheus-cpp metrics are).
class RunnerMetrics {
 public:
  explicit RunnerMetrics(prometheus::Registry& registry);
  RunnerMetrics(const RunnerMetrics&) = delete;
  RunnerMetrics& operator=(const RunnerMetrics&) = delete;

  // A call was handed to the agent (fn_calls).
  void CallSubmitted();
  // A submitted call ended: fn_completed / fn_canceled / fn_timeouts / fn_server_busy /
  // fn_errors, and the scheduler/execution histograms when the call started.
  void CallEnded(CallOutcome outcome, absl::Duration scheduler, absl::Duration execution);
  // The runner refused a TryCall before submitting it. 503 (draining) counts as
  // fn_server_busy, anything else in fnrunner_admission_errors_total.
  void CallRefused(const FnError& error);
  // An Engage stream broke the protocol (`kind`: "expected_try", "expected_data").
  void ProtocolError(absl::string_view kind);
  // fn_status_call: one per Status/Status2 answer with a status image; labels are
  // "true"/"false"/"error" as in fn.
  void StatusCall(absl::string_view cached, absl::string_view success, absl::string_view network);
  // StreamLogs dropped `lines` because a collector was too slow.
  void LogLinesDropped(int64_t lines);
  // How the driver freezes idle containers ("cgroup" or "engine"), decided at start-up:
  // fnrunner_freezer{method="..."} 1.
  void SetFreezerMethod(absl::string_view method);

  // Sets every capacity gauge from one consistent snapshot and the stream counters.
  void Refresh(const AgentSnapshot& snapshot, const EngageTracker::Counters& streams);

 private:
  prometheus::Counter& calls_;
  prometheus::Counter& completed_;
  prometheus::Counter& canceled_;
  prometheus::Counter& timeouts_;
  prometheus::Counter& errors_;
  prometheus::Counter& server_busy_;
  prometheus::Family<prometheus::Counter>& admission_errors_;
  prometheus::Family<prometheus::Counter>& protocol_errors_;
  prometheus::Family<prometheus::Counter>& status_calls_;
  prometheus::Counter& log_lines_dropped_;
  prometheus::Histogram& scheduler_seconds_;
  prometheus::Histogram& execution_seconds_;
  // fn's gauges.
  prometheus::Gauge& queued_;
  prometheus::Gauge& running_;
  prometheus::Gauge& util_mem_used_;
  prometheus::Gauge& util_mem_avail_;
  prometheus::Gauge& util_cpu_used_;
  prometheus::Gauge& util_cpu_avail_;
  prometheus::Gauge& container_start_;
  prometheus::Gauge& container_idle_;
  prometheus::Gauge& container_paused_;
  prometheus::Gauge& container_busy_;
  // fnrunner_* gauges.
  prometheus::Family<prometheus::Gauge>& memory_bytes_;
  prometheus::Family<prometheus::Gauge>& cpu_cores_;
  prometheus::Family<prometheus::Gauge>& containers_;
  prometheus::Family<prometheus::Gauge>& freezer_;
  prometheus::Gauge& calls_waiting_;
  prometheus::Gauge& calls_in_flight_;
  prometheus::Gauge& streams_active_;
  prometheus::Gauge& draining_;
};

// What the /metrics endpoint serves: refreshes the gauges from the agent and the tracker, then
// collects `registry`. Register it with the Exposer instead of the registry itself. The
// references must outlive it.
class RefreshingCollectable final : public prometheus::Collectable {
 public:
  RefreshingCollectable(prometheus::Registry& registry, RunnerMetrics& metrics, Agent& agent,
                        EngageTracker& tracker)
      : registry_(registry), metrics_(metrics), agent_(agent), tracker_(tracker) {}

  std::vector<prometheus::MetricFamily> Collect() const override;

 private:
  prometheus::Registry& registry_;
  RunnerMetrics& metrics_;
  Agent& agent_;
  EngageTracker& tracker_;
};

}  // namespace fnrunner
