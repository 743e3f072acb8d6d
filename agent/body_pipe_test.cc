#include "agent/body_pipe.h"

#include <optional>
#include <thread>

#include "absl/synchronization/notification.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace fnrunner {
namespace {

TEST(BodyPipeTest, DeliversChunksInOrderAndAsksForMoreAfterEachButTheLast) {
  int wanted = 0;
  BodyPipe pipe([&] { ++wanted; });
  pipe.Push("ab", false);
  pipe.Push("cd", true);

  absl::StatusOr<BodyPipe::Chunk> first = pipe.Next();
  absl::StatusOr<BodyPipe::Chunk> second = pipe.Next();

  ASSERT_THAT(first, IsOk());
  ASSERT_THAT(second, IsOk());
  EXPECT_EQ(first->data, "ab");
  EXPECT_FALSE(first->last);
  EXPECT_EQ(second->data, "cd");
  EXPECT_TRUE(second->last);
  EXPECT_EQ(wanted, 1);
  EXPECT_THAT(pipe.Next(), StatusIs(absl::StatusCode::kOutOfRange));
}

TEST(BodyPipeTest, PushesAfterTheLastChunkAreDropped) {
  BodyPipe pipe([] {});
  pipe.Push("", true);
  pipe.Push("late", false);

  absl::StatusOr<BodyPipe::Chunk> chunk = pipe.Next();

  ASSERT_THAT(chunk, IsOk());
  EXPECT_TRUE(chunk->last);
  EXPECT_THAT(pipe.Next(), StatusIs(absl::StatusCode::kOutOfRange));
}

TEST(BodyPipeTest, NextBlocksUntilTheProducerPushes) {
  BodyPipe pipe([] {});
  absl::Notification consumer_started;
  absl::StatusOr<BodyPipe::Chunk> got;
  std::thread consumer([&] {
    consumer_started.Notify();
    got = pipe.Next();
  });

  consumer_started.WaitForNotification();
  pipe.Push("x", true);
  consumer.join();

  ASSERT_THAT(got, IsOk());
  EXPECT_EQ(got->data, "x");
}

TEST(BodyPipeTest, AbortWakesABlockedConsumerWithCancelled) {
  BodyPipe pipe([] {});
  absl::Notification consumer_started;
  absl::StatusOr<BodyPipe::Chunk> got;
  std::thread consumer([&] {
    consumer_started.Notify();
    got = pipe.Next();
  });

  consumer_started.WaitForNotification();
  pipe.Abort();
  consumer.join();

  EXPECT_THAT(got, StatusIs(absl::StatusCode::kCancelled));
  EXPECT_FALSE(pipe.Complete());
}

TEST(BodyPipeTest, TryNextNeverBlocksAndAsksForMoreLikeNext) {
  int wanted = 0;
  BodyPipe pipe([&] { ++wanted; });

  EXPECT_FALSE(pipe.TryNext().has_value());
  pipe.Push("ab", false);
  std::optional<absl::StatusOr<BodyPipe::Chunk>> first = pipe.TryNext();
  EXPECT_FALSE(pipe.TryNext().has_value());
  pipe.Push("cd", true);
  std::optional<absl::StatusOr<BodyPipe::Chunk>> second = pipe.TryNext();

  ASSERT_TRUE(first.has_value());
  ASSERT_THAT(*first, IsOk());
  EXPECT_EQ((*first)->data, "ab");
  ASSERT_TRUE(second.has_value());
  ASSERT_THAT(*second, IsOk());
  EXPECT_TRUE((*second)->last);
  EXPECT_EQ(wanted, 1);
  std::optional<absl::StatusOr<BodyPipe::Chunk>> after = pipe.TryNext();
  ASSERT_TRUE(after.has_value());
  EXPECT_THAT(*after, StatusIs(absl::StatusCode::kOutOfRange));
}

TEST(BodyPipeTest, WakerRunsOnPushAndAbortUntilUnregistered) {
  BodyPipe pipe([] {});
  int wakes = 0;
  pipe.SetWaker([&] { ++wakes; });

  pipe.Push("a", false);
  pipe.Abort();
  pipe.SetWaker(nullptr);
  pipe.Abort();

  EXPECT_EQ(wakes, 2);
  std::optional<absl::StatusOr<BodyPipe::Chunk>> aborted = pipe.TryNext();
  ASSERT_TRUE(aborted.has_value());
  EXPECT_THAT(*aborted, StatusIs(absl::StatusCode::kCancelled));
}

TEST(BodyPipeTest, WhenReadyRunsAtOnceIfAChunkIsWaiting) {
  BodyPipe pipe([] {});
  pipe.Push("a", true);
  int runs = 0;

  pipe.WhenReady([&] { ++runs; });

  EXPECT_EQ(runs, 1);
}

TEST(BodyPipeTest, WhenReadyRunsOnceWithTheFirstPush) {
  BodyPipe pipe([] {});
  int runs = 0;
  pipe.WhenReady([&] { ++runs; });
  EXPECT_EQ(runs, 0);

  pipe.Push("a", false);
  pipe.Push("b", true);

  EXPECT_EQ(runs, 1);
}

TEST(BodyPipeTest, WhenReadyRunsOnAbortAndMayUseThePipe) {
  BodyPipe pipe([] {});
  std::optional<absl::StatusOr<BodyPipe::Chunk>> seen;
  // It runs outside the pipe's lock: taking from the pipe in it must not deadlock.
  pipe.WhenReady([&] { seen = pipe.TryNext(); });

  pipe.Abort();

  ASSERT_TRUE(seen.has_value());
  EXPECT_THAT(*seen, StatusIs(absl::StatusCode::kCancelled));
}

}  // namespace
}  // namespace fnrunner
