#include "runner/metrics.h"

#include <algorithm>
#include <string>

#include "absl/strings/str_cat.h"
#include "prometheus/counter.h"
#include "prometheus/family.h"
#include "prometheus/gauge.h"
#include "prometheus/histogram.h"
#include "prometheus/registry.h"

namespace fnrunner {
namespace {

prometheus::Counter& Counter(prometheus::Registry& registry, const std::string& name,
                             const std::string& help) {
  return prometheus::BuildCounter().Name(name).Help(help).Register(registry).Add({});
}

prometheus::Gauge& Gauge(prometheus::Registry& registry, const std::string& name,
                         const std::string& help) {
  return prometheus::BuildGauge().Name(name).Help(help).Register(registry).Add({});
}

prometheus::Histogram& SecondsHistogram(prometheus::Registry& registry, const std::string& name,
                                        const std::string& help) {
  // fn's latency buckets (1 ms .. 120 s), in seconds.
  return prometheus::BuildHistogram().Name(name).Help(help).Register(registry).Add(
      {},
      prometheus::Histogram::BucketBoundaries{0.001, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 10, 60, 120});
}

double Clamped(int64_t v) { return static_cast<double>(std::max<int64_t>(0, v)); }

}  // namespace

CallOutcome ClassifyOutcome(const FnError* error, bool cancelled) {
  if (cancelled) return CallOutcome::kCanceled;
  if (error == nullptr) return CallOutcome::kCompleted;
  if (error->code == 503) return CallOutcome::kServerBusy;
  if (error->code == 504 && error->message == "Timed out") return CallOutcome::kTimedOut;
  return CallOutcome::kError;
}

RunnerMetrics::RunnerMetrics(prometheus::Registry& registry)
    : calls_(Counter(registry, "fn_calls", "Calls handed to the agent (status calls included)")),
      completed_(Counter(registry, "fn_completed", "Calls that succeeded")),
      canceled_(Counter(registry, "fn_canceled", "Calls cancelled by the client")),
      timeouts_(Counter(registry, "fn_timeouts", "Calls that ran past their timeout (504)")),
      errors_(Counter(registry, "fn_errors", "Calls that failed otherwise")),
      server_busy_(Counter(registry, "fn_server_busy",
                           "Calls refused with 503 (NACK: full, draining or shutting down)")),
      admission_errors_(prometheus::BuildCounter()
                            .Name("fnrunner_admission_errors_total")
                            .Help("TryCalls refused before reaching the agent, by fn errorCode")
                            .Register(registry)),
      protocol_errors_(prometheus::BuildCounter()
                           .Name("fnrunner_protocol_errors_total")
                           .Help("Engage streams ended for breaking the protocol")
                           .Register(registry)),
      status_calls_(prometheus::BuildCounter()
                        .Name("fn_status_call")
                        .Help("Status/Status2 answers with a status image")
                        .Register(registry)),
      log_lines_dropped_(Counter(registry, "fnrunner_log_lines_dropped_total",
                                 "Function log lines StreamLogs dropped for slow collectors")),
      scheduler_seconds_(SecondsHistogram(registry, "fnrunner_call_scheduler_seconds",
                                          "Time from admission to execution start")),
      execution_seconds_(SecondsHistogram(registry, "fnrunner_call_execution_seconds",
                                          "Time executing in the function")),
      queued_(Gauge(registry, "fn_queued", "Calls waiting for a container")),
      running_(Gauge(registry, "fn_running", "Calls executing in a container")),
      util_mem_used_(Gauge(registry, "fn_util_mem_used", "Memory reserved by containers, bytes")),
      util_mem_avail_(Gauge(registry, "fn_util_mem_avail", "Memory not reserved, bytes")),
      util_cpu_used_(Gauge(registry, "fn_util_cpu_used", "CPU reserved by containers, mCPU")),
      util_cpu_avail_(Gauge(registry, "fn_util_cpu_avail", "CPU not reserved, mCPU")),
      container_start_(Gauge(registry, "fn_container_start_total", "Containers starting")),
      container_idle_(Gauge(registry, "fn_container_idle_total", "Idle, unpaused containers")),
      container_paused_(Gauge(registry, "fn_container_paused_total", "Paused containers")),
      container_busy_(Gauge(registry, "fn_container_busy_total", "Containers running a call")),
      memory_bytes_(prometheus::BuildGauge()
                        .Name("fnrunner_memory_bytes")
                        .Help("Memory for functions by kind: total, reserved, free, evictable")
                        .Register(registry)),
      cpu_cores_(prometheus::BuildGauge()
                     .Name("fnrunner_cpu_cores")
                     .Help("CPU for functions by kind: total, reserved, free, evictable")
                     .Register(registry)),
      containers_(prometheus::BuildGauge()
                      .Name("fnrunner_containers")
                      .Help("Function containers by state: starting, idle, paused, busy")
                      .Register(registry)),
      freezer_(prometheus::BuildGauge()
                   .Name("fnrunner_freezer")
                   .Help("1 for the way idle containers are frozen: method cgroup or engine")
                   .Register(registry)),
      calls_waiting_(Gauge(registry, "fnrunner_calls_waiting", "Calls waiting for a container")),
      calls_in_flight_(Gauge(registry, "fnrunner_calls_in_flight",
                             "Calls handed to the agent by Engage streams, not yet finished")),
      streams_active_(Gauge(registry, "fnrunner_engage_streams", "Open Engage streams")),
      draining_(Gauge(registry, "fnrunner_draining", "1 while the runner drains")) {}

void RunnerMetrics::CallSubmitted() { calls_.Increment(); }

void RunnerMetrics::CallEnded(CallOutcome outcome, absl::Duration scheduler,
                              absl::Duration execution) {
  switch (outcome) {
    case CallOutcome::kCompleted:
      completed_.Increment();
      break;
    case CallOutcome::kCanceled:
      canceled_.Increment();
      break;
    case CallOutcome::kTimedOut:
      timeouts_.Increment();
      break;
    case CallOutcome::kServerBusy:
      server_busy_.Increment();
      break;
    case CallOutcome::kError:
      errors_.Increment();
      break;
  }
  if (scheduler > absl::ZeroDuration()) {
    scheduler_seconds_.Observe(absl::ToDoubleSeconds(scheduler));
  }
  if (execution > absl::ZeroDuration()) {
    execution_seconds_.Observe(absl::ToDoubleSeconds(execution));
  }
}

void RunnerMetrics::CallRefused(const FnError& error) {
  if (error.code == 503) {
    server_busy_.Increment();
  } else {
    admission_errors_.Add({{"code", absl::StrCat(error.code)}}).Increment();
  }
}

void RunnerMetrics::ProtocolError(absl::string_view kind) {
  protocol_errors_.Add({{"kind", std::string(kind)}}).Increment();
}

void RunnerMetrics::StatusCall(absl::string_view cached, absl::string_view success,
                               absl::string_view network) {
  status_calls_
      .Add({{"cached", std::string(cached)},
            {"success", std::string(success)},
            {"network", std::string(network)}})
      .Increment();
}

void RunnerMetrics::LogLinesDropped(int64_t lines) {
  log_lines_dropped_.Increment(static_cast<double>(lines));
}

void RunnerMetrics::SetFreezerMethod(absl::string_view method) {
  freezer_.Add({{"method", std::string(method)}}).Set(1);
}

void RunnerMetrics::Refresh(const AgentSnapshot& s, const EngageTracker::Counters& streams) {
  queued_.Set(Clamped(s.calls_waiting));
  running_.Set(Clamped(s.calls_running));
  const int64_t mem_free = s.memory_total_bytes - s.memory_reserved_bytes;
  const int64_t cpu_free = s.cpu_total_mcpus - s.cpu_reserved_mcpus;
  util_mem_used_.Set(Clamped(s.memory_reserved_bytes));
  util_mem_avail_.Set(Clamped(mem_free));
  util_cpu_used_.Set(Clamped(s.cpu_reserved_mcpus));
  util_cpu_avail_.Set(Clamped(cpu_free));
  memory_bytes_.Add({{"kind", "total"}}).Set(Clamped(s.memory_total_bytes));
  memory_bytes_.Add({{"kind", "reserved"}}).Set(Clamped(s.memory_reserved_bytes));
  memory_bytes_.Add({{"kind", "free"}}).Set(Clamped(mem_free));
  memory_bytes_.Add({{"kind", "evictable"}}).Set(Clamped(s.memory_evictable_bytes));
  cpu_cores_.Add({{"kind", "total"}}).Set(Clamped(s.cpu_total_mcpus) / 1000);
  cpu_cores_.Add({{"kind", "reserved"}}).Set(Clamped(s.cpu_reserved_mcpus) / 1000);
  cpu_cores_.Add({{"kind", "free"}}).Set(Clamped(cpu_free) / 1000);
  cpu_cores_.Add({{"kind", "evictable"}}).Set(Clamped(s.cpu_evictable_mcpus) / 1000);
  int64_t starting = 0, idle = 0, paused = 0, busy = 0;
  for (const AgentSnapshot::Slot& slot : s.slots) {
    starting += slot.starting;
    idle += slot.idle;
    paused += slot.paused;
    busy += slot.busy;
  }
  container_start_.Set(Clamped(starting));
  container_idle_.Set(Clamped(idle));
  container_paused_.Set(Clamped(paused));
  container_busy_.Set(Clamped(busy));
  containers_.Add({{"state", "starting"}}).Set(Clamped(starting));
  containers_.Add({{"state", "idle"}}).Set(Clamped(idle));
  containers_.Add({{"state", "paused"}}).Set(Clamped(paused));
  containers_.Add({{"state", "busy"}}).Set(Clamped(busy));
  calls_waiting_.Set(Clamped(s.calls_waiting));
  calls_in_flight_.Set(Clamped(streams.calls_in_flight));
  streams_active_.Set(Clamped(streams.active));
  draining_.Set(s.draining || streams.draining ? 1 : 0);
}

std::vector<prometheus::MetricFamily> RefreshingCollectable::Collect() const {
  metrics_.Refresh(agent_.Snapshot(), tracker_.counters());
  return registry_.Collect();
}

}  // namespace fnrunner
