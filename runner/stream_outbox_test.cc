#include "runner/stream_outbox.h"

#include <string>
#include <thread>

#include "absl/synchronization/notification.h"
#include "gtest/gtest.h"
#include "proto/runner.pb.h"

namespace fnrunner {
namespace {

RunnerMsg Data(size_t bytes) {
  RunnerMsg msg;
  msg.mutable_data()->set_data(std::string(bytes, 'x'));
  return msg;
}

TEST(StreamOutboxTest, WritesOneAtATimeInOrder) {
  StreamOutbox<RunnerMsg> outbox(1 << 20);

  const RunnerMsg* first = outbox.Push(Data(1));
  const RunnerMsg* second = outbox.Push(Data(2));

  ASSERT_NE(first, nullptr);
  EXPECT_EQ(first->data().data().size(), 1u);
  EXPECT_EQ(second, nullptr);  // A write is in flight.
  StreamOutbox<RunnerMsg>::AfterWrite after = outbox.OnWriteDone(true);
  ASSERT_NE(after.write, nullptr);
  EXPECT_EQ(after.write->data().data().size(), 2u);
  after = outbox.OnWriteDone(true);
  EXPECT_EQ(after.write, nullptr);
  EXPECT_FALSE(after.finish.has_value());
}

TEST(StreamOutboxTest, FinishWaitsForQueuedWrites) {
  StreamOutbox<RunnerMsg> outbox(1 << 20);
  ASSERT_NE(outbox.Push(Data(1)), nullptr);
  outbox.Push(Data(1));

  EXPECT_FALSE(outbox.FinishWhenFlushed(absl::OkStatus()).has_value());
  EXPECT_EQ(outbox.Push(Data(1)), nullptr);  // Dropped: the stream is ending.

  EXPECT_NE(outbox.OnWriteDone(true).write, nullptr);
  StreamOutbox<RunnerMsg>::AfterWrite after = outbox.OnWriteDone(true);
  EXPECT_EQ(after.write, nullptr);
  ASSERT_TRUE(after.finish.has_value());
  EXPECT_TRUE(after.finish->ok());
}

TEST(StreamOutboxTest, FinishesOnceWithTheFirstStatus) {
  StreamOutbox<RunnerMsg> outbox(1 << 20);

  std::optional<absl::Status> first = outbox.FinishWhenFlushed(absl::CancelledError());
  std::optional<absl::Status> second = outbox.FinishWhenFlushed(absl::OkStatus());

  ASSERT_TRUE(first.has_value());
  EXPECT_EQ(first->code(), absl::StatusCode::kCancelled);
  EXPECT_FALSE(second.has_value());
}

TEST(StreamOutboxTest, FinishWaitsForAReadBeingStarted) {
  StreamOutbox<RunnerMsg> outbox(1 << 20);
  ASSERT_TRUE(outbox.BeginStartRead());

  EXPECT_FALSE(outbox.FinishWhenFlushed(absl::OkStatus()).has_value());

  EXPECT_TRUE(outbox.EndStartRead().has_value());
  EXPECT_FALSE(outbox.BeginStartRead());  // Finished: no more reads.
}

TEST(StreamOutboxTest, BrokenStreamDropsQueueAndFinishesAfterTheWrite) {
  StreamOutbox<RunnerMsg> outbox(1 << 20);
  ASSERT_NE(outbox.Push(Data(1)), nullptr);
  outbox.Push(Data(1));

  StreamOutbox<RunnerMsg>::AfterWrite after = outbox.OnWriteDone(false);

  EXPECT_EQ(after.write, nullptr);
  EXPECT_EQ(outbox.queued_bytes(), 0u);
  EXPECT_FALSE(outbox.WaitForRoom());
  EXPECT_TRUE(outbox.FinishWhenFlushed(absl::CancelledError()).has_value());
}

TEST(StreamOutboxTest, WaitForRoomBlocksUntilWritesDrainBelowTheBound) {
  StreamOutbox<RunnerMsg> outbox(100);
  ASSERT_NE(outbox.Push(Data(90)), nullptr);
  outbox.Push(Data(90));
  absl::Notification returned;
  bool room = false;

  std::thread producer([&] {
    room = outbox.WaitForRoom();
    returned.Notify();
  });
  EXPECT_FALSE(returned.WaitForNotificationWithTimeout(absl::Milliseconds(50)));
  outbox.OnWriteDone(true);  // 90 bytes left: under the bound.

  EXPECT_TRUE(returned.WaitForNotificationWithTimeout(absl::Seconds(10)));
  producer.join();
  EXPECT_TRUE(room);
}

TEST(StreamOutboxTest, CloseWakesABlockedProducer) {
  StreamOutbox<RunnerMsg> outbox(10);
  ASSERT_NE(outbox.Push(Data(90)), nullptr);
  bool room = true;

  std::thread producer([&] { room = outbox.WaitForRoom(); });
  outbox.Close();
  producer.join();

  EXPECT_FALSE(room);
  EXPECT_EQ(outbox.Push(Data(1)), nullptr);
}

}  // namespace
}  // namespace fnrunner
