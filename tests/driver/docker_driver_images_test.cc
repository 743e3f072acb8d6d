// Images on a machine without a registry: inspect, and fast, typed failures for what is
// missing.
#include <fstream>
#include <thread>

#include "absl/strings/str_cat.h"
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

// FN_DOCKER_LOAD_FILE: a `docker save` tarball loaded at start-up, the offline way to seed
// images. The image is a fresh tag of the not-a-function image, so no other test sees it go.
TEST_F(DockerDriverImagesTest, LoadFileAtStartUpLoadsItsImages) {
  const std::string tag = absl::StrCat("fn-runner-test/load-", tag_, ":latest");
  ASSERT_THAT(RunDocker({"tag", "fn-test/not-a-function:latest", tag}), IsOk());
  const TempDir& dir = NewIofsDir();
  const std::string tarball = dir.Join("images.tar");
  ASSERT_THAT(RunDocker({"save", "-o", tarball, tag}), IsOk());
  ASSERT_THAT(RunDocker({"rmi", tag}), IsOk());
  ASSERT_THAT(driver_->InspectImage(tag), StatusIs(absl::StatusCode::kNotFound));
  DockerDriver::Options options = TestOptions();
  options.load_file = tarball;

  absl::StatusOr<std::unique_ptr<DockerDriver>> loaded = NewDriver(options);

  ASSERT_THAT(loaded, IsOk());
  EXPECT_THAT((*loaded)->InspectImage(tag), IsOk());
  EXPECT_THAT(RunDocker({"rmi", tag}), IsOk());
}

TEST_F(DockerDriverImagesTest, AnUnreadableOrBrokenLoadFileStopsStartUp) {
  DockerDriver::Options missing = TestOptions();
  missing.load_file = "/nonexistent/fn-runner-test-images.tar";
  EXPECT_THAT(NewDriver(missing), StatusIs(absl::StatusCode::kNotFound));

  const TempDir& dir = NewIofsDir();
  const std::string garbage = dir.Join("garbage.tar");
  ASSERT_TRUE(static_cast<bool>(std::ofstream(garbage) << "this is not a tar archive"));
  DockerDriver::Options broken = TestOptions();
  broken.load_file = garbage;
  absl::StatusOr<std::unique_ptr<DockerDriver>> driver = NewDriver(broken);
  EXPECT_FALSE(driver.ok());
  EXPECT_THAT(driver.status().message(), ::testing::HasSubstr("loading images from"));
}

}  // namespace
}  // namespace fnrunner
