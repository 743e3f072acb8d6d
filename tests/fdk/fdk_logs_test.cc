// Log behaviours of fn-test/fdk: per-call lines (Fn-Test-Log-*) and startup output
// (FDK_TEST_STARTUP_LOG_LINES, FDK_TEST_FLOOD_STDOUT), read back with `docker logs`.

#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/fdk/fdk_fixture.h"
#include "tests/testing/status_matchers.h"

namespace fnrunner {
namespace {

using ::testing::HasSubstr;

TEST_F(FdkFunctionTest, LogLinesGoToStdoutByDefault) {
  ASSERT_THAT(StartFunction(), IsOk());

  absl::StatusOr<HttpResponse> response =
      Call({{"Fn-Test-Log-Lines", "3"}, {"Fn-Call-Id", "call-1"}}, "x");

  ASSERT_THAT(response, IsOk());
  EXPECT_EQ(response->status, 200);
  absl::StatusOr<DockerOutput> logs = WaitForLogs(
      [](const DockerOutput& logs) { return absl::StrContains(logs.out, "line 2 call-1\n"); });
  ASSERT_THAT(logs, IsOk());
  EXPECT_EQ(logs->out, "line 0 call-1\nline 1 call-1\nline 2 call-1\n");
  EXPECT_EQ(logs->err, "");
}

TEST_F(FdkFunctionTest, LogLinesGoToStderrWhenAsked) {
  ASSERT_THAT(StartFunction(), IsOk());

  absl::StatusOr<HttpResponse> response = Call(
      {{"Fn-Test-Log-Lines", "2"}, {"Fn-Test-Log-Stream", "stderr"}, {"Fn-Call-Id", "call-2"}});

  ASSERT_THAT(response, IsOk());
  absl::StatusOr<DockerOutput> logs = WaitForLogs(
      [](const DockerOutput& logs) { return absl::StrContains(logs.err, "line 1 call-2\n"); });
  ASSERT_THAT(logs, IsOk());
  EXPECT_EQ(logs->err, "line 0 call-2\nline 1 call-2\n");
  EXPECT_EQ(logs->out, "");
}

TEST_F(FdkFunctionTest, LogLinesAlternateStreamsWithBoth) {
  ASSERT_THAT(StartFunction(), IsOk());

  absl::StatusOr<HttpResponse> response =
      Call({{"Fn-Test-Log-Lines", "5"}, {"Fn-Test-Log-Stream", "both"}, {"Fn-Call-Id", "call-3"}});

  ASSERT_THAT(response, IsOk());
  absl::StatusOr<DockerOutput> logs = WaitForLogs([](const DockerOutput& logs) {
    return absl::StrContains(logs.out, "out line 4 call-3\n") &&
           absl::StrContains(logs.err, "err line 3 call-3\n");
  });
  ASSERT_THAT(logs, IsOk());
  EXPECT_EQ(logs->out, "out line 0 call-3\nout line 2 call-3\nout line 4 call-3\n");
  EXPECT_EQ(logs->err, "err line 1 call-3\nerr line 3 call-3\n");
}

TEST_F(FdkFunctionTest, LogLineBytesPadsEachLine) {
  ASSERT_THAT(StartFunction(), IsOk());
  constexpr size_t kLineBytes = 1 << 20;

  absl::StatusOr<HttpResponse> response = Call({{"Fn-Test-Log-Lines", "2"},
                                                {"Fn-Test-Log-Line-Bytes", "1048576"},
                                                {"Fn-Call-Id", "call-4"}});

  ASSERT_THAT(response, IsOk());
  absl::StatusOr<DockerOutput> logs =
      WaitForLogs([](const DockerOutput& logs) { return logs.out.size() >= 2 * (kLineBytes + 1); });
  ASSERT_THAT(logs, IsOk());
  std::vector<std::string> lines = absl::StrSplit(logs->out, '\n');
  ASSERT_EQ(lines.size(), 3u);  // Two lines and the empty rest after the last newline.
  for (int i = 0; i < 2; ++i) {
    std::string prefix = absl::StrCat("line ", i, " call-4");
    EXPECT_EQ(lines[i].size(), kLineBytes);
    EXPECT_TRUE(absl::StartsWith(lines[i], prefix + "...")) << lines[i].substr(0, 40);
    EXPECT_EQ(lines[i].find_first_not_of('.', prefix.size()), std::string::npos);
  }
  EXPECT_EQ(lines[2], "");
}

TEST_F(FdkFunctionTest, StartupLogLinesGoToBothStreams) {
  ASSERT_THAT(StartFunction({"FDK_TEST_STARTUP_LOG_LINES=3"}), IsOk());

  // The lines precede the socket, but docker copies them to its log asynchronously.
  absl::StatusOr<DockerOutput> logs = WaitForLogs([](const DockerOutput& logs) {
    return absl::StrContains(logs.out, "startup 2\n") && absl::StrContains(logs.err, "startup 2\n");
  });

  ASSERT_THAT(logs, IsOk());
  EXPECT_EQ(logs->out, "startup 0\nstartup 1\nstartup 2\n");
  EXPECT_EQ(logs->err, "startup 0\nstartup 1\nstartup 2\n");
}

TEST_F(FdkFunctionTest, FloodStdoutKeepsServingCalls) {
  // Rotate the json log at 1 MiB: the flood would otherwise fill the disk while we look.
  ASSERT_THAT(StartFunction({"FDK_TEST_FLOOD_STDOUT=1"},
                            {"--log-opt", "max-size=1m", "--log-opt", "max-file=1"}),
              IsOk());

  absl::StatusOr<HttpResponse> response = Call({}, "through the flood");
  absl::StatusOr<DockerOutput> tail =
      ExecDocker({"logs", "--tail", "2", container().id()}, kCallTimeout);

  ASSERT_THAT(response, IsOk());
  EXPECT_EQ(response->body, "through the flood");
  ASSERT_THAT(tail, IsOk());
  EXPECT_THAT(tail->out, HasSubstr("flood flood"));
}

}  // namespace
}  // namespace fnrunner
