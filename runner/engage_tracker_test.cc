#include "runner/engage_tracker.h"

#include <thread>

#include "gtest/gtest.h"

namespace fnrunner {
namespace {

TEST(EngageTrackerTest, CountsLikeFn) {
  EngageTracker tracker;
  // The tracker only uses sessions as keys until Tick().
  auto* a = reinterpret_cast<EngageSession*>(0x10);
  auto* b = reinterpret_cast<EngageSession*>(0x20);

  tracker.Add(a);
  tracker.Add(b);
  tracker.Remove(a);

  const EngageTracker::Counters c = tracker.counters();
  EXPECT_EQ(c.active, 1);
  EXPECT_EQ(c.requests_received, 2u);
  EXPECT_EQ(c.requests_handled, 1u);
}

TEST(EngageTrackerTest, AwaitNoCallsReturnsWhenTheLastCallEnds) {
  EngageTracker tracker;
  tracker.CallStarted();

  std::thread ender([&] { tracker.CallEnded(); });
  EXPECT_TRUE(tracker.AwaitNoCalls(absl::Now() + absl::Seconds(10)));
  ender.join();
}

TEST(EngageTrackerTest, AwaitNoCallsGivesUpAtTheDeadline) {
  EngageTracker tracker;
  tracker.CallStarted();

  EXPECT_FALSE(tracker.AwaitNoCalls(absl::Now() + absl::Milliseconds(20)));
  EXPECT_EQ(tracker.counters().calls_in_flight, 1);
}

TEST(EngageTrackerTest, DrainingIsSticky) {
  EngageTracker tracker;
  EXPECT_FALSE(tracker.draining());

  tracker.StartDraining();

  EXPECT_TRUE(tracker.draining());
  EXPECT_TRUE(tracker.counters().draining);
}

}  // namespace
}  // namespace fnrunner
