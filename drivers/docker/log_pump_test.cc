#include "drivers/docker/log_pump.h"

#include <poll.h>
#include <sys/socket.h>

#include <string>
#include <thread>

#include "absl/synchronization/notification.h"
#include "drivers/recording_log_sink.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/poll.h"
#include "tests/testing/status_matchers.h"

namespace fnrunner {
namespace {

using ::testing::ElementsAre;

std::string Frame(int stream, const std::string& payload) {
  std::string out(8, '\0');
  out[0] = static_cast<char>(stream);
  const uint32_t n = static_cast<uint32_t>(payload.size());
  out[4] = static_cast<char>(n >> 24);
  out[5] = static_cast<char>(n >> 16);
  out[6] = static_cast<char>(n >> 8);
  out[7] = static_cast<char>(n);
  return out + payload;
}

// A connected pair: the pump reads `pump_end`, the test plays the engine on `engine`.
struct Pipe {
  UniqueFd engine;
  AttachConnection connection;
};

Pipe MakePipe(std::string initial = "") {
  int fds[2];
  EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds), 0);
  return Pipe{UniqueFd(fds[0]), AttachConnection{UniqueFd(fds[1]), std::move(initial)}};
}

void Write(const UniqueFd& fd, const std::string& bytes) {
  ASSERT_EQ(::send(fd.get(), bytes.data(), bytes.size(), MSG_NOSIGNAL),
            static_cast<ssize_t>(bytes.size()));
}

std::unique_ptr<LogPump> NewPump(size_t max_line = 1024) {
  absl::StatusOr<std::unique_ptr<LogPump>> pump = LogPump::Create(max_line);
  EXPECT_THAT(pump, IsOk());
  return pump.ok() ? *std::move(pump) : nullptr;
}

TEST(LogPumpTest, DeliversLinesInOrderAndClosesOnEof) {
  auto pump = NewPump();
  RecordingLogSink sink;
  Pipe pipe = MakePipe(Frame(1, "first\n"));
  ASSERT_THAT(pump->Add(ContainerId{"c1"}, std::move(pipe.connection), sink), IsOk());

  Write(pipe.engine, Frame(1, "second\nthi") + Frame(2, "oops\n") + Frame(1, "rd\n"));
  pipe.engine.Reset();

  ASSERT_TRUE(sink.AwaitClosed(absl::Seconds(10)));
  EXPECT_THAT(sink.lines(LogStream::kStdout), ElementsAre("first", "second", "third"));
  EXPECT_THAT(sink.lines(LogStream::kStderr), ElementsAre("oops"));
  EXPECT_EQ(sink.closed_count(), 1);
  // The pump forgets the stream right after OnClosed(), its last sink call.
  EXPECT_THAT(PollUntil([&] { return pump->StreamCount() == 0; }, absl::Seconds(10),
                        "the stream to be forgotten"),
              IsOk());
}

TEST(LogPumpTest, RemoveDeliversOnClosedOnceAndNothingAfter) {
  auto pump = NewPump();
  RecordingLogSink sink;
  Pipe pipe = MakePipe();
  ASSERT_THAT(pump->Add(ContainerId{"c1"}, std::move(pipe.connection), sink), IsOk());
  Write(pipe.engine, Frame(1, "line\npartial"));
  ASSERT_TRUE(sink.AwaitLines(1, absl::Seconds(10)));

  ASSERT_THAT(pump->Remove(ContainerId{"c1"}), IsOk());
  // The engine may still write; the connection is closed, so nobody reads it.
  const std::string late = Frame(1, "late\n");
  ::send(pipe.engine.get(), late.data(), late.size(), MSG_NOSIGNAL);
  ASSERT_THAT(pump->Remove(ContainerId{"c1"}), IsOk());

  EXPECT_THAT(sink.lines(LogStream::kStdout), ElementsAre("line", "partial"));
  EXPECT_EQ(sink.closed_count(), 1);
  EXPECT_EQ(sink.calls_after_close(), 0);
}

TEST(LogPumpTest, RemoveOfUnknownStreamIsOk) {
  auto pump = NewPump();

  EXPECT_THAT(pump->Remove(ContainerId{"nope"}), IsOk());
}

TEST(LogPumpTest, SecondAddForSameContainerIsAlreadyExists) {
  auto pump = NewPump();
  RecordingLogSink sink;
  Pipe a = MakePipe();
  Pipe b = MakePipe();
  ASSERT_THAT(pump->Add(ContainerId{"c1"}, std::move(a.connection), sink), IsOk());

  EXPECT_THAT(pump->Add(ContainerId{"c1"}, std::move(b.connection), sink),
              StatusIs(absl::StatusCode::kAlreadyExists));
  ASSERT_THAT(pump->Remove(ContainerId{"c1"}), IsOk());
}

// A sink that calls back into the pump, which the contract forbids.
class ReentrantSink : public LogSink {
 public:
  explicit ReentrantSink(LogPump& pump) : pump_(pump) {}
  void OnLine(LogStream, absl::string_view) override {
    status_ = pump_.Remove(ContainerId{"c1"});
    seen_.Notify();
  }
  absl::Notification seen_;
  absl::Status status_;

 private:
  LogPump& pump_;
};

TEST(LogPumpTest, RemoveFromSinkIsFailedPreconditionNotDeadlock) {
  auto pump = NewPump();
  ReentrantSink sink(*pump);
  Pipe pipe = MakePipe();
  ASSERT_THAT(pump->Add(ContainerId{"c1"}, std::move(pipe.connection), sink), IsOk());

  Write(pipe.engine, Frame(1, "x\n"));

  ASSERT_TRUE(sink.seen_.WaitForNotificationWithTimeout(absl::Seconds(10)));
  EXPECT_THAT(sink.status_, StatusIs(absl::StatusCode::kFailedPrecondition));
  ASSERT_THAT(pump->Remove(ContainerId{"c1"}), IsOk());
}

TEST(LogPumpTest, FloodKeepsBufferedBytesBoundedAndOtherStreamsFlowing) {
  auto pump = NewPump(/*max_line=*/1024);
  RecordingLogSink flood_sink;
  RecordingLogSink quiet_sink;
  Pipe flood = MakePipe();
  Pipe quiet = MakePipe();
  ASSERT_THAT(pump->Add(ContainerId{"flood"}, std::move(flood.connection), flood_sink), IsOk());
  ASSERT_THAT(pump->Add(ContainerId{"quiet"}, std::move(quiet.connection), quiet_sink), IsOk());
  const std::string chunk = Frame(1, std::string(60000, 'f'));  // no newline at all
  std::thread writer([&] {
    for (int i = 0; i < 200; ++i) {
      size_t sent = 0;
      while (sent < chunk.size()) {
        ssize_t n =
            ::send(flood.engine.get(), chunk.data() + sent, chunk.size() - sent, MSG_NOSIGNAL);
        if (n > 0) sent += static_cast<size_t>(n);
        if (n < 0 && errno != EAGAIN) return;
        if (n < 0) {  // socket buffer full until the pump drains it
          pollfd p{flood.engine.get(), POLLOUT, 0};
          ::poll(&p, 1, 1000);
        }
      }
    }
  });

  Write(quiet.engine, Frame(2, "still here\n"));
  EXPECT_TRUE(quiet_sink.AwaitLines(1, absl::Seconds(10)));
  writer.join();
  ASSERT_TRUE(flood_sink.AwaitLines(200 * 60000 / 1024 - 1, absl::Seconds(30)));

  EXPECT_LE(pump->BufferedBytes(), 2u * 1024u);
  ASSERT_THAT(pump->Remove(ContainerId{"flood"}), IsOk());
  ASSERT_THAT(pump->Remove(ContainerId{"quiet"}), IsOk());
  EXPECT_EQ(pump->BufferedBytes(), 0u);
}

TEST(LogPumpTest, DestructionClosesRemainingStreams) {
  RecordingLogSink sink;
  Pipe pipe = MakePipe();
  {
    auto pump = NewPump();
    ASSERT_THAT(pump->Add(ContainerId{"c1"}, std::move(pipe.connection), sink), IsOk());
  }

  EXPECT_EQ(sink.closed_count(), 1);
}

}  // namespace
}  // namespace fnrunner
