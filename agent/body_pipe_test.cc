#include "agent/body_pipe.h"

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

}  // namespace
}  // namespace fnrunner
