// Images on a machine without a registry: inspect, and fast, typed failures for what is
// missing.
#include <thread>

#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "tests/driver/driver_fixture.h"
#include "tests/testing/docker_cli.h"
#include "tests/testing/status_matchers.h"

namespace fnrunner {
namespace {

using ::testing::AnyOf;
using ::testing::Contains;

class DockerDriverImagesTest : public DockerDriverIntegrationTest {};

constexpr char kMissingImage[] = "fn-runner-test/no-such-image:latest";

TEST_F(DockerDriverImagesTest, InspectsLocalImage) {
  absl::StatusOr<ImageInfo> info = driver_->InspectImage(kFdkTestImage);

  ASSERT_THAT(info, IsOk());
  EXPECT_EQ(info->id.substr(0, 7), "sha256:");
  EXPECT_GT(info->size_bytes, 0);
  EXPECT_THAT(info->repo_tags, Contains(kFdkTestImage));
  EXPECT_FALSE(info->declares_volumes);
}

TEST_F(DockerDriverImagesTest, MissingImageIsNotFoundForInspectAndCreate) {
  const TempDir& iofs = NewIofsDir();
  ContainerSpec spec = FdkSpec(iofs);
  spec.image = kMissingImage;

  EXPECT_THAT(driver_->InspectImage(kMissingImage), StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(driver_->Create(spec), StatusIs(absl::StatusCode::kNotFound));
}

TEST_F(DockerDriverImagesTest, PullWithoutRegistryFailsFast) {
  const absl::Time start = absl::Now();

  absl::Status pulled = driver_->PullImage(kMissingImage, RegistryAuth{});

  EXPECT_THAT(pulled, AnyOf(StatusIs(absl::StatusCode::kNotFound),
                            StatusIs(absl::StatusCode::kUnavailable)));
  EXPECT_LT(absl::Now() - start, absl::Seconds(10));
}

TEST_F(DockerDriverImagesTest, ConcurrentPullsOfMissingImageAllFail) {
  std::vector<std::thread> pullers;
  std::vector<absl::Status> results(4);
  for (int i = 0; i < 4; ++i) {
    pullers.emplace_back([&, i] { results[i] = driver_->PullImage(kMissingImage, {}); });
  }
  for (std::thread& t : pullers) t.join();

  for (const absl::Status& s : results) {
    EXPECT_THAT(
        s, AnyOf(StatusIs(absl::StatusCode::kNotFound), StatusIs(absl::StatusCode::kUnavailable)));
  }
}

}  // namespace
}  // namespace fnrunner
