// The engine goes away and comes back while the runner lives: calls fail fast with
// Unavailable, then the same driver object works again. Stops the machine's dockerd, so it
// runs serially (every integration test does) and always restarts it.
#include <errno.h>
#include <signal.h>

#include <cstdlib>
#include <fstream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "tests/driver/driver_fixture.h"
#include "tests/testing/docker_cli.h"
#include "tests/testing/poll.h"
#include "tests/testing/status_matchers.h"

namespace fnrunner {
namespace {

// The running dockerd's pid (from its pid file, checked against /proc), or 0.
pid_t DockerdPid() {
  std::ifstream file("/var/run/docker.pid");
  std::string text;
  std::getline(file, text);
  pid_t pid = 0;
  if (!absl::SimpleAtoi(absl::StripAsciiWhitespace(text), &pid) || pid <= 0) return 0;
  std::ifstream comm(absl::StrCat("/proc/", pid, "/comm"));
  std::string name;
  std::getline(comm, name);
  return name == "dockerd" ? pid : 0;
}

bool ProcessGone(pid_t pid) { return ::kill(pid, 0) != 0 && errno == ESRCH; }

absl::Status StartDockerd() {
  const std::string command = absl::StrCat(FN_SOURCE_DIR, "/scripts/dockerd.sh >/dev/null");
  if (std::system(command.c_str()) != 0) return absl::InternalError("scripts/dockerd.sh failed");
  return absl::OkStatus();
}

class DockerDriverRestartTest : public DockerDriverIntegrationTest {
 protected:
  void TearDown() override {
    // Whatever happened, leave a running engine behind for the next test.
    EXPECT_THAT(StartDockerd(), IsOk());
    DockerDriverIntegrationTest::TearDown();
  }
};

// Every driver call fails fast with Unavailable.
void ExpectFastUnavailable(DockerDriver& driver, const ContainerSpec& spec, const ContainerId& id) {
  const absl::Time start = absl::Now();
  EXPECT_THAT(driver.InspectImage(kFdkTestImage), StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_THAT(driver.Create(spec), StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_THAT(driver.Start(id), StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_THAT(driver.Pause(id), StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_THAT(driver.Stats(id), StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_THAT(driver.ListContainers({}), StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_THAT(driver.PullImage("fn-runner-test/x:1", {}), StatusIs(absl::StatusCode::kUnavailable));
  RecordingLogSink sink;
  EXPECT_THAT(driver.AttachLogs(id, sink), StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_THAT(driver.Wait(id, absl::Seconds(30)), StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_LT(absl::Now() - start, absl::Seconds(5));
}

TEST_F(DockerDriverRestartTest, FailsFastWhileEngineIsDownAndRecoversAfter) {
  const TempDir& iofs = NewIofsDir();
  RecordingLogSink& sink = NewSink();
  absl::StatusOr<ContainerId> before = Launch(FdkSpec(iofs), sink, iofs);
  ASSERT_THAT(before, IsOk());
  // Warm the connection pool, so recovery has stale connections to get past.
  ASSERT_THAT(driver_->InspectImage(kFdkTestImage), IsOk());
  const pid_t pid = DockerdPid();
  ASSERT_GT(pid, 0) << "no dockerd pid in /var/run/docker.pid";

  ASSERT_EQ(::kill(pid, SIGTERM), 0);
  ASSERT_THAT(PollUntil([pid] { return ProcessGone(pid); }, absl::Seconds(60), "dockerd exit"),
              IsOk());

  ExpectFastUnavailable(*driver_, FdkSpec(iofs), *before);
  // The engine stopped the container, which ended its output stream.
  EXPECT_TRUE(sink.AwaitClosed(absl::Seconds(10)));
  // Remove still detaches (nothing to detach now) and reports the engine's absence.
  EXPECT_THAT(driver_->Remove(*before), StatusIs(absl::StatusCode::kUnavailable));

  ASSERT_THAT(StartDockerd(), IsOk());

  EXPECT_THAT(driver_->InspectImage(kFdkTestImage), IsOk());
  EXPECT_THAT(driver_->Remove(*before), IsOk());
  const TempDir& iofs2 = NewIofsDir();
  RecordingLogSink& sink2 = NewSink();
  absl::StatusOr<ContainerId> after =
      Launch(FdkSpec(iofs2, {"FDK_TEST_STARTUP_LOG_LINES=3"}), sink2, iofs2);
  ASSERT_THAT(after, IsOk());
  EXPECT_TRUE(sink2.AwaitLines(6, absl::Seconds(20)));
  EXPECT_THAT(driver_->Pause(*after), IsOk());
  EXPECT_THAT(driver_->Remove(*after), IsOk());
}

}  // namespace
}  // namespace fnrunner
