#include "runner/metrics.h"

#include <string>

#include "gtest/gtest.h"
#include "prometheus/registry.h"
#include "prometheus/text_serializer.h"

namespace fnrunner {
namespace {

std::string Scrape(prometheus::Registry& registry) {
  return prometheus::TextSerializer().Serialize(registry.Collect());
}

bool Has(const std::string& text, const std::string& line) {
  return text.find(line + "\n") != std::string::npos;
}

TEST(MetricsTest, ClassifiesOutcomesLikeFn) {
  const FnError timeout = fn_errors::CallTimeout();
  const FnError init_timeout = fn_errors::ContainerInitTimeout();
  const FnError busy = fn_errors::ServerBusy();
  const FnError failed = fn_errors::FunctionFailed();

  EXPECT_EQ(ClassifyOutcome(nullptr, false), CallOutcome::kCompleted);
  EXPECT_EQ(ClassifyOutcome(&timeout, false), CallOutcome::kTimedOut);
  EXPECT_EQ(ClassifyOutcome(&init_timeout, false), CallOutcome::kError);
  EXPECT_EQ(ClassifyOutcome(&busy, false), CallOutcome::kServerBusy);
  EXPECT_EQ(ClassifyOutcome(&failed, false), CallOutcome::kError);
  EXPECT_EQ(ClassifyOutcome(&failed, true), CallOutcome::kCanceled);
}

TEST(MetricsTest, CountsCallsUnderFnNames) {
  prometheus::Registry registry;
  RunnerMetrics metrics(registry);

  metrics.CallSubmitted();
  metrics.CallSubmitted();
  metrics.CallEnded(CallOutcome::kCompleted, absl::Milliseconds(5), absl::Milliseconds(20));
  metrics.CallEnded(CallOutcome::kServerBusy, absl::ZeroDuration(), absl::ZeroDuration());
  metrics.CallRefused(fn_errors::ServerBusy());
  metrics.CallRefused(FnError{501, "x", false});
  metrics.ProtocolError("expected_try");

  const std::string text = Scrape(registry);
  EXPECT_TRUE(Has(text, "fn_calls 2")) << text;
  EXPECT_TRUE(Has(text, "fn_completed 1"));
  EXPECT_TRUE(Has(text, "fn_server_busy 2"));
  EXPECT_TRUE(Has(text, "fnrunner_admission_errors_total{code=\"501\"} 1"));
  EXPECT_TRUE(Has(text, "fnrunner_protocol_errors_total{kind=\"expected_try\"} 1"));
  EXPECT_TRUE(Has(text, "fnrunner_call_execution_seconds_count 1"));
  EXPECT_TRUE(Has(text, "# TYPE fn_calls counter"));
}

TEST(MetricsTest, ShowsTheFreezerMethod) {
  prometheus::Registry registry;
  RunnerMetrics metrics(registry);

  metrics.SetFreezerMethod("cgroup");

  const std::string text = Scrape(registry);
  EXPECT_TRUE(Has(text, "fnrunner_freezer{method=\"cgroup\"} 1")) << text;
  EXPECT_EQ(text.find("method=\"engine\""), std::string::npos);
}

TEST(MetricsTest, RefreshSetsCapacityGaugesFromTheSnapshot) {
  prometheus::Registry registry;
  RunnerMetrics metrics(registry);
  AgentSnapshot s;
  s.memory_total_bytes = 1000;
  s.memory_reserved_bytes = 300;
  s.memory_evictable_bytes = 100;
  s.cpu_total_mcpus = 4000;
  s.cpu_reserved_mcpus = 1500;
  s.calls_waiting = 2;
  s.calls_running = 3;
  s.slots = {{"k1", 1, 2, 3, 4, 0}, {"k2", 1, 0, 0, 0, 2}};
  EngageTracker::Counters streams;
  streams.active = 5;
  streams.calls_in_flight = 4;
  streams.draining = true;

  metrics.Refresh(s, streams);

  const std::string text = Scrape(registry);
  EXPECT_TRUE(Has(text, "# TYPE fn_queued gauge")) << text;
  EXPECT_TRUE(Has(text, "fn_queued 2"));
  EXPECT_TRUE(Has(text, "fn_running 3"));
  EXPECT_TRUE(Has(text, "fn_util_mem_used 300"));
  EXPECT_TRUE(Has(text, "fn_util_mem_avail 700"));
  EXPECT_TRUE(Has(text, "fn_util_cpu_avail 2500"));
  EXPECT_TRUE(Has(text, "fn_container_idle_total 2"));
  EXPECT_TRUE(Has(text, "fn_container_busy_total 3"));
  EXPECT_TRUE(Has(text, "fn_container_start_total 4"));
  EXPECT_TRUE(Has(text, "fnrunner_memory_bytes{kind=\"free\"} 700"));
  EXPECT_TRUE(Has(text, "fnrunner_cpu_cores{kind=\"total\"} 4"));
  EXPECT_TRUE(Has(text, "fnrunner_containers{state=\"paused\"} 2"));
  EXPECT_TRUE(Has(text, "fnrunner_calls_in_flight 4"));
  EXPECT_TRUE(Has(text, "fnrunner_engage_streams 5"));
  EXPECT_TRUE(Has(text, "fnrunner_draining 1"));
}

}  // namespace
}  // namespace fnrunner
