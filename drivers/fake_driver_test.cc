#include "drivers/fake_driver.h"

#include <thread>

#include "drivers/recording_log_sink.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace fnrunner {
namespace {

using ::testing::ElementsAre;
using Method = FakeDriver::Method;

ContainerSpec Spec(const std::string& name) {
  ContainerSpec spec;
  spec.name = name;
  spec.image = "img";
  return spec;
}

class FakeDriverTest : public ::testing::Test {
 protected:
  void SetUp() override { driver_.AddImage("img"); }
  FakeDriver driver_;
};

TEST_F(FakeDriverTest, LifecycleMovesThroughEngineStates) {
  absl::StatusOr<ContainerId> id = driver_.Create(Spec("a"));
  ASSERT_THAT(id, IsOk());
  EXPECT_EQ(driver_.container(*id)->state, "created");

  ASSERT_THAT(driver_.Start(*id), IsOk());
  EXPECT_EQ(driver_.container(*id)->state, "running");
  ASSERT_THAT(driver_.Pause(*id), IsOk());
  ASSERT_THAT(driver_.Pause(*id), IsOk());  // idempotent
  EXPECT_EQ(driver_.container(*id)->state, "paused");
  ASSERT_THAT(driver_.Unpause(*id), IsOk());
  EXPECT_EQ(driver_.container(*id)->state, "running");
  ASSERT_THAT(driver_.Remove(*id), IsOk());
  EXPECT_EQ(driver_.container(*id), std::nullopt);
  EXPECT_THAT(driver_.Remove(*id), IsOk());  // already gone
}

TEST_F(FakeDriverTest, RecordsSpecsAndMissingImageIsNotFound) {
  ContainerSpec missing = Spec("b");
  missing.image = "nope";

  ASSERT_THAT(driver_.Create(Spec("a")), IsOk());
  EXPECT_THAT(driver_.Create(missing), StatusIs(absl::StatusCode::kNotFound));

  std::vector<std::string> names;
  for (const ContainerSpec& s : driver_.created_specs()) names.push_back(s.name);
  EXPECT_THAT(names, ElementsAre("a", "b"));
}

TEST_F(FakeDriverTest, FailOnceThenSucceeds) {
  driver_.FailOnce(Method::kCreate, absl::UnavailableError("engine down"));

  EXPECT_THAT(driver_.Create(Spec("a")), StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_THAT(driver_.Create(Spec("a")), IsOk());
  EXPECT_EQ(driver_.calls(Method::kCreate), 2);
}

TEST_F(FakeDriverTest, FailAlwaysUntilCleared) {
  driver_.FailAlways(Method::kPullImage, absl::DeadlineExceededError("slow"));

  EXPECT_THAT(driver_.PullImage("x", {}), StatusIs(absl::StatusCode::kDeadlineExceeded));
  EXPECT_THAT(driver_.PullImage("x", {}), StatusIs(absl::StatusCode::kDeadlineExceeded));
  driver_.ClearFailures(Method::kPullImage);
  EXPECT_THAT(driver_.PullImage("x", {}), StatusIs(absl::StatusCode::kNotFound));
}

TEST_F(FakeDriverTest, StallBlocksUntilReleased) {
  absl::Notification release;
  driver_.Stall(Method::kCreate, &release);
  absl::StatusOr<ContainerId> result;
  std::thread creator([&] { result = driver_.Create(Spec("a")); });

  ASSERT_TRUE(driver_.AwaitStalled(Method::kCreate, 1, absl::Seconds(10)));
  EXPECT_TRUE(driver_.live_containers().empty());
  release.Notify();
  creator.join();

  EXPECT_THAT(result, IsOk());
}

TEST_F(FakeDriverTest, LogsReachSinkAndExitClosesIt) {
  RecordingLogSink sink;
  ContainerId id = *driver_.Create(Spec("a"));
  ASSERT_THAT(driver_.AttachLogs(id, sink), IsOk());
  ASSERT_THAT(driver_.Start(id), IsOk());

  ASSERT_THAT(driver_.EmitLog(id, LogStream::kStdout, "hello"), IsOk());
  ASSERT_THAT(driver_.SimulateExit(id, ExitInfo{3, false}), IsOk());

  EXPECT_THAT(sink.lines(LogStream::kStdout), ElementsAre("hello"));
  EXPECT_EQ(sink.closed_count(), 1);
  EXPECT_THAT(driver_.Wait(id, absl::Seconds(1)),
              IsOkAndHolds(::testing::Field(&ExitInfo::exit_code, 3)));
  EXPECT_THAT(driver_.EmitLog(id, LogStream::kStdout, "late"),
              StatusIs(absl::StatusCode::kFailedPrecondition));
  ASSERT_THAT(driver_.Remove(id), IsOk());
  EXPECT_EQ(sink.closed_count(), 1);
}

TEST_F(FakeDriverTest, RemoveClosesSink) {
  RecordingLogSink sink;
  ContainerId id = *driver_.Create(Spec("a"));
  ASSERT_THAT(driver_.AttachLogs(id, sink), IsOk());

  ASSERT_THAT(driver_.Remove(id), IsOk());

  EXPECT_EQ(sink.closed_count(), 1);
}

TEST_F(FakeDriverTest, WaitTimesOut) {
  ContainerId id = *driver_.Create(Spec("a"));
  ASSERT_THAT(driver_.Start(id), IsOk());

  EXPECT_THAT(driver_.Wait(id, absl::Milliseconds(1)),
              StatusIs(absl::StatusCode::kDeadlineExceeded));
}

TEST_F(FakeDriverTest, OrphansAreListedAndRemoved) {
  driver_.AddOrphan(ContainerSummary{ContainerId{"o1"}, "old", "paused", {{"k", "v"}}});

  EXPECT_THAT(driver_.ListContainers({{"k", "v"}}), IsOkAndHolds(::testing::SizeIs(1)));
  EXPECT_THAT(driver_.RemoveOrphans(), IsOkAndHolds(1));
  EXPECT_THAT(driver_.ListContainers({{"k", "v"}}), IsOkAndHolds(::testing::IsEmpty()));
}

TEST_F(FakeDriverTest, PullMakesPullableImagePresent) {
  driver_.SetPullable("new:1");

  EXPECT_THAT(driver_.InspectImage("new:1"), StatusIs(absl::StatusCode::kNotFound));
  ASSERT_THAT(driver_.PullImage("new:1", {}), IsOk());
  EXPECT_THAT(driver_.InspectImage("new:1"), IsOk());
  EXPECT_THAT(driver_.pulled_images(), ElementsAre("new:1"));
}

}  // namespace
}  // namespace fnrunner
