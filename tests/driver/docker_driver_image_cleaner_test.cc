// The image cleaner against the real engine, on throwaway images imported for this test
// (and labelled so the cleaner can touch nothing else).
#include <cstdlib>
#include <fstream>
#include <random>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "drivers/docker/curl_transport.h"
#include "gmock/gmock.h"
#include "tests/driver/driver_fixture.h"
#include "tests/testing/docker_cli.h"
#include "tests/testing/status_matchers.h"

namespace fnrunner {
namespace {

class DockerDriverImageCleanerTest : public DockerDriverIntegrationTest {
 protected:
  void TearDown() override {
    DockerDriverIntegrationTest::TearDown();  // containers first: they pin images
    absl::StatusOr<std::string> ids =
        RunDocker({"images", "-q", "--filter", absl::StrCat("label=", Label())});
    if (!ids.ok()) return;
    for (absl::string_view id : absl::StrSplit(*ids, '\n', absl::SkipEmpty())) {
      ExecDocker({"rmi", "-f", std::string(id)}).IgnoreError();  // best effort; checked below
    }
  }

  std::string Label() const { return absl::StrCat("fn-runner-test-images=", tag_); }
  std::string ImageName(absl::string_view letter) const {
    return absl::StrCat("fn-runner-test/", tag_, "-", letter, ":1");
  }

  // Imports a one-layer image holding 1 MiB of random bytes (so no layer is shared).
  absl::Status ImportImage(absl::string_view letter) {
    absl::StatusOr<TempDir> dir = TempDir::Create();
    if (!dir.ok()) return dir.status();
    {
      std::ofstream blob(dir->Join("blob"), std::ios::binary);
      std::mt19937_64 random(std::random_device{}());
      for (int i = 0; i < (1 << 20) / 8; ++i) {
        const uint64_t word = random();
        blob.write(reinterpret_cast<const char*>(&word), sizeof(word));
      }
    }
    const std::string tar = dir->Join("image.tar");
    const std::string command = absl::StrCat("tar -C ", dir->path(), " -cf ", tar, " blob");
    if (std::system(command.c_str()) != 0) return absl::InternalError("tar failed");
    // A CMD so containers can be created from it (they are never started).
    return RunDocker({"import", "--change", R"(CMD ["/blob"])", "--change",
                      "LABEL fn-runner-test=1", "--change", absl::StrCat("LABEL ", Label()), tar,
                      ImageName(letter)})
        .status();
  }

  // The engine's LayersSize.
  int64_t LayersSize() {
    absl::StatusOr<std::unique_ptr<CurlTransport>> transport = CurlTransport::Create({});
    EXPECT_THAT(transport, IsOk());
    EngineRequest request;
    request.path = "/v1.41/system/df";
    absl::StatusOr<EngineResponse> reply = (*transport)->Send(request);
    EXPECT_THAT(reply, IsOk());
    nlohmann::json df = nlohmann::json::parse(reply->body, nullptr, false);
    return df.is_object() && df["LayersSize"].is_number() ? df["LayersSize"].get<int64_t>() : 0;
  }

  bool ImageExists(absl::string_view letter) {
    absl::StatusOr<DockerOutput> out = ExecDocker({"image", "inspect", ImageName(letter)});
    return out.ok() && out->exit_code == 0;
  }
};

TEST_F(DockerDriverImageCleanerTest, RemovesLeastRecentlyUsedImagesNotInUse) {
  for (const char* letter : {"a", "b", "c", "d"}) ASSERT_THAT(ImportImage(letter), IsOk());
  DockerDriver::Options options = TestOptions();
  options.image_clean_only_label = Label();
  // a: never used. b: used, then d. c: used by a container (the least recent use, but busy).
  // Over the mark by 1.5 MiB: removing a and b (1 MiB each) is enough.
  options.image_clean_max_size_bytes = LayersSize() - (3 << 19);
  absl::StatusOr<std::unique_ptr<DockerDriver>> driver = NewDriver(options);
  ASSERT_THAT(driver, IsOk());
  const TempDir& iofs = NewIofsDir();
  auto use = [&](absl::string_view letter, bool keep_container) {
    ContainerSpec spec = FdkSpec(iofs);
    spec.image = ImageName(letter);
    absl::StatusOr<ContainerId> id = (*driver)->Create(spec);
    ASSERT_THAT(id, IsOk());
    if (!keep_container) {
      ASSERT_THAT((*driver)->Remove(*id), IsOk());
    }
  };
  use("c", /*keep_container=*/true);
  use("b", false);
  use("d", false);

  EXPECT_THAT((*driver)->CleanImages(), IsOkAndHolds(2));

  EXPECT_FALSE(ImageExists("a"));
  EXPECT_FALSE(ImageExists("b"));
  EXPECT_TRUE(ImageExists("c"));
  EXPECT_TRUE(ImageExists("d"));
  EXPECT_THAT(RequireImage(kFdkTestImage), IsOk());  // outside the label: untouchable
  EXPECT_THAT((*driver)->CleanImages(), IsOkAndHolds(0));
}

}  // namespace
}  // namespace fnrunner
