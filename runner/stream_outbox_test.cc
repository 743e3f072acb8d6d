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

  StreamOutbox<RunnerMsg>::Write first = outbox.Push(Data(1));
  StreamOutbox<RunnerMsg>::Write second = outbox.Push(Data(2));

  ASSERT_TRUE(first);
  EXPECT_EQ(first.msg->data().data().size(), 1u);
  EXPECT_FALSE(second);             // A write is in flight.
  StreamOutbox<RunnerMsg>::AfterWrite after = outbox.OnWriteDone(true);
  ASSERT_TRUE(after.write);
  EXPECT_EQ(after.write.msg->data().data().size(), 2u);
  after = outbox.OnWriteDone(true);
  EXPECT_FALSE(after.write);
  EXPECT_FALSE(after.finish.has_value());
}

TEST(StreamOutboxTest, TheLastQueuedWriteCarriesTheFinish) {
  StreamOutbox<RunnerMsg> outbox(1 << 20);
  ASSERT_TRUE(outbox.Push(Data(1)));
  outbox.Push(Data(2));

  StreamOutbox<RunnerMsg>::AfterWrite on_end = outbox.FinishWhenFlushed(absl::OkStatus());
  EXPECT_FALSE(outbox.Push(Data(1)));  // Dropped: the stream is ending.
  StreamOutbox<RunnerMsg>::AfterWrite last = outbox.OnWriteDone(true);

  EXPECT_FALSE(on_end.write);  // a write is in flight
  EXPECT_FALSE(on_end.finish.has_value());
  ASSERT_TRUE(last.write);
  EXPECT_EQ(last.write.msg->data().data().size(), 2u);
  ASSERT_TRUE(last.write.finish.has_value());
  EXPECT_TRUE(last.write.finish->ok());
  EXPECT_FALSE(last.finish.has_value());  // no separate Finish()
  EXPECT_FALSE(outbox.FinishWhenFlushed(absl::CancelledError()).write);
}

TEST(StreamOutboxTest, HeldMessagesLeaveWithTheNextPushOrTheFinish) {
  StreamOutbox<RunnerMsg> outbox(1 << 20);

  StreamOutbox<RunnerMsg>::Write held = outbox.Push(Data(1), /*more_follows=*/true);
  StreamOutbox<RunnerMsg>::Write start = outbox.Push(Data(2), /*more_follows=*/true);
  StreamOutbox<RunnerMsg>::AfterWrite on_end = outbox.FinishWhenFlushed(absl::OkStatus());

  EXPECT_FALSE(held);
  EXPECT_FALSE(start);
  ASSERT_TRUE(on_end.write);
  EXPECT_EQ(on_end.write.msg->data().data().size(), 1u);
  EXPECT_FALSE(on_end.write.finish.has_value());
  StreamOutbox<RunnerMsg>::AfterWrite last = outbox.OnWriteDone(true);
  ASSERT_TRUE(last.write);
  EXPECT_EQ(last.write.msg->data().data().size(), 2u);
  EXPECT_TRUE(last.write.finish.has_value());
}

TEST(StreamOutboxTest, FinishWithNothingQueuedIsImmediate) {
  StreamOutbox<RunnerMsg> outbox(1 << 20);

  StreamOutbox<RunnerMsg>::AfterWrite after = outbox.FinishWhenFlushed(absl::OkStatus());

  EXPECT_FALSE(after.write);
  ASSERT_TRUE(after.finish.has_value());
  EXPECT_TRUE(after.finish->ok());
}

TEST(StreamOutboxTest, FinishesOnceWithTheFirstStatus) {
  StreamOutbox<RunnerMsg> outbox(1 << 20);

  std::optional<absl::Status> first = outbox.FinishWhenFlushed(absl::CancelledError()).finish;
  std::optional<absl::Status> second = outbox.FinishWhenFlushed(absl::OkStatus()).finish;

  ASSERT_TRUE(first.has_value());
  EXPECT_EQ(first->code(), absl::StatusCode::kCancelled);
  EXPECT_FALSE(second.has_value());
}

TEST(StreamOutboxTest, FinishWaitsForAReadBeingStarted) {
  StreamOutbox<RunnerMsg> outbox(1 << 20);
  ASSERT_TRUE(outbox.BeginStartRead());

  EXPECT_FALSE(outbox.FinishWhenFlushed(absl::OkStatus()).finish.has_value());

  EXPECT_TRUE(outbox.EndStartRead().has_value());
  EXPECT_FALSE(outbox.BeginStartRead());  // Finished: no more reads.
}

TEST(StreamOutboxTest, BrokenStreamDropsQueueAndFinishesAfterTheWrite) {
  StreamOutbox<RunnerMsg> outbox(1 << 20);
  ASSERT_TRUE(outbox.Push(Data(1)));
  outbox.Push(Data(1));

  StreamOutbox<RunnerMsg>::AfterWrite after = outbox.OnWriteDone(false);

  EXPECT_FALSE(after.write);
  EXPECT_EQ(outbox.queued_bytes(), 0u);
  EXPECT_FALSE(outbox.WaitForRoom());
  EXPECT_TRUE(outbox.FinishWhenFlushed(absl::CancelledError()).finish.has_value());
}

TEST(StreamOutboxTest, WaitForRoomBlocksUntilWritesDrainBelowTheBound) {
  StreamOutbox<RunnerMsg> outbox(100);
  ASSERT_TRUE(outbox.Push(Data(90)));
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
  ASSERT_TRUE(outbox.Push(Data(90)));
  bool room = true;

  std::thread producer([&] { room = outbox.WaitForRoom(); });
  outbox.Close();
  producer.join();

  EXPECT_FALSE(room);
  EXPECT_FALSE(outbox.Push(Data(1)));
}

}  // namespace
}  // namespace fnrunner
