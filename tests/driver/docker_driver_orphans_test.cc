// RemoveOrphans removes what a previous instance of this runner left, and nothing else.
#include "gmock/gmock.h"
#include "tests/driver/driver_fixture.h"
#include "tests/testing/docker_cli.h"
#include "tests/testing/status_matchers.h"

namespace fnrunner {
namespace {

class DockerDriverOrphansTest : public DockerDriverIntegrationTest {
 protected:
  bool Exists(const std::string& id) {
    absl::StatusOr<DockerOutput> out = ExecDocker({"inspect", "--format", "{{.Id}}", id});
    return out.ok() && out->exit_code == 0;
  }
};

TEST_F(DockerDriverOrphansTest, RemovesOnlyOtherInstancesContainersOfOurTag) {
  // The "previous runner": one running and one paused container with our tag.
  const TempDir& iofs_a = NewIofsDir();
  const TempDir& iofs_b = NewIofsDir();
  absl::StatusOr<ContainerId> old_running = Launch(FdkSpec(iofs_a), NewSink(), iofs_a);
  absl::StatusOr<ContainerId> old_paused = Launch(FdkSpec(iofs_b), NewSink(), iofs_b);
  ASSERT_THAT(old_running, IsOk());
  ASSERT_THAT(old_paused, IsOk());
  ASSERT_THAT(driver_->Pause(*old_paused), IsOk());
  // An unrelated container (no classifier label) and one of another runner tag.
  const TempDir& iofs_c = NewIofsDir();
  TestContainerOptions unrelated_options;
  unrelated_options.iofs_dir = iofs_c.path();
  absl::StatusOr<TestContainer> unrelated = RunTestContainer(unrelated_options);
  ASSERT_THAT(unrelated, IsOk());
  DockerDriver::Options other_tag = TestOptions();
  other_tag.container_label_tag = tag_ + "-other";
  absl::StatusOr<std::unique_ptr<DockerDriver>> other_runner = NewDriver(other_tag);
  ASSERT_THAT(other_runner, IsOk());
  const TempDir& iofs_d = NewIofsDir();
  absl::StatusOr<ContainerId> other = (*other_runner)->Create(FdkSpec(iofs_d));
  ASSERT_THAT(other, IsOk());
  Track(other->value);
  // The new runner instance, with a container of its own.
  absl::StatusOr<std::unique_ptr<DockerDriver>> restarted = NewDriver(TestOptions());
  ASSERT_THAT(restarted, IsOk());
  const TempDir& iofs_e = NewIofsDir();
  absl::StatusOr<ContainerId> mine = (*restarted)->Create(FdkSpec(iofs_e));
  ASSERT_THAT(mine, IsOk());

  EXPECT_THAT((*restarted)->RemoveOrphans(), IsOkAndHolds(2));

  EXPECT_FALSE(Exists(old_running->value));
  EXPECT_FALSE(Exists(old_paused->value));
  EXPECT_TRUE(Exists(unrelated->id()));
  EXPECT_TRUE(Exists(other->value));
  EXPECT_TRUE(Exists(mine->value));
  EXPECT_THAT((*restarted)->RemoveOrphans(), IsOkAndHolds(0));
  // The old driver's streams ended with their containers.
  EXPECT_THAT(driver_->Remove(*old_running), IsOk());
  EXPECT_THAT(driver_->Remove(*old_paused), IsOk());
  EXPECT_THAT(unrelated->Remove(), IsOk());
}

TEST_F(DockerDriverOrphansTest, ListContainersMatchesEveryLabel) {
  const TempDir& iofs = NewIofsDir();
  ContainerSpec a = FdkSpec(iofs);
  a.labels["fn-test-pick"] = "yes";
  ContainerSpec b = FdkSpec(iofs);
  absl::StatusOr<ContainerId> id_a = driver_->Create(a);
  ASSERT_THAT(id_a, IsOk());
  ASSERT_THAT(driver_->Create(b), IsOk());

  absl::StatusOr<std::vector<ContainerSummary>> listed =
      driver_->ListContainers({{"fn-agent-classifier", tag_}, {"fn-test-pick", "yes"}});

  ASSERT_THAT(listed, IsOk());
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_EQ((*listed)[0].id, *id_a);
  EXPECT_EQ((*listed)[0].name, a.name);
  EXPECT_EQ((*listed)[0].state, "created");
  EXPECT_EQ((*listed)[0].labels.at("fn-agent-instance"), driver_->instance_id());
}

}  // namespace
}  // namespace fnrunner
