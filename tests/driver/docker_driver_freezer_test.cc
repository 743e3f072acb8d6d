// Freezing idle containers through the cgroup freezer, against the real engine: the function
// stops answering while frozen and answers again after the thaw, the engine's view stays
// true (running, never "paused"), and a frozen container is removed promptly, by this driver
// or as another instance's leftover. Without a usable cgroup the engine's pause is used.
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "tests/driver/driver_fixture.h"
#include "tests/testing/docker_cli.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/uds_http.h"

namespace fnrunner {
namespace {

using FreezerMode = DockerDriver::Options::FreezerMode;

class DockerDriverFreezerTest : public DockerDriverIntegrationTest {
 protected:
  // A driver that must freeze through the cgroup (start-up fails otherwise).
  std::unique_ptr<DockerDriver> CgroupDriver() {
    DockerDriver::Options options = TestOptions();
    options.freezer = FreezerMode::kCgroup;
    absl::StatusOr<std::unique_ptr<DockerDriver>> driver = NewDriver(options);
    EXPECT_THAT(driver, IsOk());
    return driver.ok() ? *std::move(driver) : nullptr;
  }

  // Whether the function answers a request within `timeout`, on a new connection.
  bool Answers(const TempDir& iofs, absl::Duration timeout) {
    absl::StatusOr<UdsHttpClient> client = UdsHttpClient::Connect(iofs.Join("lsnr.sock"));
    if (!client.ok()) return false;
    absl::StatusOr<HttpResponse> response = client->RoundTrip(HttpRequest{}, timeout);
    return response.ok() && response->status == 200;
  }

  bool Exists(const std::string& id) {
    absl::StatusOr<DockerOutput> out = ExecDocker({"inspect", "--format", "{{.Id}}", id});
    return out.ok() && out->exit_code == 0;
  }
};

TEST_F(DockerDriverFreezerTest, FreezesThroughTheCgroupAndTheEngineStillSeesItRunning) {
  std::unique_ptr<DockerDriver> driver = CgroupDriver();
  ASSERT_NE(driver, nullptr);
  EXPECT_STREQ(driver->freezer_method(), "cgroup");
  const TempDir& iofs = NewIofsDir();
  absl::StatusOr<ContainerId> id = Launch(FdkSpec(iofs), NewSink(), iofs);
  ASSERT_THAT(id, IsOk());
  ASSERT_TRUE(Answers(iofs, absl::Seconds(10)));

  ASSERT_THAT(driver->Pause(*id), IsOk());
  EXPECT_THAT(driver->Pause(*id), IsOk());  // idempotent

  EXPECT_FALSE(Answers(iofs, absl::Milliseconds(500)));
  nlohmann::json frozen = Inspect(id->value);
  EXPECT_EQ(frozen["State"]["Status"], "running");
  EXPECT_EQ(frozen["State"]["Paused"], false);

  ASSERT_THAT(driver->Unpause(*id), IsOk());
  EXPECT_THAT(driver->Unpause(*id), IsOk());  // idempotent
  EXPECT_TRUE(Answers(iofs, absl::Seconds(10)));
  nlohmann::json thawed = Inspect(id->value);
  EXPECT_EQ(thawed["State"]["Status"], "running");
  EXPECT_EQ(thawed["State"]["Paused"], false);
  // The engine's own pause still works on it afterwards: nothing is left half-frozen.
  EXPECT_THAT(ExecDocker({"pause", id->value}),
              IsOkAndHolds(::testing::Field(&DockerOutput::exit_code, 0)));
  EXPECT_THAT(ExecDocker({"unpause", id->value}),
              IsOkAndHolds(::testing::Field(&DockerOutput::exit_code, 0)));
  EXPECT_THAT(driver->Remove(*id), IsOk());
}

TEST_F(DockerDriverFreezerTest, RemovesAFrozenContainerPromptly) {
  std::unique_ptr<DockerDriver> driver = CgroupDriver();
  ASSERT_NE(driver, nullptr);
  const TempDir& iofs = NewIofsDir();
  absl::StatusOr<ContainerId> id = Launch(FdkSpec(iofs), NewSink(), iofs);
  ASSERT_THAT(id, IsOk());
  ASSERT_THAT(driver->Pause(*id), IsOk());

  const absl::Time before = absl::Now();
  EXPECT_THAT(driver->Remove(*id), IsOk());

  EXPECT_LT(absl::Now() - before, absl::Seconds(5));
  EXPECT_FALSE(Exists(id->value));
}

TEST_F(DockerDriverFreezerTest, ALeftoverFrozenByADeadInstanceIsThawedAndRemoved) {
  // driver_ (FN_DOCKER_FREEZER=auto) is the instance that dies with a frozen container.
  ASSERT_STREQ(driver_->freezer_method(), "cgroup");
  const TempDir& iofs = NewIofsDir();
  absl::StatusOr<ContainerId> id = Launch(FdkSpec(iofs), NewSink(), iofs);
  ASSERT_THAT(id, IsOk());
  ASSERT_THAT(driver_->Pause(*id), IsOk());
  absl::StatusOr<std::unique_ptr<DockerDriver>> restarted = NewDriver(TestOptions());
  ASSERT_THAT(restarted, IsOk());

  const absl::Time before = absl::Now();
  EXPECT_THAT((*restarted)->RemoveOrphans(), IsOkAndHolds(1));

  EXPECT_LT(absl::Now() - before, absl::Seconds(5));
  EXPECT_FALSE(Exists(id->value));
  EXPECT_THAT(driver_->Remove(*id), IsOk());  // its log stream ends
}

// A runner in a container without the host's /proc and cgroup mounts: the probe finds no
// freezer, and the engine's pause does the work (docker inspect shows it).
TEST_F(DockerDriverFreezerTest, WithoutAUsableCgroupTheEnginePauses) {
  DockerDriver::Options options = TestOptions();
  options.cgroup_root = NewIofsDir().Join("no-cgroup-mount");
  absl::StatusOr<std::unique_ptr<DockerDriver>> driver = NewDriver(options);
  ASSERT_THAT(driver, IsOk());
  EXPECT_STREQ((*driver)->freezer_method(), "engine");
  const TempDir& iofs = NewIofsDir();
  absl::StatusOr<ContainerId> id = Launch(FdkSpec(iofs), NewSink(), iofs);
  ASSERT_THAT(id, IsOk());

  ASSERT_THAT((*driver)->Pause(*id), IsOk());
  EXPECT_EQ(Inspect(id->value)["State"]["Paused"], true);
  ASSERT_THAT((*driver)->Unpause(*id), IsOk());
  EXPECT_EQ(Inspect(id->value)["State"]["Paused"], false);

  EXPECT_TRUE(Answers(iofs, absl::Seconds(10)));
}

TEST_F(DockerDriverFreezerTest, CgroupModeFailsStartUpWithoutACgroup) {
  DockerDriver::Options options = TestOptions();
  options.freezer = FreezerMode::kCgroup;
  options.cgroup_root = NewIofsDir().Join("no-cgroup-mount");

  EXPECT_THAT(NewDriver(options), StatusIs(absl::StatusCode::kFailedPrecondition));
}

}  // namespace
}  // namespace fnrunner
