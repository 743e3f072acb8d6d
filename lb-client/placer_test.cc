// fn's naive and consistent-hash placers, and the capacity placer, against in-process fake
// runners: which runner gets a call, what is retried, when placement gives up.

#include <algorithm>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "base/fake_clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "lb-client/call_model.h"
#include "lb-client/capacity_placer.h"
#include "lb-client/placer.h"
#include "lb-client/sip_hash.h"
#include "lb-client/testing/fake_runner.h"
#include "tests/testing/status_matchers.h"

namespace fnrunner {
namespace {

using ::fnrunner::testing::EngageScript;
using ::fnrunner::testing::FakeRunner;
using ::fnrunner::testing::FakeRunnerOptions;

constexpr int64_t kMiB = int64_t{1} << 20;

class DiscardSink final : public ResponseSink {
 public:
  void OnStart(int, const std::vector<std::pair<std::string, std::string>>&) override {}
  void OnData(absl::string_view data) override { body.append(data.data(), data.size()); }
  std::string body;
};

CallRequest Request(const std::string& fn_id) {
  CallRequest request;
  request.call.id = "01E8S0W2ABNG8G00GZJ000000A";
  request.call.fn_id = fn_id;
  request.call.app_id = "app";
  request.call.image = "fn-test/fdk:latest";
  request.call.memory_mb = 128;
  request.slot_hash_id = SlotHashId(request.call);
  request.body = "ping";
  return request;
}

absl::Time Deadline() { return absl::Now() + absl::Seconds(30); }

// A FakeClock whose nanoseconds-within-the-second are `nanos`.
absl::Time AtNanos(int64_t nanos) { return absl::FromUnixSeconds(1'700'000'000) + absl::Nanoseconds(nanos); }

class PlacerTest : public ::testing::Test {
 protected:
  explicit PlacerTest(bool capacity_service = true) {
    for (int i = 0; i < 3; ++i) {
      FakeRunnerOptions options;
      options.capacity_service = capacity_service;
      runners_.push_back(std::make_unique<FakeRunner>(options));
      EXPECT_THAT(runners_.back()->Start(), IsOk());
    }
    RunnerPoolOptions options;
    options.tick_interval = absl::ZeroDuration();
    pool_ = std::make_unique<RunnerPool>(options);
    for (auto& r : runners_) EXPECT_THAT(pool_->Add(r->address()), IsOk());
  }

  FakeRunner& runner(int i) { return *runners_[i]; }
  // Which fake runners received an Engage stream, as counts.
  std::vector<int> Engages() {
    std::vector<int> out;
    for (auto& r : runners_) out.push_back(r->engage_count());
    return out;
  }

  PlacerOptions Fast() {
    PlacerOptions options;
    options.placer_timeout = absl::Milliseconds(300);
    return options;
  }

  std::vector<std::unique_ptr<FakeRunner>> runners_;
  std::unique_ptr<RunnerPool> pool_;
  DiscardSink sink_;
};

TEST_F(PlacerTest, NaiveStartsAtTheClocksNanosecondsPlusOne) {
  FakeClock clock(AtNanos(4));  // (4 + 1) mod 3 = 2
  auto placer = MakeNaivePlacer(*pool_, clock, Fast());

  PlacementResult result = placer->Place(Request("f"), sink_, Deadline());
  clock.Advance(absl::Nanoseconds(1));  // (5 + 1) mod 3 = 0
  PlacementResult second = placer->Place(Request("f"), sink_, Deadline());

  EXPECT_THAT(result.status, IsOk());
  EXPECT_EQ(result.runner, runner(2).address());
  EXPECT_EQ(second.runner, runner(0).address());
  EXPECT_EQ(result.attempts, 1);
  EXPECT_EQ(sink_.body, "pingping");
}

TEST_F(PlacerTest, NaiveMovesOnAfterANackInListOrder) {
  FakeClock clock(AtNanos(2));  // starts at 0
  runner(0).Queue({EngageScript::kNackFinished});
  runner(1).Queue({EngageScript::kNackStatus});
  auto placer = MakeNaivePlacer(*pool_, clock, Fast());

  PlacementResult result = placer->Place(Request("f"), sink_, Deadline());

  EXPECT_THAT(result.status, IsOk());
  EXPECT_EQ(result.runner, runner(2).address());
  EXPECT_EQ(result.attempts, 3);
  EXPECT_EQ(result.nacks, 2);
}

TEST_F(PlacerTest, ACommittedFailureIsNotRetried) {
  FakeClock clock(AtNanos(2));
  runner(0).Queue({EngageScript::kFail502});
  auto placer = MakeNaivePlacer(*pool_, clock, Fast());

  PlacementResult result = placer->Place(Request("f"), sink_, Deadline());

  EXPECT_TRUE(result.placed);
  EXPECT_EQ(result.fn_error_code, 502);
  EXPECT_EQ(result.attempts, 1);
  EXPECT_THAT(Engages(), ::testing::ElementsAre(1, 0, 0));
}

TEST_F(PlacerTest, WhenEveryRunnerNacksNaiveGivesUpWithFns503AfterThePlacerTimeout) {
  FakeClock clock(AtNanos(2));
  for (auto& r : runners_) r->SetDefault(EngageScript::kNackFinished);
  auto placer = MakeNaivePlacer(*pool_, clock, Fast());
  const absl::Time start = absl::Now();

  PlacementResult result = placer->Place(Request("f"), sink_, Deadline());

  EXPECT_FALSE(result.placed);
  EXPECT_THAT(result.status,
              StatusIs(absl::StatusCode::kResourceExhausted, "Timed out - server too busy"));
  EXPECT_GE(absl::Now() - start, absl::Milliseconds(300));
  EXPECT_GE(result.attempts, 6);  // several passes of three
  EXPECT_EQ(result.nacks, result.attempts);
}

TEST_F(PlacerTest, AnUnreachableRunnerIsSkippedOnceMarkedDown) {
  FakeClock clock(AtNanos(2));
  runner(0).Stop();
  auto placer = MakeNaivePlacer(*pool_, clock, Fast());

  PlacementResult first = placer->Place(Request("f"), sink_, Deadline());
  PlacementResult second = placer->Place(Request("f"), sink_, Deadline());

  EXPECT_EQ(first.runner, runner(1).address());
  EXPECT_EQ(first.errors, 1);
  EXPECT_EQ(second.runner, runner(1).address());
  EXPECT_EQ(second.attempts, 1);
}

TEST_F(PlacerTest, AnEmptyPoolFailsAfterTheTimeout) {
  RunnerPoolOptions options;
  options.tick_interval = absl::ZeroDuration();
  RunnerPool empty(options);
  FakeClock clock;
  auto placer = MakeNaivePlacer(empty, clock, Fast());

  PlacementResult result = placer->Place(Request("f"), sink_, Deadline());

  EXPECT_THAT(result.status, StatusIs(absl::StatusCode::kFailedPrecondition));
}

TEST_F(PlacerTest, ConsistentHashStartsAtFnsJumpHashIndex) {
  auto placer = MakeConsistentHashPlacer(*pool_, Fast());

  // placement-and-metrics.md §1.5: with 3 runners these start at 2 and 0.
  PlacementResult a = placer->Place(Request("01D1H0PNWANG8G00RZJ0000002"), sink_, Deadline());
  PlacementResult b = placer->Place(Request("myfn"), sink_, Deadline());

  EXPECT_EQ(a.runner, runner(2).address());
  EXPECT_EQ(b.runner, runner(0).address());
}

TEST_F(PlacerTest, ConsistentHashSpillsAlongTheRing) {
  runner(2).Queue({EngageScript::kNackFinished});
  auto placer = MakeConsistentHashPlacer(*pool_, Fast());

  PlacementResult result = placer->Place(Request("01D1H0PNWANG8G00RZJ0000002"), sink_, Deadline());

  EXPECT_EQ(result.runner, runner(0).address());  // 2, then 0
  EXPECT_EQ(result.nacks, 1);
}

// ---- Capacity-aware ----

capacity::CapacitySnapshot Snap(int64_t total_mib, int64_t reserved_mib, int64_t evictable_mib) {
  capacity::CapacitySnapshot s;
  s.set_memory_total_bytes(total_mib * kMiB);
  s.set_memory_reserved_bytes(reserved_mib * kMiB);
  s.set_memory_evictable_bytes(evictable_mib * kMiB);
  return s;
}

capacity::CapacitySnapshot WithIdle(capacity::CapacitySnapshot s, const std::string& slot,
                                    int idle, int busy = 0) {
  capacity::SlotCapacity* entry = s.add_slots();
  entry->set_slot_key(slot);
  entry->set_idle(idle);
  entry->set_busy(busy);
  return s;
}

class CapacityPlacerTest : public PlacerTest {
 protected:
  explicit CapacityPlacerTest(bool capacity_service = true) : PlacerTest(capacity_service) {}

  // Sets every runner's snapshot and waits until the pool has them all.
  void SetCapacities(const std::vector<capacity::CapacitySnapshot>& snapshots) {
    std::vector<uint64_t> seqs;
    for (size_t i = 0; i < snapshots.size(); ++i) runners_[i]->SetCapacity(snapshots[i]);
    pool_->Tick();
    const absl::Time deadline = absl::Now() + absl::Seconds(10);
    uint64_t version = pool_->version();
    while (absl::Now() < deadline) {
      bool all = true;
      std::vector<RunnerState> states = pool_->Runners();
      for (size_t i = 0; i < states.size(); ++i) {
        all = all && states[i].capacity != nullptr &&
              states[i].capacity->memory_total_bytes() == snapshots[i].memory_total_bytes() &&
              states[i].capacity->slots_size() == snapshots[i].slots_size() &&
              states[i].capacity->memory_reserved_bytes() == snapshots[i].memory_reserved_bytes();
      }
      if (all) return;
      // Ticks as the pool's owner does: a watch that could not open at the first tick (a
      // loaded machine) is opened again, instead of the test waiting for nothing.
      pool_->Tick();
      version = pool_->AwaitChange(version,
                                   std::min(deadline, absl::Now() + absl::Milliseconds(200)));
    }
    ADD_FAILURE() << "snapshots did not arrive";
  }

  CapacityPlacerOptions Options() {
    CapacityPlacerOptions options;
    options.budget = absl::Milliseconds(300);
    options.seed = 1;
    return options;
  }
};

TEST_F(CapacityPlacerTest, AWarmContainerWinsOverRoom) {
  const CallRequest request = Request("f");
  SetCapacities({Snap(1024, 0, 0), WithIdle(Snap(1024, 128, 128), request.slot_hash_id, 1),
                 Snap(1024, 0, 0)});
  CapacityPlacer placer(*pool_, Options());

  PlacementResult result = placer.Place(request, sink_, Deadline());

  EXPECT_THAT(result.status, IsOk());
  EXPECT_EQ(result.runner, runner(1).address());
  EXPECT_EQ(result.tier, "warm");
  EXPECT_EQ(runner(1).calls()[0].try_call.slot_hash_id(), request.slot_hash_id);
}

TEST_F(CapacityPlacerTest, RoomWinsOverEviction) {
  SetCapacities({Snap(512, 512, 256), Snap(512, 512, 256), Snap(512, 256, 0)});
  CapacityPlacer placer(*pool_, Options());

  PlacementResult result = placer.Place(Request("f"), sink_, Deadline());

  EXPECT_EQ(result.runner, runner(2).address());
  EXPECT_EQ(result.tier, "room");
}

TEST_F(CapacityPlacerTest, AFullFleetGetsNoAttemptAndA503AfterTheBudget) {
  SetCapacities({Snap(512, 512, 0), Snap(512, 512, 0), Snap(512, 512, 64)});
  CapacityPlacer placer(*pool_, Options());

  PlacementResult result = placer.Place(Request("f"), sink_, Deadline());

  EXPECT_THAT(result.status,
              StatusIs(absl::StatusCode::kResourceExhausted, "Timed out - server too busy"));
  EXPECT_EQ(result.attempts, 0);
  EXPECT_THAT(Engages(), ::testing::ElementsAre(0, 0, 0));
}

TEST_F(CapacityPlacerTest, AFullFleetCallIsPlacedAsSoonAsASnapshotShowsRoom) {
  SetCapacities({Snap(512, 512, 0), Snap(512, 512, 0), Snap(512, 512, 0)});
  CapacityPlacerOptions options = Options();
  options.budget = absl::Seconds(20);
  CapacityPlacer placer(*pool_, options);
  PlacementResult result;

  std::thread call([&] { result = placer.Place(Request("f"), sink_, Deadline()); });
  runner(1).SetCapacity(Snap(512, 128, 0));
  call.join();

  EXPECT_THAT(result.status, IsOk());
  EXPECT_EQ(result.runner, runner(1).address());
  EXPECT_EQ(result.attempts, 1);
}

TEST_F(CapacityPlacerTest, ARunnerThatNackedIsSkippedUntilItsSnapshotChanges) {
  const CallRequest request = Request("f");
  SetCapacities({WithIdle(Snap(1024, 128, 128), request.slot_hash_id, 1), Snap(1024, 0, 0),
                 Snap(1024, 0, 0)});
  runner(0).Queue({EngageScript::kNackFinished});
  CapacityPlacer placer(*pool_, Options());

  PlacementResult first = placer.Place(request, sink_, Deadline());
  PlacementResult second = placer.Place(request, sink_, Deadline());

  EXPECT_EQ(first.nacks, 1);
  EXPECT_NE(first.runner, runner(0).address());
  EXPECT_EQ(second.attempts, 1);
  EXPECT_EQ(runner(0).engage_count(), 1);
}

TEST_F(CapacityPlacerTest, TheLedgerKeepsConcurrentCallsOffOneIdleContainer) {
  const CallRequest request = Request("f");
  // Runner 0: one idle container and no free memory. The others: room.
  SetCapacities({WithIdle(Snap(512, 512, 128), request.slot_hash_id, 1), Snap(1024, 0, 0),
                 Snap(1024, 0, 0)});
  runner(0).Queue({EngageScript::kHeldEcho});
  CapacityPlacer placer(*pool_, Options());
  PlacementResult first;
  DiscardSink first_sink;

  std::thread held([&] { first = placer.Place(request, first_sink, Deadline()); });
  if (!runner(0).WaitForCalls(1, absl::Seconds(10))) {
    ADD_FAILURE() << "the first call never reached runner 0";
    runner(0).Release();
    held.join();  // never leave a joinable thread behind (std::terminate)
    return;
  }
  // Runner 0's snapshot still shows the idle container the first call is using.
  PlacementResult second = placer.Place(request, sink_, Deadline());
  runner(0).Release();
  held.join();

  EXPECT_EQ(first.runner, runner(0).address());
  EXPECT_EQ(first.tier, "warm");
  EXPECT_NE(second.runner, runner(0).address());
  EXPECT_EQ(second.tier, "room");
}

TEST_F(CapacityPlacerTest, AWarmContainerIsFreeAgainOnceItsCallEnded) {
  const CallRequest request = Request("f");
  SetCapacities({WithIdle(Snap(512, 512, 128), request.slot_hash_id, 1), Snap(1024, 0, 0),
                 Snap(1024, 0, 0)});
  CapacityPlacer placer(*pool_, Options());

  PlacementResult first = placer.Place(request, sink_, Deadline());
  PlacementResult second = placer.Place(request, sink_, Deadline());

  EXPECT_EQ(first.tier, "warm");
  EXPECT_EQ(second.runner, runner(0).address());
  EXPECT_EQ(second.tier, "warm");
}

TEST_F(CapacityPlacerTest, DrainingAndDownRunnersAreAvoided) {
  capacity::CapacitySnapshot draining = Snap(1024, 0, 0);
  draining.set_draining(true);
  SetCapacities({draining, Snap(1024, 0, 0), Snap(1024, 0, 0)});
  pool_->ReportUnavailable(runner(1).address());
  CapacityPlacer placer(*pool_, Options());

  PlacementResult result = placer.Place(Request("f"), sink_, Deadline());

  EXPECT_EQ(result.runner, runner(2).address());
}

// Queue tier: the fake reports 500 ms executions and 10 s cold starts, so a call waits for a
// busy container (expected 500 ms) rather than start one, for at most 2 x 500 + 50 ms.
class CapacityPlacerQueueTest : public CapacityPlacerTest {
 protected:
  // Teaches the placer the function's times with one cold call, then shows runner 0 with one
  // busy container of the slot and room everywhere.
  void LearnAndMakeRunnerZeroBusy(const CallRequest& request, CapacityPlacer& placer) {
    SetCapacities({Snap(1024, 0, 0), Snap(1024, 0, 0), Snap(1024, 0, 0)});
    for (auto& r : runners_) r->Queue({EngageScript::kColdEcho});
    ASSERT_THAT(placer.Place(request, sink_, Deadline()).status, IsOk());
    SetCapacities({WithIdle(Snap(1024, 128, 0), request.slot_hash_id, 0, /*busy=*/1),
                   Snap(1024, 0, 0), Snap(1024, 0, 0)});
  }
};

TEST_F(CapacityPlacerQueueTest, WaitsForABusyContainerRatherThanStartOne) {
  const CallRequest request = Request("f");
  CapacityPlacerOptions options = Options();
  options.budget = absl::Seconds(20);
  CapacityPlacer placer(*pool_, options);
  LearnAndMakeRunnerZeroBusy(request, placer);
  PlacementResult result;

  std::thread call([&] { result = placer.Place(request, sink_, Deadline()); });
  runner(0).SetCapacity(WithIdle(Snap(1024, 128, 128), request.slot_hash_id, 1));
  call.join();

  EXPECT_THAT(result.status, IsOk());
  EXPECT_EQ(result.runner, runner(0).address());
  EXPECT_EQ(result.tier, "warm");
  EXPECT_EQ(result.attempts, 1);
}

TEST_F(CapacityPlacerQueueTest, StartsAContainerWhenTheWaitRunsOut) {
  const CallRequest request = Request("f");
  CapacityPlacerOptions options = Options();
  options.budget = absl::Seconds(20);
  CapacityPlacer placer(*pool_, options);
  LearnAndMakeRunnerZeroBusy(request, placer);

  PlacementResult result = placer.Place(request, sink_, Deadline());

  EXPECT_THAT(result.status, IsOk());
  EXPECT_EQ(result.tier, "room");
  EXPECT_GE(result.placer_latency, absl::Milliseconds(1050));
}

TEST_F(CapacityPlacerQueueTest, DoesNotWaitWhenDisabled) {
  const CallRequest request = Request("f");
  CapacityPlacerOptions options = Options();
  options.budget = absl::Seconds(20);
  options.queue_for_warm = false;
  CapacityPlacer placer(*pool_, options);
  LearnAndMakeRunnerZeroBusy(request, placer);

  PlacementResult result = placer.Place(request, sink_, Deadline());

  EXPECT_EQ(result.tier, "room");
  EXPECT_LT(result.placer_latency, absl::Milliseconds(500));
}

class CapacityPlacerStockRunnersTest : public CapacityPlacerTest {
 protected:
  CapacityPlacerStockRunnersTest() : CapacityPlacerTest(/*capacity_service=*/false) {}
};

TEST_F(CapacityPlacerStockRunnersTest, RunnersWithoutCapacityDataAreProbed) {
  pool_->Tick();  // watches fail with UNIMPLEMENTED
  CapacityPlacer placer(*pool_, Options());

  PlacementResult result = placer.Place(Request("f"), sink_, Deadline());

  EXPECT_THAT(result.status, IsOk());
  EXPECT_EQ(result.tier, "probe");
}

TEST_F(CapacityPlacerStockRunnersTest, NackingRunnersAreProbedInBoundedRoundsNotHammered) {
  for (auto& r : runners_) r->SetDefault(EngageScript::kNackFinished);
  CapacityPlacer placer(*pool_, Options());
  FakeClock clock(AtNanos(2));
  auto naive = MakeNaivePlacer(*pool_, clock, Fast());

  PlacementResult capacity = placer.Place(Request("f"), sink_, Deadline());
  PlacementResult fn = naive->Place(Request("f"), sink_, Deadline());

  EXPECT_THAT(capacity.status, StatusIs(absl::StatusCode::kResourceExhausted));
  // Rounds of at most 3 attempts with pauses of 10-20, 20-40, 40-80, 80-160 ms... in 300 ms.
  EXPECT_LE(capacity.attempts, 18);
  EXPECT_GT(fn.attempts, capacity.attempts);
}

}  // namespace
}  // namespace fnrunner
