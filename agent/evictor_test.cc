#include "agent/evictor.h"

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "base/fake_clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace fnrunner {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

constexpr uint64_t kMb = kBytesPerMb;
const SlotKey kFnA{"slot-a"};
const SlotKey kFnB{"slot-b"};
const SlotKey kFnC{"slot-c"};

Resources Mem(uint64_t bytes, uint64_t milli_cpus = 0) {
  return Resources{.memory_bytes = bytes, .milli_cpus = milli_cpus};
}

std::vector<std::string> Ids(const std::vector<EvictedContainer>& evicted) {
  std::vector<std::string> ids;
  for (const EvictedContainer& e : evicted) ids.push_back(e.id.value);
  return ids;
}

class EvictorTest : public ::testing::Test {
 protected:
  // Registers `id` and marks it idle now, then lets a second pass so idle times differ.
  void AddIdle(const std::string& id, const SlotKey& key, const Resources& held) {
    ASSERT_THAT(evictor_.Register(ContainerId{id}, key, held), IsOk());
    ASSERT_THAT(evictor_.MarkIdle(ContainerId{id}), IsOk());
    clock_.Advance(absl::Seconds(1));
  }

  FakeClock clock_;
  Evictor evictor_{clock_};
};

TEST_F(EvictorTest, TakesLeastRecentlyIdleFirst) {
  AddIdle("c1", kFnB, Mem(100 * kMb));
  AddIdle("c2", kFnB, Mem(100 * kMb));
  AddIdle("c3", kFnC, Mem(100 * kMb));

  EXPECT_THAT(Ids(evictor_.PlanEviction(kFnA, Mem(150 * kMb))), ElementsAre("c1", "c2"));
}

TEST_F(EvictorTest, OrdersByIdleTimeNotRegistration) {
  ASSERT_THAT(evictor_.Register(ContainerId{"first"}, kFnB, Mem(100 * kMb)), IsOk());
  ASSERT_THAT(evictor_.Register(ContainerId{"second"}, kFnB, Mem(100 * kMb)), IsOk());
  ASSERT_THAT(evictor_.MarkIdle(ContainerId{"second"}), IsOk());
  clock_.Advance(absl::Seconds(1));
  ASSERT_THAT(evictor_.MarkIdle(ContainerId{"first"}), IsOk());

  EXPECT_THAT(Ids(evictor_.PlanEviction(kFnA, Mem(100 * kMb))), ElementsAre("second"));
}

TEST_F(EvictorTest, ServingACallMakesAContainerRecentlyIdleAgain) {
  AddIdle("c1", kFnB, Mem(100 * kMb));
  AddIdle("c2", kFnB, Mem(100 * kMb));
  ASSERT_THAT(evictor_.TryClaim(ContainerId{"c1"}), IsOk());
  ASSERT_THAT(evictor_.MarkIdle(ContainerId{"c1"}), IsOk());

  EXPECT_THAT(Ids(evictor_.PlanEviction(kFnA, Mem(100 * kMb))), ElementsAre("c2"));
}

TEST_F(EvictorTest, EqualIdleTimesKeepMarkIdleOrder) {
  for (const char* id : {"c1", "c2", "c3"}) {
    ASSERT_THAT(evictor_.Register(ContainerId{id}, kFnB, Mem(kMb)), IsOk());
  }
  for (const char* id : {"c3", "c1", "c2"}) ASSERT_THAT(evictor_.MarkIdle(ContainerId{id}), IsOk());

  EXPECT_THAT(Ids(evictor_.PlanEviction(kFnA, Mem(2 * kMb))), ElementsAre("c3", "c1"));
}

TEST_F(EvictorTest, MarkIdleTwiceKeepsTheFirstTime) {
  AddIdle("c1", kFnB, Mem(100 * kMb));
  AddIdle("c2", kFnB, Mem(100 * kMb));
  ASSERT_THAT(evictor_.MarkIdle(ContainerId{"c1"}), IsOk());

  EXPECT_THAT(Ids(evictor_.PlanEviction(kFnA, Mem(100 * kMb))), ElementsAre("c1"));
}

TEST_F(EvictorTest, NeverTakesTheRequestersOwnContainers) {
  AddIdle("own", kFnA, Mem(500 * kMb));
  AddIdle("other", kFnB, Mem(100 * kMb));

  EXPECT_THAT(Ids(evictor_.PlanEviction(kFnA, Mem(100 * kMb))), ElementsAre("other"));
}

TEST_F(EvictorTest, NeverTakesBusyContainers) {
  ASSERT_THAT(evictor_.Register(ContainerId{"busy"}, kFnB, Mem(500 * kMb)), IsOk());
  AddIdle("idle", kFnC, Mem(100 * kMb));

  EXPECT_THAT(Ids(evictor_.PlanEviction(kFnA, Mem(100 * kMb))), ElementsAre("idle"));
}

TEST_F(EvictorTest, AllOrNothing) {
  AddIdle("c1", kFnB, Mem(100 * kMb));
  AddIdle("c2", kFnC, Mem(100 * kMb));

  EXPECT_THAT(evictor_.PlanEviction(kFnA, Mem(201 * kMb)), IsEmpty());
  EXPECT_EQ(evictor_.Snapshot().idle, 2);  // still there for a smaller request
  EXPECT_THAT(Ids(evictor_.PlanEviction(kFnA, Mem(200 * kMb))), ElementsAre("c1", "c2"));
}

TEST_F(EvictorTest, ASubMegabyteShortfallStillEvicts) {
  AddIdle("c1", kFnB, Mem(100 * kMb));

  // fn rounded a 1-byte deficit down to "need 0 MB" and evicted nothing.
  EXPECT_THAT(Ids(evictor_.PlanEviction(kFnA, Mem(1))), ElementsAre("c1"));
}

TEST_F(EvictorTest, ZeroShortfallEvictsNothing) {
  AddIdle("c1", kFnB, Mem(100 * kMb));

  EXPECT_THAT(evictor_.PlanEviction(kFnA, Mem(0)), IsEmpty());
  EXPECT_EQ(evictor_.Snapshot().idle, 1);
}

TEST_F(EvictorTest, CoversMemoryAndCpuTogether) {
  AddIdle("mem", kFnB, Mem(100 * kMb, 0));
  AddIdle("cpu", kFnB, Mem(0, 500));
  AddIdle("both", kFnC, Mem(100 * kMb, 500));

  EXPECT_THAT(Ids(evictor_.PlanEviction(kFnA, Mem(100 * kMb, 500))), ElementsAre("mem", "cpu"));
}

TEST_F(EvictorTest, SkipsContainersThatFreeNothingMissing) {
  AddIdle("mem-only", kFnB, Mem(100 * kMb, 0));
  AddIdle("cpu", kFnC, Mem(0, 500));

  EXPECT_THAT(Ids(evictor_.PlanEviction(kFnA, Mem(0, 500))), ElementsAre("cpu"));
  EXPECT_THAT(evictor_.TryClaim(ContainerId{"mem-only"}), IsOk());
}

TEST_F(EvictorTest, ContainersHoldingNothingAreNeverTaken) {
  AddIdle("empty", kFnB, Mem(0, 0));

  EXPECT_THAT(evictor_.PlanEviction(kFnA, Mem(1, 1)), IsEmpty());
}

TEST_F(EvictorTest, ReportsWhatEachEvictedContainerHeld) {
  AddIdle("c1", kFnB, Mem(64 * kMb, 250));

  EXPECT_THAT(evictor_.PlanEviction(kFnA, Mem(kMb)),
              ElementsAre(EvictedContainer{ContainerId{"c1"}, kFnB, Mem(64 * kMb, 250)}));
}

TEST_F(EvictorTest, EvictedContainersLeaveTheRegistry) {
  AddIdle("c1", kFnB, Mem(100 * kMb));

  ASSERT_THAT(evictor_.PlanEviction(kFnA, Mem(100 * kMb)), ::testing::SizeIs(1));

  EXPECT_THAT(evictor_.PlanEviction(kFnC, Mem(100 * kMb)), IsEmpty());
  EXPECT_EQ(evictor_.Snapshot().registered, 0);
}

TEST_F(EvictorTest, EvictedContainerCannotBeClaimed) {
  AddIdle("c1", kFnB, Mem(100 * kMb));
  ASSERT_THAT(evictor_.PlanEviction(kFnA, Mem(100 * kMb)), ::testing::SizeIs(1));

  EXPECT_THAT(evictor_.TryClaim(ContainerId{"c1"}), StatusIs(absl::StatusCode::kNotFound));
}

TEST_F(EvictorTest, EvictedContainerCannotComeBackIdle) {
  AddIdle("c1", kFnB, Mem(100 * kMb));
  ASSERT_THAT(evictor_.PlanEviction(kFnA, Mem(100 * kMb)), ::testing::SizeIs(1));

  EXPECT_THAT(evictor_.MarkIdle(ContainerId{"c1"}), StatusIs(absl::StatusCode::kNotFound));
}

TEST_F(EvictorTest, ClaimedContainerIsNotEvicted) {
  AddIdle("c1", kFnB, Mem(100 * kMb));
  ASSERT_THAT(evictor_.TryClaim(ContainerId{"c1"}), IsOk());

  EXPECT_THAT(evictor_.PlanEviction(kFnA, Mem(100 * kMb)), IsEmpty());
}

TEST_F(EvictorTest, ClaimingABusyContainerIsFailedPrecondition) {
  ASSERT_THAT(evictor_.Register(ContainerId{"c1"}, kFnB, Mem(kMb)), IsOk());

  EXPECT_THAT(evictor_.TryClaim(ContainerId{"c1"}),
              StatusIs(absl::StatusCode::kFailedPrecondition));
}

TEST_F(EvictorTest, UnknownContainerIsNotFound) {
  EXPECT_THAT(evictor_.TryClaim(ContainerId{"nope"}), StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(evictor_.MarkIdle(ContainerId{"nope"}), StatusIs(absl::StatusCode::kNotFound));
}

TEST_F(EvictorTest, RegisteringTwiceIsAlreadyExists) {
  ASSERT_THAT(evictor_.Register(ContainerId{"c1"}, kFnB, Mem(kMb)), IsOk());

  EXPECT_THAT(evictor_.Register(ContainerId{"c1"}, kFnC, Mem(kMb)),
              StatusIs(absl::StatusCode::kAlreadyExists));
}

TEST_F(EvictorTest, RemovedContainersAreForgotten) {
  AddIdle("c1", kFnB, Mem(100 * kMb));

  evictor_.Remove(ContainerId{"c1"});
  evictor_.Remove(ContainerId{"c1"});

  EXPECT_THAT(evictor_.PlanEviction(kFnA, Mem(kMb)), IsEmpty());
  EXPECT_EQ(evictor_.Snapshot().registered, 0);
}

TEST_F(EvictorTest, SnapshotCountsIdleAndEvictable) {
  AddIdle("c1", kFnB, Mem(100 * kMb, 100));
  AddIdle("c2", kFnC, Mem(50 * kMb, 0));
  ASSERT_THAT(evictor_.Register(ContainerId{"busy"}, kFnB, Mem(500 * kMb, 500)), IsOk());

  EvictorSnapshot snapshot = evictor_.Snapshot();

  EXPECT_EQ(snapshot.registered, 3);
  EXPECT_EQ(snapshot.idle, 2);
  EXPECT_EQ(snapshot.evictable, Mem(150 * kMb, 100));
}

// Owners claim every container while launchers evict one at a time: each container must end
// up with exactly one winner.
TEST_F(EvictorTest, ClaimAndEvictionNeverBothWin) {
  constexpr int kContainers = 500;
  for (int i = 0; i < kContainers; ++i) {
    std::string id = absl::StrCat("c", i);
    ASSERT_THAT(evictor_.Register(ContainerId{id}, kFnB, Mem(kMb)), IsOk());
    ASSERT_THAT(evictor_.MarkIdle(ContainerId{id}), IsOk());
  }
  std::vector<int> claimed(kContainers, 0);
  std::vector<std::vector<EvictedContainer>> evicted(2);
  absl::Notification start;

  std::thread owner([&] {
    start.WaitForNotification();
    // In idle order, like the launchers, so both keep reaching for the same containers.
    for (int i = 0; i < kContainers; ++i) {
      claimed[i] = evictor_.TryClaim(ContainerId{absl::StrCat("c", i)}).ok() ? 1 : 0;
    }
  });
  std::vector<std::thread> launchers;
  for (auto& out : evicted) {
    launchers.emplace_back([&] {
      start.WaitForNotification();
      for (;;) {
        std::vector<EvictedContainer> plan = evictor_.PlanEviction(kFnA, Mem(kMb));
        if (plan.empty()) break;
        out.insert(out.end(), plan.begin(), plan.end());
      }
    });
  }
  start.Notify();
  owner.join();
  for (std::thread& t : launchers) t.join();

  std::vector<int> wins = claimed;
  for (const auto& plan : evicted) {
    for (const EvictedContainer& e : plan) ++wins[std::stoi(e.id.value.substr(1))];
  }
  for (int i = 0; i < kContainers; ++i) EXPECT_EQ(wins[i], 1) << "c" << i;
}

}  // namespace
}  // namespace fnrunner
