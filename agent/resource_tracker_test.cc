#include "agent/resource_tracker.h"

#include <cstdint>
#include <thread>
#include <utility>

#include "absl/status/status.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace fnrunner {
namespace {

constexpr uint64_t kMb = kBytesPerMb;
constexpr Resources kTotal{.memory_bytes = 1024 * kMb, .milli_cpus = 2000};

Resources Mem(uint64_t bytes, uint64_t milli_cpus = 0) {
  return Resources{.memory_bytes = bytes, .milli_cpus = milli_cpus};
}

ResourceReservation MustReserve(ResourceTracker& tracker, const Resources& request) {
  ReserveResult result = tracker.TryReserve(request);
  EXPECT_TRUE(result.reservation.has_value());
  return result.reservation ? std::move(*result.reservation) : ResourceReservation();
}

// Returns once `n` Reserve() calls are blocked in `tracker`. Spins on the snapshot (no sleep):
// the tracker offers no other way to observe a waiter, and the spin is bounded.
void AwaitWaiters(const ResourceTracker& tracker, int n) {
  const absl::Time give_up = absl::Now() + absl::Seconds(30);
  while (tracker.Snapshot().waiters < n) {
    ASSERT_LT(absl::Now(), give_up) << "no Reserve() started waiting";
    std::this_thread::yield();
  }
}

TEST(ResourceTrackerTest, IsPossibleComparesWithTotals) {
  ResourceTracker tracker(kTotal);

  EXPECT_TRUE(tracker.IsPossible(Mem(0)));
  EXPECT_TRUE(tracker.IsPossible(Mem(1024 * kMb, 2000)));
  EXPECT_FALSE(tracker.IsPossible(Mem(1024 * kMb + 1)));
  EXPECT_FALSE(tracker.IsPossible(Mem(0, 2001)));
  EXPECT_FALSE(tracker.IsPossible(Mem(UINT64_MAX)));
}

TEST(ResourceTrackerTest, IsPossibleIgnoresWhatIsReserved) {
  ResourceTracker tracker(kTotal);
  ResourceReservation all = MustReserve(tracker, kTotal);

  EXPECT_TRUE(tracker.IsPossible(kTotal));
}

TEST(ResourceTrackerTest, TryReserveHoldsWhatFits) {
  ResourceTracker tracker(kTotal);

  ReserveResult result = tracker.TryReserve(Mem(128 * kMb, 250));

  ASSERT_TRUE(result.reservation.has_value());
  EXPECT_TRUE(result.reservation->held());
  EXPECT_EQ(result.reservation->amount(), Mem(128 * kMb, 250));
  EXPECT_EQ(result.shortfall, Mem(0));
  EXPECT_EQ(tracker.Snapshot().used, Mem(128 * kMb, 250));
}

TEST(ResourceTrackerTest, TryReserveCanTakeEverything) {
  ResourceTracker tracker(kTotal);

  EXPECT_TRUE(tracker.TryReserve(kTotal).reservation.has_value());
}

TEST(ResourceTrackerTest, ShortfallIsExactToTheByte) {
  ResourceTracker tracker(kTotal);
  ResourceReservation most = MustReserve(tracker, Mem(1024 * kMb - 1));

  ReserveResult result = tracker.TryReserve(Mem(2));

  EXPECT_FALSE(result.reservation.has_value());
  EXPECT_EQ(result.shortfall, Mem(1));  // fn rounded this down to "need 0 MB"
}

TEST(ResourceTrackerTest, ShortfallCountsOnlyWhatIsMissing) {
  ResourceTracker tracker(kTotal);
  ResourceReservation cpu = MustReserve(tracker, Mem(0, 1500));

  ReserveResult result = tracker.TryReserve(Mem(512 * kMb, 750));

  EXPECT_FALSE(result.reservation.has_value());
  EXPECT_EQ(result.shortfall, Mem(0, 250));
}

TEST(ResourceTrackerTest, ShortfallReservesNothing) {
  ResourceTracker tracker(kTotal);
  ResourceReservation half = MustReserve(tracker, Mem(512 * kMb));

  ReserveResult result = tracker.TryReserve(Mem(768 * kMb));

  EXPECT_EQ(result.shortfall, Mem(256 * kMb));
  EXPECT_EQ(tracker.Snapshot().used, Mem(512 * kMb));
}

TEST(ResourceTrackerTest, ImpossibleRequestFallsShortByMoreThanIsReserved) {
  ResourceTracker tracker(kTotal);
  ResourceReservation some = MustReserve(tracker, Mem(100 * kMb));

  ReserveResult result = tracker.TryReserve(Mem(2048 * kMb));

  EXPECT_EQ(result.shortfall, Mem(1124 * kMb));
}

TEST(ResourceTrackerTest, ZeroRequestAlwaysFits) {
  ResourceTracker tracker(kTotal);
  ResourceReservation all = MustReserve(tracker, kTotal);

  EXPECT_TRUE(tracker.TryReserve(Mem(0)).reservation.has_value());
}

TEST(ResourceTrackerTest, ReleaseReturnsTheResources) {
  ResourceTracker tracker(kTotal);
  ResourceReservation reservation = MustReserve(tracker, Mem(256 * kMb, 500));

  reservation.Release();

  EXPECT_FALSE(reservation.held());
  EXPECT_EQ(reservation.amount(), Mem(0));
  EXPECT_EQ(tracker.Snapshot().used, Mem(0));
}

TEST(ResourceTrackerTest, ReleaseIsIdempotent) {
  ResourceTracker tracker(kTotal);
  ResourceReservation first = MustReserve(tracker, Mem(256 * kMb));
  ResourceReservation second = MustReserve(tracker, Mem(128 * kMb));

  first.Release();
  first.Release();

  EXPECT_EQ(tracker.Snapshot().used, Mem(128 * kMb));
}

TEST(ResourceTrackerTest, DestructorReleases) {
  ResourceTracker tracker(kTotal);
  { ResourceReservation reservation = MustReserve(tracker, Mem(256 * kMb)); }

  EXPECT_EQ(tracker.Snapshot().used, Mem(0));
}

TEST(ResourceTrackerTest, MoveTransfersTheHold) {
  ResourceTracker tracker(kTotal);
  ResourceReservation original = MustReserve(tracker, Mem(256 * kMb));

  ResourceReservation moved(std::move(original));
  original.Release();  // holds nothing any more: must not return anything

  EXPECT_FALSE(original.held());  // NOLINT(bugprone-use-after-move): testing moved-from state
  EXPECT_TRUE(moved.held());
  EXPECT_EQ(tracker.Snapshot().used, Mem(256 * kMb));
}

TEST(ResourceTrackerTest, MoveAssignmentReleasesTheOldHold) {
  ResourceTracker tracker(kTotal);
  ResourceReservation target = MustReserve(tracker, Mem(256 * kMb));
  ResourceReservation source = MustReserve(tracker, Mem(128 * kMb));

  target = std::move(source);

  EXPECT_EQ(target.amount(), Mem(128 * kMb));
  EXPECT_EQ(tracker.Snapshot().used, Mem(128 * kMb));
}

TEST(ResourceTrackerTest, SnapshotReportsTotalUsedAndFree) {
  ResourceTracker tracker(kTotal);
  ResourceReservation reservation = MustReserve(tracker, Mem(256 * kMb, 500));

  ResourceSnapshot snapshot = tracker.Snapshot();

  EXPECT_EQ(snapshot.total, kTotal);
  EXPECT_EQ(snapshot.used, Mem(256 * kMb, 500));
  EXPECT_EQ(snapshot.free, Mem(768 * kMb, 1500));
  EXPECT_EQ(snapshot.waiters, 0);
}

TEST(ResourceTrackerTest, ReserveReturnsAtOnceWhenItFits) {
  ResourceTracker tracker(kTotal);

  // A deadline already passed still succeeds when nothing needs waiting for.
  absl::StatusOr<ResourceReservation> reservation =
      tracker.Reserve(Mem(256 * kMb), absl::InfinitePast());

  ASSERT_THAT(reservation, IsOk());
  EXPECT_EQ(tracker.Snapshot().used, Mem(256 * kMb));
}

TEST(ResourceTrackerTest, ReserveAtDeadlineIsResourceExhausted) {
  ResourceTracker tracker(kTotal);
  ResourceReservation all = MustReserve(tracker, kTotal);

  EXPECT_THAT(tracker.Reserve(Mem(1), absl::InfinitePast()),
              StatusIs(absl::StatusCode::kResourceExhausted));
  EXPECT_EQ(tracker.Snapshot().waiters, 0);
}

TEST(ResourceTrackerTest, ReserveOfTheImpossibleFailsAtOnce) {
  ResourceTracker tracker(kTotal);

  EXPECT_THAT(tracker.Reserve(Mem(2048 * kMb), absl::InfiniteFuture()),
              StatusIs(absl::StatusCode::kFailedPrecondition));
}

TEST(ResourceTrackerTest, ReleaseWakesABlockedReserve) {
  ResourceTracker tracker(kTotal);
  ResourceReservation all = MustReserve(tracker, kTotal);
  absl::StatusOr<ResourceReservation> got;
  std::thread waiter(
      [&] { got = tracker.Reserve(Mem(512 * kMb), absl::Now() + absl::Seconds(60)); });
  AwaitWaiters(tracker, 1);

  all.Release();
  waiter.join();

  ASSERT_THAT(got, IsOk());
  EXPECT_EQ(tracker.Snapshot().used, Mem(512 * kMb));
}

TEST(ResourceTrackerTest, ReleaseWakesEveryWaiterThatNowFits) {
  ResourceTracker tracker(kTotal);
  ResourceReservation all = MustReserve(tracker, kTotal);
  absl::StatusOr<ResourceReservation> got_a, got_b;
  const absl::Time deadline = absl::Now() + absl::Seconds(60);
  std::thread a([&] { got_a = tracker.Reserve(Mem(512 * kMb, 1000), deadline); });
  std::thread b([&] { got_b = tracker.Reserve(Mem(512 * kMb, 1000), deadline); });
  AwaitWaiters(tracker, 2);

  all.Release();
  a.join();
  b.join();

  EXPECT_THAT(got_a, IsOk());
  EXPECT_THAT(got_b, IsOk());
  EXPECT_EQ(tracker.Snapshot().used, kTotal);
}

TEST(ResourceTrackerTest, WaiterKeepsWaitingUntilItsWholeRequestFits) {
  ResourceTracker tracker(kTotal);
  ResourceReservation small = MustReserve(tracker, Mem(128 * kMb));
  ResourceReservation rest = MustReserve(tracker, Mem(896 * kMb));
  absl::StatusOr<ResourceReservation> got;
  std::thread waiter(
      [&] { got = tracker.Reserve(Mem(512 * kMb), absl::Now() + absl::Seconds(60)); });
  AwaitWaiters(tracker, 1);

  small.Release();  // 128 MB free: not enough

  EXPECT_EQ(tracker.Snapshot().waiters, 1);
  EXPECT_EQ(tracker.Snapshot().used, Mem(896 * kMb));
  rest.Release();
  waiter.join();
  EXPECT_THAT(got, IsOk());
}

TEST(ResourceTrackerTest, TryReserveAnswersWithinAMillisecond) {
  ResourceTracker tracker(kTotal);
  ResourceReservation all = MustReserve(tracker, kTotal);
  constexpr int kRounds = 10'000;

  const absl::Time start = absl::Now();
  for (int i = 0; i < kRounds; ++i) {
    ReserveResult result = tracker.TryReserve(Mem(kMb));
    ASSERT_FALSE(result.reservation.has_value());
  }
  const absl::Duration per_call = (absl::Now() - start) / kRounds;

  EXPECT_LT(per_call, absl::Milliseconds(1));
}

}  // namespace
}  // namespace fnrunner
