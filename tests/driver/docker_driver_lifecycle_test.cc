// Start, pause/unpause, stats, wait and remove against the real engine.
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "tests/driver/driver_fixture.h"
#include "tests/testing/docker_cli.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/uds_http.h"

namespace fnrunner {
namespace {

class DockerDriverLifecycleTest : public DockerDriverIntegrationTest {};

// The engine's pause (FN_DOCKER_FREEZER=engine; the cgroup path: docker_driver_freezer_test).
TEST_F(DockerDriverLifecycleTest, EnginePauseAndUnpauseFlipStatePausedIdempotently) {
  DockerDriver::Options options = TestOptions();
  options.freezer = DockerDriver::Options::FreezerMode::kEngine;
  absl::StatusOr<std::unique_ptr<DockerDriver>> driver = NewDriver(options);
  ASSERT_THAT(driver, IsOk());
  const TempDir& iofs = NewIofsDir();
  absl::StatusOr<ContainerId> id = Launch(FdkSpec(iofs), NewSink(), iofs);
  ASSERT_THAT(id, IsOk());

  ASSERT_THAT((*driver)->Pause(*id), IsOk());
  EXPECT_EQ(Inspect(id->value)["State"]["Paused"], true);
  EXPECT_THAT((*driver)->Pause(*id), IsOk());
  ASSERT_THAT((*driver)->Unpause(*id), IsOk());
  EXPECT_EQ(Inspect(id->value)["State"]["Paused"], false);
  EXPECT_THAT((*driver)->Unpause(*id), IsOk());
  // Still serving after the thaw.
  absl::StatusOr<UdsHttpClient> client = UdsHttpClient::Connect(iofs.Join("lsnr.sock"));
  ASSERT_THAT(client, IsOk());
  EXPECT_THAT(client->RoundTrip(HttpRequest{}, absl::Seconds(10)),
              IsOkAndHolds(::testing::Field(&HttpResponse::status, 200)));
}

TEST_F(DockerDriverLifecycleTest, PauseOfCreatedContainerIsFailedPrecondition) {
  const TempDir& iofs = NewIofsDir();
  absl::StatusOr<ContainerId> id = driver_->Create(FdkSpec(iofs));
  ASSERT_THAT(id, IsOk());

  EXPECT_THAT(driver_->Pause(*id), StatusIs(absl::StatusCode::kFailedPrecondition));
}

TEST_F(DockerDriverLifecycleTest, MissingContainerIsNotFoundButRemoveIsOk) {
  const ContainerId ghost{"fn-runner-test-no-such-container"};

  EXPECT_THAT(driver_->Pause(ghost), StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(driver_->Start(ghost), StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(driver_->Stats(ghost), StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(driver_->AttachLogs(ghost, NewSink()), StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(driver_->Remove(ghost), IsOk());
}

TEST_F(DockerDriverLifecycleTest, StatsReportMemoryAndCpu) {
  const TempDir& iofs = NewIofsDir();
  absl::StatusOr<ContainerId> id = Launch(FdkSpec(iofs), NewSink(), iofs);
  ASSERT_THAT(id, IsOk());
  absl::StatusOr<UdsHttpClient> client = UdsHttpClient::Connect(iofs.Join("lsnr.sock"));
  ASSERT_THAT(client, IsOk());
  HttpRequest busy;
  busy.headers = {{"Fn-Test-Alloc-Mb", "16"}, {"Fn-Test-Log-Lines", "20000"}};
  ASSERT_THAT(client->RoundTrip(busy, absl::Seconds(30)), IsOk());

  absl::StatusOr<ContainerStats> stats = driver_->Stats(*id);

  ASSERT_THAT(stats, IsOk());
  EXPECT_EQ(stats->memory_limit_bytes, int64_t{64} << 20);
  EXPECT_GT(stats->memory_usage_bytes, 0);
  EXPECT_LT(stats->memory_usage_bytes, int64_t{64} << 20);
  EXPECT_GT(stats->cpu_total, absl::ZeroDuration());
}

TEST_F(DockerDriverLifecycleTest, WaitTimesOutWhileRunningAndStartIsIdempotent) {
  const TempDir& iofs = NewIofsDir();
  absl::StatusOr<ContainerId> id = Launch(FdkSpec(iofs), NewSink(), iofs);
  ASSERT_THAT(id, IsOk());

  const absl::Time before = absl::Now();
  EXPECT_THAT(driver_->Wait(*id, absl::Milliseconds(300)),
              StatusIs(absl::StatusCode::kDeadlineExceeded));
  EXPECT_LT(absl::Now() - before, absl::Seconds(5));
  EXPECT_THAT(driver_->Start(*id), IsOk());
}

TEST_F(DockerDriverLifecycleTest, OomKillIsReported) {
  const TempDir& iofs = NewIofsDir();
  absl::StatusOr<ContainerId> id = Launch(FdkSpec(iofs), NewSink(), iofs);
  ASSERT_THAT(id, IsOk());
  absl::StatusOr<UdsHttpClient> client = UdsHttpClient::Connect(iofs.Join("lsnr.sock"));
  ASSERT_THAT(client, IsOk());
  HttpRequest hog;
  hog.headers = {{"Fn-Test-Alloc-Mb", "200"}};
  client->RoundTrip(hog, absl::Seconds(30)).IgnoreError();  // the function dies mid-call

  absl::StatusOr<ExitInfo> exit = driver_->Wait(*id, absl::Seconds(30));

  ASSERT_THAT(exit, IsOk());
  EXPECT_EQ(exit->exit_code, 137);
  EXPECT_TRUE(exit->oom_killed);
}

TEST_F(DockerDriverLifecycleTest, RemoveKillsPausedContainer) {
  const TempDir& iofs = NewIofsDir();
  RecordingLogSink& sink = NewSink();
  absl::StatusOr<ContainerId> id = Launch(FdkSpec(iofs), sink, iofs);
  ASSERT_THAT(id, IsOk());
  ASSERT_THAT(driver_->Pause(*id), IsOk());

  ASSERT_THAT(driver_->Remove(*id), IsOk());

  EXPECT_EQ(sink.closed_count(), 1);
  absl::StatusOr<DockerOutput> gone = ExecDocker({"inspect", id->value});
  ASSERT_THAT(gone, IsOk());
  EXPECT_NE(gone->exit_code, 0);
}

}  // namespace
}  // namespace fnrunner
