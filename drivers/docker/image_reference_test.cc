#include "drivers/docker/image_reference.h"

#include <string>

#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace fnrunner {
namespace {

TEST(ImageReferenceTest, AcceptsDockersReferences) {
  for (const char* image : {
           "i",
           "fn-test/fdk:latest",
           "fnproject/fn-status-checker:latest",
           "status:1",
           "busybox",
           "library/busybox:1.36.1",
           "registry.example.com:5000/team/app:v1.2_rc-3",
           "127.0.0.1:1/nope/nope:latest",
           "localhost/a__b/c-d---e.f:T",
           "app@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
           "a/b:tag@sha256:0123456789abcdef0123456789abcdef",
       }) {
    EXPECT_THAT(ValidateImageReference(image), IsOk()) << image;
  }
}

TEST(ImageReferenceTest, RejectsWhatCouldReachAnotherEndpointOrConfuseTheEngine) {
  for (const char* image : {
           "",
           "fn-test/fdk:latest; rm -rf /",
           "Uppercase",
           "a//b",
           "/abs",
           "a/",
           "../../containers/create",
           "a?all=1",
           "a#frag",
           "a b",
           "a:tag:tag",
           "a:-tag",
           "a@sha256:short",
           "with\nnewline",
           "a%2Fb",
       }) {
    EXPECT_THAT(ValidateImageReference(image), StatusIs(absl::StatusCode::kInvalidArgument))
        << image;
  }
}

TEST(ImageReferenceTest, BoundsTheNameAndTheWholeReference) {
  const std::string long_name(256, 'a');
  const std::string long_tag = "a:" + std::string(129, 't');

  EXPECT_THAT(ValidateImageReference(long_name), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(ValidateImageReference(std::string(255, 'a')), IsOk());
  EXPECT_THAT(ValidateImageReference(long_tag), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(ValidateImageReference(std::string(100000, 'a')),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

}  // namespace
}  // namespace fnrunner
