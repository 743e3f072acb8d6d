#include "lb-client/runner_pool.h"

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "lb-client/testing/fake_runner.h"
#include "tests/testing/status_matchers.h"

namespace fnrunner {
namespace {

using ::fnrunner::testing::FakeRunner;
using ::testing::ElementsAre;

RunnerPoolOptions ManualTicks() {
  RunnerPoolOptions options;
  options.tick_interval = absl::ZeroDuration();
  return options;
}

// Waits (on the pool's change notifications, at most 10 s) until `done` holds for the runner
// list.
bool WaitFor(RunnerPool& pool, const std::function<bool(const std::vector<RunnerState>&)>& done) {
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  uint64_t version = pool.version();
  while (!done(pool.Runners())) {
    if (absl::Now() >= deadline) return false;
    version = pool.AwaitChange(version, deadline);
  }
  return true;
}

std::vector<std::string> Addresses(RunnerPool& pool) {
  std::vector<std::string> out;
  for (const RunnerState& r : pool.Runners()) out.push_back(r.client->address());
  return out;
}

TEST(RunnerPoolTest, KeepsRunnersInTheOrderAddedAndRemovesThem) {
  RunnerPool pool(ManualTicks());

  ASSERT_THAT(pool.Add("10.0.0.1:9190"), IsOk());
  ASSERT_THAT(pool.Add("10.0.0.2:9190"), IsOk());
  ASSERT_THAT(pool.Add("10.0.0.3:9190"), IsOk());
  ASSERT_THAT(pool.Remove("10.0.0.2:9190"), IsOk());

  EXPECT_THAT(Addresses(pool), ElementsAre("10.0.0.1:9190", "10.0.0.3:9190"));
  EXPECT_TRUE(pool.Runners()[0].healthy);
  EXPECT_EQ(pool.Runners()[0].capacity, nullptr);
}

TEST(RunnerPoolTest, RejectsBadDuplicateAndUnknownAddresses) {
  RunnerPool pool(ManualTicks());
  ASSERT_THAT(pool.Add("10.0.0.1:9190"), IsOk());

  EXPECT_THAT(pool.Add("10.0.0.1"), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(pool.Add("10.0.0.1:9190"), StatusIs(absl::StatusCode::kAlreadyExists));
  EXPECT_THAT(pool.Remove("10.0.0.9:9190"), StatusIs(absl::StatusCode::kNotFound));
}

TEST(RunnerPoolTest, MembershipChangesBumpTheVersion) {
  RunnerPool pool(ManualTicks());
  const uint64_t before = pool.version();

  ASSERT_THAT(pool.Add("10.0.0.1:9190"), IsOk());

  EXPECT_NE(pool.version(), before);
}

TEST(RunnerPoolTest, ARunnerWhoseStatusFailsIsDownUntilItAnswersAgain) {
  FakeRunner runner;
  ASSERT_THAT(runner.Start(), IsOk());
  RunnerPool pool(ManualTicks());
  ASSERT_THAT(pool.Add(runner.address()), IsOk());
  runner.SetStatusOk(false);

  pool.Tick();
  ASSERT_TRUE(WaitFor(pool, [](const auto& r) { return !r[0].healthy; }));
  runner.SetStatusOk(true);
  pool.Tick();

  EXPECT_TRUE(WaitFor(pool, [](const auto& r) { return r[0].healthy; }));
}

RunnerPoolOptions FastTicks() {
  RunnerPoolOptions options;
  options.tick_interval = absl::Milliseconds(20);
  return options;
}

TEST(RunnerPoolTest, AStoppedRunnerIsMarkedDownAndComesBack) {
  FakeRunner runner;
  ASSERT_THAT(runner.Start(), IsOk());
  RunnerPool pool(FastTicks());
  ASSERT_THAT(pool.Add(runner.address()), IsOk());

  runner.Stop();
  ASSERT_TRUE(WaitFor(pool, [](const auto& r) { return !r[0].healthy; }));
  ASSERT_THAT(runner.Start(), IsOk());  // same port

  EXPECT_TRUE(WaitFor(pool, [](const auto& r) { return r[0].healthy; }));
}

TEST(RunnerPoolTest, ReportUnavailableMarksARunnerDownAtOnce) {
  RunnerPool pool(ManualTicks());
  ASSERT_THAT(pool.Add("10.0.0.1:9190"), IsOk());

  pool.ReportUnavailable("10.0.0.1:9190");

  EXPECT_FALSE(pool.Runners()[0].healthy);
}

TEST(RunnerPoolTest, CapacitySnapshotsArriveFromWatch) {
  FakeRunner runner;
  ASSERT_THAT(runner.Start(), IsOk());
  capacity::CapacitySnapshot snapshot;
  snapshot.set_memory_total_bytes(1 << 30);
  runner.SetCapacity(snapshot);
  RunnerPool pool(ManualTicks());
  ASSERT_THAT(pool.Add(runner.address()), IsOk());

  pool.Tick();
  ASSERT_TRUE(WaitFor(pool, [](const auto& r) { return r[0].capacity != nullptr; }));
  snapshot.set_memory_reserved_bytes(1 << 20);
  runner.SetCapacity(snapshot);

  EXPECT_TRUE(WaitFor(pool, [](const auto& r) {
    return r[0].capacity != nullptr && r[0].capacity->memory_reserved_bytes() == 1 << 20;
  }));
  EXPECT_GT(pool.Runners()[0].capacity_received, absl::Now() - absl::Seconds(10));
  EXPECT_EQ(runner.watch_count(), 1);
}

TEST(RunnerPoolTest, AWatchThatFailsLosesItsCapacityAndIsReopened) {
  FakeRunner runner;
  ASSERT_THAT(runner.Start(), IsOk());
  runner.SetCapacity(capacity::CapacitySnapshot());
  RunnerPool pool(FastTicks());
  ASSERT_THAT(pool.Add(runner.address()), IsOk());
  ASSERT_TRUE(WaitFor(pool, [](const auto& r) { return r[0].capacity != nullptr; }));

  runner.Stop();
  ASSERT_TRUE(WaitFor(pool, [](const auto& r) { return r[0].capacity == nullptr; }));
  ASSERT_THAT(runner.Start(), IsOk());

  EXPECT_TRUE(WaitFor(pool, [](const auto& r) { return r[0].capacity != nullptr; }));
}

TEST(RunnerPoolTest, TheTickThreadProbesWithoutHelp) {
  FakeRunner runner;
  ASSERT_THAT(runner.Start(), IsOk());
  RunnerPool pool(FastTicks());
  ASSERT_THAT(pool.Add(runner.address()), IsOk());

  runner.SetStatusOk(false);

  EXPECT_TRUE(WaitFor(pool, [](const auto& r) { return !r[0].healthy; }));
}

TEST(RunnerPoolTest, DestroyingThePoolEndsOpenWatchesPromptly) {
  FakeRunner runner;
  ASSERT_THAT(runner.Start(), IsOk());
  runner.SetCapacity(capacity::CapacitySnapshot());
  auto pool = std::make_unique<RunnerPool>(ManualTicks());
  ASSERT_THAT(pool->Add(runner.address()), IsOk());
  pool->Tick();
  ASSERT_TRUE(WaitFor(*pool, [](const auto& r) { return r[0].capacity != nullptr; }));

  const absl::Time start = absl::Now();
  pool.reset();

  EXPECT_LT(absl::Now() - start, absl::Seconds(5));
}

TEST(ParseRunnerListTest, AcceptsCommasSpacesNewlinesAndComments) {
  auto list = ParseRunnerList("a:1, b:2\n# a comment\nc:3 # trailing\n\n  d:4,e:5");

  ASSERT_THAT(list, IsOk());
  EXPECT_THAT(*list, ElementsAre("a:1", "b:2", "c:3", "d:4", "e:5"));
}

TEST(ParseRunnerListTest, RejectsMalformedAndRepeatedEntries) {
  EXPECT_THAT(ParseRunnerList("a:1,b"), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(ParseRunnerList("a:1,a:1"), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(ParseRunnerList("a:99999"), StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(ParseRunnerListTest, AMissingFileIsNotFound) {
  EXPECT_THAT(ReadRunnerFile("/nonexistent/runners"), StatusIs(absl::StatusCode::kNotFound));
}

}  // namespace
}  // namespace fnrunner
