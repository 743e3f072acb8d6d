#include "drivers/docker/registry_auth.h"

#include "absl/strings/escaping.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/testing/status_matchers.h"

namespace fnrunner {
namespace {

using json = nlohmann::json;

struct RefCase {
  std::string image, registry, repository, tag, from_image;
};

class ImageRefTest : public ::testing::TestWithParam<RefCase> {};

TEST_P(ImageRefTest, Splits) {
  const RefCase& c = GetParam();

  ImageRef ref = ParseImageRef(c.image);

  EXPECT_EQ(ref.registry, c.registry);
  EXPECT_EQ(ref.repository, c.repository);
  EXPECT_EQ(ref.tag, c.tag);
  EXPECT_EQ(ref.FromImage(), c.from_image);
}

INSTANTIATE_TEST_SUITE_P(
    Table, ImageRefTest,
    ::testing::Values(RefCase{"busybox", "", "library/busybox", "latest", "library/busybox"},
                      RefCase{"busybox:1.36", "", "library/busybox", "1.36", "library/busybox"},
                      RefCase{"fn-test/fdk:latest", "", "fn-test/fdk", "latest", "fn-test/fdk"},
                      RefCase{"reg.example.com:5000/team/app", "reg.example.com:5000", "team/app",
                              "latest", "reg.example.com:5000/team/app"},
                      RefCase{"localhost/app:v2", "localhost", "app", "v2", "localhost/app"},
                      RefCase{"app@sha256:abcd", "", "library/app", "sha256:abcd", "library/app"}),
    [](const ::testing::TestParamInfo<RefCase>& info) { return std::to_string(info.index); });

json Decode(const std::string& header) {
  std::string std_b64 = header;
  for (char& c : std_b64) {
    if (c == '-') c = '+';
    if (c == '_') c = '/';
  }
  std::string text;
  EXPECT_TRUE(absl::Base64Unescape(std_b64, &text));
  return json::parse(text, nullptr, false);
}

TEST(RegistryAuthTest, EncodesUrlSafeBase64JsonWithoutEmptyFields) {
  RegistryAuthConfig auth;
  auth.username = "u";
  auth.password = "p?>?";  // '?' '>' make '/' and '+' in standard base64
  auth.server_address = "reg.example.com";

  const std::string header = EncodeRegistryAuth(auth);

  EXPECT_EQ(header.find_first_of("+/"), std::string::npos);
  EXPECT_EQ(header.size() % 4, 0u);  // padded
  EXPECT_EQ(Decode(header),
            json({{"username", "u"}, {"password", "p?>?"}, {"serveraddress", "reg.example.com"}}));
}

TEST(RegistryAuthTest, EmptyAuthSendsNoHeader) { EXPECT_EQ(EncodeRegistryAuth({}), ""); }

TEST(RegistryCredentialsTest, MatchesRegistryAndParentDomains) {
  const std::string config = absl::StrCat(R"({"auths":{"https://a.reg.example.com/v1/":{"auth":")",
                                          absl::Base64Escape("alice:secret"), R"("},)",
                                          R"("https://index.docker.io/v1/":{"auth":")",
                                          absl::Base64Escape("hub:pw"), R"("}}})");
  absl::StatusOr<RegistryCredentials> creds = RegistryCredentials::Parse(config, "test");
  ASSERT_THAT(creds, IsOk());

  RegistryAuthConfig exact = creds->Find("a.reg.example.com");
  RegistryAuthConfig parent = creds->Find("reg.example.com");
  RegistryAuthConfig hub = creds->Find("");
  RegistryAuthConfig none = creds->Find("other.io");

  EXPECT_EQ(exact.username, "alice");
  EXPECT_EQ(exact.password, "secret");
  EXPECT_EQ(parent.username, "alice");
  EXPECT_EQ(hub.username, "hub");
  EXPECT_TRUE(none.empty());
}

TEST(RegistryCredentialsTest, LegacyFlatMapAndIdentityToken) {
  absl::StatusOr<RegistryCredentials> creds = RegistryCredentials::Parse(
      absl::StrCat(R"({"reg.io":{"auth":")", absl::Base64Escape("bob:pw"),
                   R"(","identitytoken":"tok"}})"),
      "test");
  ASSERT_THAT(creds, IsOk());

  RegistryAuthConfig auth = creds->Find("reg.io");

  EXPECT_EQ(auth.username, "bob");
  EXPECT_EQ(auth.password, "");  // the token replaces it
  EXPECT_EQ(auth.identity_token, "tok");
}

TEST(RegistryCredentialsTest, BadDocumentsAreInvalidArgumentNamingTheSource) {
  EXPECT_THAT(RegistryCredentials::Parse("[1]", "FN_DOCKER_AUTH"),
              StatusIs(absl::StatusCode::kInvalidArgument, ::testing::HasSubstr("FN_DOCKER_AUTH")));
  EXPECT_THAT(RegistryCredentials::Parse(R"({"auths":{"r":{"auth":"!!"}}})", "x"),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(RegistryCredentials::Load("{", ""), StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(RegistryCredentialsTest, MissingConfigFileMeansNoCredentials) {
  absl::StatusOr<RegistryCredentials> creds =
      RegistryCredentials::Load("", "/nonexistent/fn-runner/config.json");

  ASSERT_THAT(creds, IsOk());
  EXPECT_EQ(creds->size(), 0u);
}

}  // namespace
}  // namespace fnrunner
