#include "lb-client/capacity_ranking.h"

#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace fnrunner {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

constexpr int64_t kMiB = int64_t{1} << 20;
constexpr char kSlot[] = "aaaa";

// A runner with `total` MiB, `reserved` of them reserved and `evictable` of those evictable.
capacity::CapacitySnapshot Snap(int64_t total, int64_t reserved, int64_t evictable) {
  capacity::CapacitySnapshot s;
  s.set_seq(1);
  s.set_memory_total_bytes(total * kMiB);
  s.set_memory_reserved_bytes(reserved * kMiB);
  s.set_memory_evictable_bytes(evictable * kMiB);
  return s;
}

void AddSlot(capacity::CapacitySnapshot& s, const std::string& key, int idle, int paused,
             int busy) {
  capacity::SlotCapacity* slot = s.add_slots();
  slot->set_slot_key(key);
  slot->set_idle(idle);
  slot->set_paused(paused);
  slot->set_busy(busy);
}

CallNeeds Needs(int64_t memory_mib = 128) {
  return CallNeeds{.slot_key = kSlot, .memory_bytes = memory_mib * kMiB};
}

struct Fleet {
  std::vector<std::string> addresses;
  std::vector<capacity::CapacitySnapshot> snapshots;
  std::vector<RunnerView> views;

  // Adds a runner; `snapshot` null means no capacity data.
  RunnerView& Add(const std::string& address, const capacity::CapacitySnapshot* snapshot) {
    addresses.push_back(address);
    snapshots.push_back(snapshot != nullptr ? *snapshot : capacity::CapacitySnapshot());
    RunnerView view;
    view.snapshot = snapshot != nullptr ? &snapshots.back() : nullptr;
    views.push_back(view);
    return views.back();
  }
  // Fixes the pointers once all runners are added (vectors may have moved).
  std::vector<RunnerView>& Finish() {
    for (size_t i = 0; i < views.size(); ++i) {
      views[i].address = addresses[i];
      if (views[i].snapshot != nullptr) views[i].snapshot = &snapshots[i];
    }
    return views;
  }
};

std::vector<std::string> Order(const Fleet& fleet, const std::vector<Candidate>& ranked) {
  std::vector<std::string> out;
  for (const Candidate& c : ranked) {
    out.push_back(absl::StrCat(fleet.addresses[c.index], ":", TierName(c.tier)));
  }
  return out;
}

TEST(RankRunnersTest, WarmFirstThenRoomThenEvictThenUnknown) {
  Fleet fleet;
  capacity::CapacitySnapshot evict = Snap(512, 512, 256);
  capacity::CapacitySnapshot room = Snap(512, 256, 0);
  capacity::CapacitySnapshot warm = Snap(512, 512, 0);
  AddSlot(warm, kSlot, 0, 1, 3);
  fleet.Add("unknown:1", nullptr);
  fleet.Add("evict:1", &evict);
  fleet.Add("room:1", &room);
  fleet.Add("warm:1", &warm);

  auto ranked = RankRunners(fleet.Finish(), Needs());

  EXPECT_THAT(Order(fleet, ranked),
              ElementsAre("warm:1:warm", "room:1:room", "evict:1:evict", "unknown:1:probe"));
}

TEST(RankRunnersTest, ASpareIsAWarmContainer) {
  Fleet fleet;
  capacity::CapacitySnapshot room = Snap(512, 0, 0);
  capacity::CapacitySnapshot spare = Snap(512, 384, 128);
  AddSlot(spare, kSlot, 0, 0, 2);
  spare.mutable_slots(0)->set_spares(1);
  fleet.Add("room:1", &room);
  fleet.Add("spare:1", &spare);

  auto ranked = RankRunners(fleet.Finish(), Needs());

  EXPECT_THAT(Order(fleet, ranked), ElementsAre("spare:1:warm", "room:1:room"));
}

TEST(RankRunnersTest, NeverOffersAFullRunner) {
  Fleet fleet;
  capacity::CapacitySnapshot full = Snap(512, 512, 64);  // 64 MiB evictable < 128 needed
  AddSlot(full, kSlot, 0, 0, 4);
  capacity::CapacitySnapshot other_slot_idle = Snap(512, 512, 0);
  AddSlot(other_slot_idle, "bbbb", 2, 0, 0);
  fleet.Add("full:1", &full);
  fleet.Add("full:2", &other_slot_idle);

  EXPECT_THAT(RankRunners(fleet.Finish(), Needs()), IsEmpty());
}

TEST(RankRunnersTest, LeavesOutUnhealthyDrainingAndRefusingRunners) {
  Fleet fleet;
  capacity::CapacitySnapshot room = Snap(512, 0, 0);
  capacity::CapacitySnapshot draining = Snap(512, 0, 0);
  draining.set_draining(true);
  fleet.Add("down:1", &room).healthy = false;
  fleet.Add("draining:1", &draining);
  fleet.Add("refused:1", &room).adjustment.refused_slot = true;
  fleet.Add("down:2", nullptr).healthy = false;
  fleet.Add("ok:1", &room);

  EXPECT_THAT(Order(fleet, RankRunners(fleet.Finish(), Needs())), ElementsAre("ok:1:room"));
}

TEST(RankRunnersTest, ContainersTheLbAlreadyUsedAreNotWarmAnyMore) {
  Fleet fleet;
  capacity::CapacitySnapshot snap = Snap(512, 256, 0);
  AddSlot(snap, kSlot, 1, 1, 0);
  fleet.Add("r:1", &snap).adjustment.warm_taken[kSlot] = 2;

  EXPECT_THAT(Order(fleet, RankRunners(fleet.Finish(), Needs())), ElementsAre("r:1:room"));
}

TEST(RankRunnersTest, MemoryTheLbAlreadyReservedIsNotFree) {
  Fleet fleet;
  capacity::CapacitySnapshot snap = Snap(512, 256, 128);
  RunnerView& view = fleet.Add("r:1", &snap);
  view.adjustment.memory_bytes = 200 * kMiB;  // 56 MiB free, 184 with eviction

  EXPECT_THAT(Order(fleet, RankRunners(fleet.Finish(), Needs())), ElementsAre("r:1:evict"));
}

TEST(RankRunnersTest, WarmPrefersTheRunnerWithMoreOfTheFunctionsContainers) {
  Fleet fleet;
  capacity::CapacitySnapshot few = Snap(1024, 512, 0);
  AddSlot(few, kSlot, 1, 0, 0);
  capacity::CapacitySnapshot many = Snap(1024, 512, 0);
  AddSlot(many, kSlot, 1, 0, 3);
  fleet.Add("few:1", &few);
  fleet.Add("many:1", &many);

  EXPECT_THAT(Order(fleet, RankRunners(fleet.Finish(), Needs())),
              ElementsAre("many:1:warm", "few:1:warm"));
}

TEST(RankRunnersTest, RoomPrefersRunnersThatAlreadyHostTheFunction) {
  for (const char* host : {"a:1", "b:1", "c:1"}) {
    Fleet fleet;
    std::vector<capacity::CapacitySnapshot> snaps(3, Snap(1024, 256, 0));
    const std::vector<std::string> names = {"a:1", "b:1", "c:1"};
    for (size_t i = 0; i < names.size(); ++i) {
      if (names[i] == host) AddSlot(snaps[i], kSlot, 0, 0, 2);  // all busy: no warm container
    }
    for (size_t i = 0; i < names.size(); ++i) fleet.Add(names[i], &snaps[i]);

    auto ranked = RankRunners(fleet.Finish(), Needs());

    ASSERT_EQ(ranked.size(), 3u);
    EXPECT_EQ(fleet.addresses[ranked[0].index], host);
    EXPECT_EQ(ranked[0].tier, Tier::kRoom);
  }
}

TEST(RankRunnersTest, NewFunctionsGetStableRendezvousHomesSpreadOverTheFleet) {
  std::set<std::string> homes;
  for (int f = 0; f < 30; ++f) {
    Fleet fleet;
    capacity::CapacitySnapshot snap = Snap(1024, 0, 0);
    fleet.Add("a:1", &snap);
    fleet.Add("b:1", &snap);
    fleet.Add("c:1", &snap);
    CallNeeds needs = Needs();
    needs.slot_key = absl::StrCat("slot-", f);

    auto first = RankRunners(fleet.Finish(), needs);
    auto again = RankRunners(fleet.views, needs);

    ASSERT_FALSE(first.empty());
    EXPECT_EQ(first[0].index, again[0].index);
    homes.insert(fleet.addresses[first[0].index]);
  }
  EXPECT_EQ(homes.size(), 3u);
}

TEST(RankRunnersTest, EvictPrefersTheRunnerWithMostEvictableMemory) {
  Fleet fleet;
  capacity::CapacitySnapshot little = Snap(512, 512, 128);
  capacity::CapacitySnapshot lots = Snap(512, 512, 384);
  fleet.Add("little:1", &little);
  fleet.Add("lots:1", &lots);

  EXPECT_THAT(Order(fleet, RankRunners(fleet.Finish(), Needs())),
              ElementsAre("lots:1:evict", "little:1:evict"));
}

TEST(RankRunnersTest, CpuMustFitWhenTheCallAsksForIt) {
  Fleet fleet;
  capacity::CapacitySnapshot no_cpu = Snap(1024, 0, 0);
  no_cpu.set_cpu_total_mcpus(1000);
  no_cpu.set_cpu_reserved_mcpus(900);
  capacity::CapacitySnapshot cpu = Snap(1024, 0, 0);
  cpu.set_cpu_total_mcpus(1000);
  fleet.Add("nocpu:1", &no_cpu);
  fleet.Add("cpu:1", &cpu);
  CallNeeds needs = Needs();
  needs.cpu_mcpus = 500;

  EXPECT_THAT(Order(fleet, RankRunners(fleet.Finish(), needs)), ElementsAre("cpu:1:room"));
}

TEST(RankRunnersTest, ACallThatReservesNothingFitsAnyAcceptingRunner) {
  Fleet fleet;
  capacity::CapacitySnapshot full = Snap(512, 512, 0);
  fleet.Add("full:1", &full);

  EXPECT_THAT(Order(fleet, RankRunners(fleet.Finish(), Needs(0))), ElementsAre("full:1:room"));
}

}  // namespace
}  // namespace fnrunner
