#include "runner/status_provider.h"

#include <cstdio>
#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "agent/fake_agent.h"
#include "base/fake_clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "prometheus/registry.h"
#include "runner/engage_tracker.h"
#include "runner/metrics.h"

namespace fnrunner {
namespace {

using ::testing::Contains;
using ::testing::Key;
using ::testing::Pair;

// Collects Get() answers, which may arrive on the worker thread.
class Answers {
 public:
  StatusProvider::Done Collector() {
    return [this](RunnerStatus status) {
      absl::MutexLock lock(&mu_);
      got_.push_back(std::move(status));
    };
  }
  std::vector<RunnerStatus> WaitFor(size_t n) {
    absl::MutexLock lock(&mu_);
    auto done = [this, n]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return got_.size() >= n; };
    EXPECT_TRUE(mu_.AwaitWithTimeout(absl::Condition(&done), absl::Seconds(10)));
    return got_;
  }

 private:
  absl::Mutex mu_;
  std::vector<RunnerStatus> got_ ABSL_GUARDED_BY(mu_);
};

class StatusProviderTest : public ::testing::Test {
 protected:
  std::unique_ptr<StatusProvider> Make(std::string image, std::string barrier = "") {
    StatusOptions options;
    options.image = std::move(image);
    options.barrier_path = std::move(barrier);
    return std::make_unique<StatusProvider>(options, agent_, tracker_, metrics_, clock_);
  }

  FakeClock clock_;
  FakeAgent agent_{clock_};
  EngageTracker tracker_;
  prometheus::Registry registry_;
  RunnerMetrics metrics_{registry_};
  Answers answers_;
};

TEST_F(StatusProviderTest, WithoutImageAnswersCountersAtOnce) {
  auto provider = Make("");
  tracker_.Add(reinterpret_cast<EngageSession*>(0x10));
  AgentSnapshot snapshot;
  snapshot.memory_total_bytes = 4096;
  agent_.SetSnapshot(snapshot);

  provider->Get("{}", answers_.Collector());

  const RunnerStatus status = answers_.WaitFor(1).at(0);
  EXPECT_EQ(status.active(), 1);
  EXPECT_EQ(status.requestsreceived(), 1u);
  EXPECT_EQ(status.id(), "");
  EXPECT_FALSE(status.cached());
  EXPECT_THAT(status.customstatus(), Contains(Pair("fnrunner.mem.total", "4096")));
  EXPECT_THAT(status.customstatus(), Contains(Pair("fnrunner.draining", "false")));
  EXPECT_TRUE(agent_.calls().empty());
  tracker_.Remove(reinterpret_cast<EngageSession*>(0x10));
}

TEST_F(StatusProviderTest, RunsTheStatusImageAsAFnCall) {
  auto provider = Make("fn/status:1");

  provider->Get("{\"a\":\"b\"}", answers_.Collector());

  const RunnerStatus status = answers_.WaitFor(1).at(0);
  EXPECT_FALSE(status.failed());
  EXPECT_EQ(status.details(), "{\"a\":\"b\"}");  // FakeAgent echoes
  EXPECT_EQ(status.id().size(), 26u);
  EXPECT_FALSE(status.cached());
  EXPECT_FALSE(status.createdat().empty());
  const Call call = agent_.calls().at(0).call;
  EXPECT_EQ(call.image, "fn/status:1");
  EXPECT_EQ(call.method, "GET");
  EXPECT_EQ(call.url, "/");
  EXPECT_EQ(call.timeout, absl::Seconds(5));
  EXPECT_EQ(call.idle_timeout, absl::Seconds(1));
  EXPECT_EQ(call.memory_mb, 0u);
}

TEST_F(StatusProviderTest, ConcurrentRequestsShareOneCallAndOnlyTheFirstIsUncached) {
  FakeAgent::Script script = FakeAgent::Echo();
  script.stall = true;
  agent_.SetScript(script);
  auto provider = Make("fn/status:1");

  for (int i = 0; i < 5; ++i) provider->Get("{}", answers_.Collector());
  ASSERT_TRUE(agent_.WaitForStalled(1, absl::Seconds(10)));
  agent_.Release();

  const std::vector<RunnerStatus> got = answers_.WaitFor(5);
  EXPECT_EQ(agent_.calls().size(), 1u);
  int uncached = 0;
  for (const RunnerStatus& s : got) {
    EXPECT_EQ(s.id(), got[0].id());
    if (!s.cached()) ++uncached;
  }
  EXPECT_EQ(uncached, 1);
}

TEST_F(StatusProviderTest, CacheLastsOnePointFiveSeconds) {
  auto provider = Make("fn/status:1");
  provider->Get("{}", answers_.Collector());
  const std::string first = answers_.WaitFor(1).at(0).id();

  clock_.Advance(absl::Milliseconds(1400));
  provider->Get("{}", answers_.Collector());
  const RunnerStatus cached = answers_.WaitFor(2).at(1);
  clock_.Advance(absl::Milliseconds(200));
  provider->Get("{}", answers_.Collector());
  const RunnerStatus fresh = answers_.WaitFor(3).at(2);

  EXPECT_EQ(cached.id(), first);
  EXPECT_TRUE(cached.cached());
  EXPECT_NE(fresh.id(), first);
  EXPECT_FALSE(fresh.cached());
  EXPECT_EQ(agent_.calls().size(), 2u);
}

TEST_F(StatusProviderTest, MissingBarrierFileDisablesNetwork) {
  auto provider = Make("fn/status:1", "/nonexistent/fn-runner-test-barrier");

  provider->Get("{}", answers_.Collector());

  EXPECT_TRUE(answers_.WaitFor(1).at(0).isnetworkdisabled());
}

TEST_F(StatusProviderTest, FailedStatusCallReportsTheError) {
  FakeAgent::Script script;
  script.respond = false;
  script.error = FnError{450, "custom failure", false};
  agent_.SetScript(script);
  auto provider = Make("fn/status:1");

  provider->Get("{}", answers_.Collector());

  const RunnerStatus status = answers_.WaitFor(1).at(0);
  EXPECT_TRUE(status.failed());
  EXPECT_EQ(status.errorcode(), 450);
  EXPECT_EQ(status.errorstr(), "custom failure");
}

TEST_F(StatusProviderTest, DestructionAnswersWaitersOfAStalledCall) {
  FakeAgent::Script script = FakeAgent::Echo();
  script.stall = true;
  agent_.SetScript(script);
  auto provider = Make("fn/status:1");
  provider->Get("{}", answers_.Collector());
  ASSERT_TRUE(agent_.WaitForStalled(1, absl::Seconds(10)));

  provider.reset();

  const RunnerStatus status = answers_.WaitFor(1).at(0);
  EXPECT_TRUE(status.failed());
}

}  // namespace
}  // namespace fnrunner
