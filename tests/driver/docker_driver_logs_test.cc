// Container output through the driver's log pump: order, stream separation, long lines,
// end of stream, and bounded memory under a flood.
#include <atomic>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "tests/driver/driver_fixture.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/uds_http.h"

namespace fnrunner {
namespace {

using ::testing::Each;
using ::testing::ElementsAreArray;
using ::testing::SizeIs;

class DockerDriverLogsTest : public DockerDriverIntegrationTest {
 protected:
  // POST /call with `headers`; the status code.
  absl::StatusOr<int> Call(const TempDir& iofs, std::vector<HttpHeader> headers) {
    absl::StatusOr<UdsHttpClient> client = UdsHttpClient::Connect(iofs.Join("lsnr.sock"));
    if (!client.ok()) return client.status();
    HttpRequest request;
    request.headers = std::move(headers);
    absl::StatusOr<HttpResponse> response = client->RoundTrip(request, absl::Seconds(30));
    if (!response.ok()) return response.status();
    return response->status;
  }
};

std::vector<std::string> Numbered(const std::string& prefix, int from, int to, int step,
                                  const std::string& suffix = "") {
  std::vector<std::string> out;
  for (int i = from; i < to; i += step) out.push_back(absl::StrCat(prefix, i, suffix));
  return out;
}

TEST_F(DockerDriverLogsTest, StartupLinesArriveInOrderOnBothStreams) {
  const TempDir& iofs = NewIofsDir();
  RecordingLogSink& sink = NewSink();

  absl::StatusOr<ContainerId> id =
      Launch(FdkSpec(iofs, {"FDK_TEST_STARTUP_LOG_LINES=50"}), sink, iofs);

  ASSERT_THAT(id, IsOk());
  ASSERT_TRUE(sink.AwaitLines(100, absl::Seconds(20)));
  EXPECT_THAT(sink.lines(LogStream::kStdout), ElementsAreArray(Numbered("startup ", 0, 50, 1)));
  EXPECT_THAT(sink.lines(LogStream::kStderr), ElementsAreArray(Numbered("startup ", 0, 50, 1)));
}

TEST_F(DockerDriverLogsTest, CallLinesArriveInOrderPerStream) {
  const TempDir& iofs = NewIofsDir();
  RecordingLogSink& sink = NewSink();
  absl::StatusOr<ContainerId> id = Launch(FdkSpec(iofs), sink, iofs);
  ASSERT_THAT(id, IsOk());

  ASSERT_THAT(
      Call(iofs,
           {{"Fn-Call-Id", "c1"}, {"Fn-Test-Log-Lines", "1000"}, {"Fn-Test-Log-Stream", "both"}}),
      IsOkAndHolds(200));

  ASSERT_TRUE(sink.AwaitLines(1000, absl::Seconds(20)));
  EXPECT_THAT(sink.lines(LogStream::kStdout),
              ElementsAreArray(Numbered("out line ", 0, 1000, 2, " c1")));
  EXPECT_THAT(sink.lines(LogStream::kStderr),
              ElementsAreArray(Numbered("err line ", 1, 1000, 2, " c1")));
}

TEST_F(DockerDriverLogsTest, LongLinesArriveInPiecesOfTheLimit) {
  const TempDir& iofs = NewIofsDir();
  RecordingLogSink& sink = NewSink();
  absl::StatusOr<ContainerId> id = Launch(FdkSpec(iofs), sink, iofs);
  ASSERT_THAT(id, IsOk());

  ASSERT_THAT(
      Call(iofs,
           {{"Fn-Call-Id", "c2"}, {"Fn-Test-Log-Lines", "2"}, {"Fn-Test-Log-Line-Bytes", "40000"}}),
      IsOkAndHolds(200));

  ASSERT_TRUE(sink.AwaitLines(6, absl::Seconds(20)));
  std::vector<std::string> lines = sink.lines(LogStream::kStdout);
  ASSERT_THAT(lines, SizeIs(6));
  std::vector<size_t> sizes;
  for (const std::string& l : lines) sizes.push_back(l.size());
  EXPECT_THAT(sizes, ElementsAreArray({16384u, 16384u, 7232u, 16384u, 16384u, 7232u}));
  EXPECT_EQ(lines[0].substr(0, 11), "line 0 c2..");
  EXPECT_EQ(lines[3].substr(0, 11), "line 1 c2..");
}

TEST_F(DockerDriverLogsTest, ExitClosesTheStreamAndWaitReportsTheCode) {
  const TempDir& iofs = NewIofsDir();
  RecordingLogSink& sink = NewSink();
  absl::StatusOr<ContainerId> id = Launch(FdkSpec(iofs), sink, iofs);
  ASSERT_THAT(id, IsOk());

  // The function exits while answering: the call itself fails.
  Call(iofs, {{"Fn-Test-Log-Lines", "3"}, {"Fn-Test-Crash", "exit:7"}}).IgnoreError();

  EXPECT_THAT(driver_->Wait(*id, absl::Seconds(20)),
              IsOkAndHolds(::testing::Field(&ExitInfo::exit_code, 7)));
  ASSERT_TRUE(sink.AwaitClosed(absl::Seconds(20)));
  EXPECT_THAT(sink.lines(LogStream::kStdout), SizeIs(3));
  ASSERT_THAT(driver_->Remove(*id), IsOk());
  EXPECT_EQ(sink.closed_count(), 1);
}

TEST_F(DockerDriverLogsTest, RemoveClosesTheSinkOnceAndNothingFollows) {
  const TempDir& iofs = NewIofsDir();
  RecordingLogSink& sink = NewSink();
  absl::StatusOr<ContainerId> id = Launch(FdkSpec(iofs, {"FDK_TEST_FLOOD_STDOUT=1"}), sink, iofs);
  ASSERT_THAT(id, IsOk());
  ASSERT_TRUE(sink.AwaitLines(10, absl::Seconds(20)));

  ASSERT_THAT(driver_->Remove(*id), IsOk());
  const size_t lines_at_remove = sink.line_count();

  EXPECT_EQ(sink.closed_count(), 1);
  EXPECT_EQ(sink.calls_after_close(), 0);
  EXPECT_EQ(sink.line_count(), lines_at_remove);
  EXPECT_EQ(driver_->LogStreamCount(), 0u);
}

// Counts what it is given and keeps nothing, so the test measures the driver's memory.
class CountingSink : public LogSink {
 public:
  void OnLine(LogStream, absl::string_view line) override {
    lines_.fetch_add(1, std::memory_order_relaxed);
    bytes_.fetch_add(line.size(), std::memory_order_relaxed);
  }
  std::atomic<int64_t> lines_{0};
  std::atomic<int64_t> bytes_{0};
};

TEST_F(DockerDriverLogsTest, FloodingFunctionLeavesRunnerMemoryBounded) {
  const TempDir& iofs = NewIofsDir();
  CountingSink sink;
  ContainerSpec spec = FdkSpec(iofs, {"FDK_TEST_FLOOD_STDOUT=1"});
  absl::StatusOr<ContainerId> id = Launch(spec, sink, iofs);
  ASSERT_THAT(id, IsOk());
  // Let the flood reach its steady state, then measure for a bounded time.
  absl::SleepFor(absl::Seconds(1));
  const int64_t rss_start = ProcessRssBytes();
  const int64_t bytes_start = sink.bytes_.load();
  size_t max_buffered = 0;
  int64_t max_rss = rss_start;
  for (int i = 0; i < 30; ++i) {
    absl::SleepFor(absl::Milliseconds(100));
    max_buffered = std::max(max_buffered, driver_->BufferedLogBytes());
    max_rss = std::max(max_rss, ProcessRssBytes());
  }
  const int64_t flooded = sink.bytes_.load() - bytes_start;
  ASSERT_THAT(driver_->Remove(*id), IsOk());  // before `sink` goes out of scope

  EXPECT_GT(flooded, 10 << 20) << "the function did not flood (3 s)";
  EXPECT_LE(max_buffered, 2u * 16 * 1024);
  EXPECT_LT(max_rss - rss_start, 16 << 20)
      << "RSS grew from " << rss_start << " to " << max_rss << " while " << flooded
      << " bytes of output passed through";
}

}  // namespace
}  // namespace fnrunner
