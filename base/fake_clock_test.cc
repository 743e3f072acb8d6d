#include "base/fake_clock.h"

#include "absl/time/clock.h"

#include "gtest/gtest.h"

namespace fnrunner {
namespace {

TEST(FakeClockTest, MovesOnlyWhenAdvanced) {
  FakeClock clock;
  const absl::Time start = clock.Now();

  EXPECT_EQ(clock.Now(), start);
  clock.Advance(absl::Milliseconds(1500));

  EXPECT_EQ(clock.Now() - start, absl::Milliseconds(1500));
}

TEST(ClockTest, RealClockFollowsAbslNow) {
  const absl::Time before = absl::Now();
  const absl::Time now = Clock::Real().Now();

  EXPECT_GE(now, before);
  EXPECT_LE(now - before, absl::Seconds(5));
}

}  // namespace
}  // namespace fnrunner
