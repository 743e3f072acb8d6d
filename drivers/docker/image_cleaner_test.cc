#include "drivers/docker/image_cleaner.h"

#include "drivers/docker/fake_http_transport.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace fnrunner {
namespace {

using ::testing::ElementsAre;

constexpr int64_t kMb = 1 << 20;

ImageCleaner::Options Opts(int64_t max_size_bytes, std::vector<std::string> exempt = {}) {
  ImageCleaner::Options options;
  options.max_size_bytes = max_size_bytes;
  options.exempt_tags = std::move(exempt);
  return options;
}

// Five images, 10 MB each, 2 MB of it shared; the store holds 42 MB of layers.
constexpr char kDf[] = R"({"LayersSize": 44040192, "Images": [
  {"Id":"sha256:old","RepoTags":["old:1"],"Size":10485760,"SharedSize":2097152,"Containers":0},
  {"Id":"sha256:busy","RepoTags":["busy:1"],"Size":10485760,"SharedSize":2097152,"Containers":1},
  {"Id":"sha256:keep","RepoTags":["keep:1"],"Size":10485760,"SharedSize":2097152,"Containers":0},
  {"Id":"sha256:multi","RepoTags":["multi:1","multi:latest"],"Size":10485760,
   "SharedSize":2097152,"Containers":0},
  {"Id":"sha256:fresh","RepoTags":["fresh:1"],"Size":10485760,"SharedSize":2097152,
   "Containers":0}]})";

class ImageCleanerTest : public ::testing::Test {
 protected:
  ImageCleanerTest() : engine_(transport_, absl::Seconds(1)) {
    transport_.Reply("GET", "/system/df", 200, kDf);
    transport_.Reply("DELETE", "/images/", 200, R"([{"Untagged":"x"}])");
  }

  std::vector<std::string> Deleted() {
    std::vector<std::string> out;
    for (const EngineRequest& r : transport_.requests()) {
      if (r.method == "DELETE") out.push_back(FakeHttpTransport::Unversioned(r.path));
    }
    return out;
  }

  FakeHttpTransport transport_;
  EngineClient engine_;
  const absl::Time t0_ = absl::FromUnixSeconds(1000);
};

TEST_F(ImageCleanerTest, RemovesLeastRecentlyUsedUntilUnderTheMark) {
  ImageCleaner cleaner(engine_, Opts(30 * kMb, {"keep:1"}), absl::Seconds(1));
  cleaner.Touch("multi", t0_);  // "multi" means multi:latest
  cleaner.Touch("fresh:1", t0_ + absl::Seconds(5));
  cleaner.Touch("old:1", t0_ + absl::Seconds(1));

  // 42 MB: remove old (34), then multi (26 <= 30); busy is in use, keep is exempt.
  EXPECT_THAT(cleaner.Tick(), IsOkAndHolds(2));

  EXPECT_THAT(Deleted(), ElementsAre("/images/multi:1", "/images/multi:latest", "/images/old:1"));
}

TEST_F(ImageCleanerTest, NeverUsedImagesGoFirst) {
  ImageCleaner cleaner(engine_, Opts(40 * kMb), absl::Seconds(1));
  cleaner.Touch("old:1", t0_);

  EXPECT_THAT(cleaner.Tick(), IsOkAndHolds(1));

  EXPECT_THAT(Deleted(), ElementsAre("/images/keep:1"));
}

TEST_F(ImageCleanerTest, RefusedImageIsSkippedNotRetried) {
  transport_.Reply("DELETE", "/images/old:1", 409,
                   R"({"message":"conflict: image is being used by stopped container"})");
  ImageCleaner cleaner(engine_, Opts(40 * kMb), absl::Seconds(1));
  cleaner.Touch("keep:1", t0_);
  cleaner.Touch("multi:1", t0_);
  cleaner.Touch("fresh:1", t0_);

  EXPECT_THAT(cleaner.Tick(), IsOkAndHolds(1));

  EXPECT_THAT(Deleted(), ElementsAre("/images/old:1", "/images/keep:1"));
}

TEST_F(ImageCleanerTest, UnderTheMarkOrDisabledDoesNothing) {
  ImageCleaner under(engine_, Opts(100 * kMb), absl::Seconds(1));
  ImageCleaner disabled(engine_, Opts(0), absl::Seconds(1));

  EXPECT_THAT(under.Tick(), IsOkAndHolds(0));
  EXPECT_THAT(disabled.Tick(), IsOkAndHolds(0));
  EXPECT_TRUE(Deleted().empty());
}

TEST_F(ImageCleanerTest, EngineDownIsUnavailable) {
  transport_.Fail("GET", "/system/df", absl::UnavailableError("no socket"));
  ImageCleaner cleaner(engine_, Opts(1), absl::Seconds(1));

  EXPECT_THAT(cleaner.Tick(), StatusIs(absl::StatusCode::kUnavailable));
}

}  // namespace
}  // namespace fnrunner
