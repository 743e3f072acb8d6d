#include "lb-client/slot_timings.h"

#include "gtest/gtest.h"

namespace fnrunner {
namespace {

CallFinished Finished(int64_t execution_ms, int64_t create_ms = 0, int64_t init_ms = 0) {
  CallFinished f;
  f.set_executionduration(execution_ms * 1'000'000);
  f.set_ctrcreateduration(create_ms * 1'000'000);
  f.set_initstarttime(init_ms * 1'000'000);
  return f;
}

TEST(SlotTimingsTest, NothingIsKnownBeforeTheFirstCall) {
  SlotTimings timings;

  SlotTimings::Estimate e = timings.Get("a");

  EXPECT_FALSE(e.execution.has_value());
  EXPECT_FALSE(e.cold_start.has_value());
}

TEST(SlotTimingsTest, LearnsExecutionAndColdStartAsMovingAverages) {
  SlotTimings timings;

  timings.Record("a", Finished(100, 300, 200));
  timings.Record("a", Finished(200));

  SlotTimings::Estimate e = timings.Get("a");
  EXPECT_EQ(*e.execution, absl::Milliseconds(120));  // 100 + 0.2 x (200 - 100)
  EXPECT_EQ(*e.cold_start, absl::Milliseconds(500));
}

TEST(SlotTimingsTest, AFunctionWithoutSamplesBorrowsTheAverageOfAll) {
  SlotTimings timings;
  timings.Record("a", Finished(100, 400, 100));

  SlotTimings::Estimate e = timings.Get("b");

  EXPECT_EQ(*e.execution, absl::Milliseconds(100));
  EXPECT_EQ(*e.cold_start, absl::Milliseconds(500));
}

TEST(ExpectedWarmWaitTest, SharesQueuedExecutionsAmongContainers) {
  const absl::Duration exec = absl::Milliseconds(100);
  const absl::Duration cold = absl::Seconds(1);

  EXPECT_EQ(ExpectedWarmWait({.busy = 1}, exec, cold), absl::Milliseconds(100));
  EXPECT_EQ(ExpectedWarmWait({.busy = 2, .waiting = 3}, exec, cold), absl::Milliseconds(200));
  EXPECT_EQ(ExpectedWarmWait({.starting = 1}, exec, cold), absl::Milliseconds(600));
  EXPECT_EQ(ExpectedWarmWait({.waiting = 3}, exec, cold), absl::InfiniteDuration());
}

}  // namespace
}  // namespace fnrunner
