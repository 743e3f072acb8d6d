// Startup behaviours of fn-test/fdk (FN_* and FDK_TEST_* environment, README.md) and the
// fn-test/not-a-function image, checked from the host side of the iofs directory.

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <optional>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/fdk/fdk_fixture.h"
#include "tests/testing/poll.h"
#include "tests/testing/status_matchers.h"

namespace fnrunner {
namespace {

using ::testing::HasSubstr;
using ::testing::IsEmpty;

std::optional<struct stat> Lstat(const std::string& path) {
  struct stat info;
  if (::lstat(path.c_str(), &info) != 0) return std::nullopt;
  return info;
}

std::string ReadLink(const std::string& path) {
  char target[4096];
  ssize_t size = ::readlink(path.c_str(), target, sizeof(target));
  return size < 0 ? "<not a symlink>" : std::string(target, static_cast<size_t>(size));
}

std::vector<std::string> ListDir(const std::string& path) {
  std::vector<std::string> names;
  DIR* dir = ::opendir(path.c_str());
  if (dir == nullptr) return {"<cannot open " + path + ">"};
  while (dirent* entry = ::readdir(dir)) {
    std::string name = entry->d_name;
    if (name != "." && name != "..") names.push_back(name);
  }
  ::closedir(dir);
  return names;
}

TEST_F(FdkFunctionTest, PublishesThePhonySocketWithARelativeSymlink) {
  ASSERT_THAT(StartFunction(), IsOk());

  std::optional<struct stat> phony = Lstat(IofsPath("phonylsnr.sock"));

  EXPECT_EQ(ReadLink(SocketPath()), "phonylsnr.sock");
  ASSERT_TRUE(phony.has_value());
  EXPECT_TRUE(S_ISSOCK(phony->st_mode));
  EXPECT_EQ(phony->st_mode & 0777, 0666u);
}

TEST_F(FdkFunctionTest, DirectBindListensAtTheListenerPath) {
  ASSERT_THAT(StartFunction({"FDK_TEST_DIRECT_BIND=1"}), IsOk());

  std::optional<struct stat> socket = Lstat(SocketPath());
  absl::StatusOr<HttpResponse> response = Call({}, "direct");

  ASSERT_TRUE(socket.has_value());
  EXPECT_TRUE(S_ISSOCK(socket->st_mode));
  EXPECT_EQ(socket->st_mode & 0777, 0666u);
  EXPECT_EQ(Lstat(IofsPath("phonylsnr.sock")), std::nullopt);
  ASSERT_THAT(response, IsOk());
  EXPECT_EQ(response->body, "direct");
}

class HostileSymlinkTest : public FdkFunctionTest,
                           public ::testing::WithParamInterface<std::string> {};

TEST_P(HostileSymlinkTest, LinksWhereToldAndStillListensOnThePhonySocket) {
  ASSERT_THAT(Launch({absl::StrCat("FDK_TEST_HOSTILE_SYMLINK=", GetParam())}), IsOk());

  ASSERT_THAT(
      PollUntil([&] { return Lstat(SocketPath()).has_value(); }, kStartTimeout, "lsnr.sock"),
      IsOk());
  absl::StatusOr<UdsHttpClient> client = UdsHttpClient::Connect(IofsPath("phonylsnr.sock"));
  ASSERT_THAT(client, IsOk());
  HttpRequest request;
  request.body = "phony";
  absl::StatusOr<HttpResponse> response = client->RoundTrip(request, kCallTimeout);

  EXPECT_EQ(ReadLink(SocketPath()), GetParam());
  ASSERT_THAT(response, IsOk());
  EXPECT_EQ(response->body, "phony");
}

INSTANTIATE_TEST_SUITE_P(Targets, HostileSymlinkTest,
                         ::testing::Values("/etc/passwd", "../x", "sub/phonylsnr.sock"));

TEST_F(FdkFunctionTest, SocketDelayPostponesTheSocket) {
  ASSERT_THAT(StartFunction({"FDK_TEST_SOCKET_DELAY_MS=1500"}), IsOk());

  absl::StatusOr<std::string> started_text = container().Inspect("{{.State.StartedAt}}");
  std::optional<struct stat> link = Lstat(SocketPath());

  ASSERT_THAT(started_text, IsOk());
  absl::Time started;
  std::string error;
  ASSERT_TRUE(absl::ParseTime(absl::RFC3339_full, *started_text, &started, &error)) << error;
  ASSERT_TRUE(link.has_value());
  absl::Time linked = absl::TimeFromTimespec(link->st_ctim);
  // Docker records StartedAt a little after the process starts, hence the slack; without the
  // delay the link appears within a few milliseconds of StartedAt.
  EXPECT_GE(linked - started, absl::Milliseconds(1000));
}

TEST_F(FdkFunctionTest, NoSocketNeverListens) {
  ASSERT_THAT(Launch({"FDK_TEST_NO_SOCKET=1"}), IsOk());

  // The function says so after the point where it would have listened.
  absl::StatusOr<DockerOutput> logs = WaitForLogs(
      [](const DockerOutput& logs) { return absl::StrContains(logs.err, "FDK_TEST_NO_SOCKET"); });

  ASSERT_THAT(logs, IsOk());
  EXPECT_THAT(ListDir(IofsPath("")), IsEmpty());
  EXPECT_THAT(container().Inspect("{{.State.Running}}"), IsOkAndHolds("true"));
}

TEST_F(FdkFunctionTest, RefusesAnUnsupportedFnFormat) {
  ASSERT_THAT(Launch({"FN_FORMAT=json"}), IsOk());

  absl::StatusOr<int> exit_code = container().WaitExit(kStartTimeout);
  absl::StatusOr<DockerOutput> logs = container().Logs();

  EXPECT_THAT(exit_code, IsOkAndHolds(2));
  ASSERT_THAT(logs, IsOk());
  EXPECT_THAT(logs->err, HasSubstr("FN_FORMAT=json is not supported"));
  EXPECT_THAT(ListDir(IofsPath("")), IsEmpty());
}

TEST_F(FdkFunctionTest, RefusesAListenerThatIsNotAUnixSocket) {
  ASSERT_THAT(Launch({"FN_LISTENER=tcp://127.0.0.1:8080"}), IsOk());

  EXPECT_THAT(container().WaitExit(kStartTimeout), IsOkAndHolds(2));
  EXPECT_THAT(ListDir(IofsPath("")), IsEmpty());
}

TEST_F(FdkFunctionTest, AcceptsAnEmptyFnFormat) {
  ASSERT_THAT(StartFunction({"FN_FORMAT="}), IsOk());

  absl::StatusOr<HttpResponse> response = Call({}, "empty format");

  ASSERT_THAT(response, IsOk());
  EXPECT_EQ(response->body, "empty format");
}

TEST_F(FdkFunctionTest, NotAFunctionExitsZeroAtOnce) {
  ASSERT_THAT(Launch({}, {}, kNotAFunctionImage), IsOk());

  absl::StatusOr<int> exit_code = container().WaitExit(kStartTimeout);
  absl::StatusOr<DockerOutput> logs = container().Logs();

  EXPECT_THAT(exit_code, IsOkAndHolds(0));
  ASSERT_THAT(logs, IsOk());
  EXPECT_THAT(logs->out, HasSubstr("not-a-function"));
  EXPECT_THAT(ListDir(IofsPath("")), IsEmpty());
}

}  // namespace
}  // namespace fnrunner
