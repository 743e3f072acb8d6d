#include "drivers/docker/image_puller.h"

#include <atomic>
#include <thread>
#include <vector>

#include "absl/synchronization/notification.h"
#include "drivers/docker/fake_http_transport.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace fnrunner {
namespace {

using ::testing::HasSubstr;

TEST(ImagePullerTest, SendsFromImageTagAndAuthHeader) {
  FakeHttpTransport transport;
  transport.Reply("POST", "/images/create", 200,
                  R"({"status":"Pulling"})"
                  "\n");
  EngineClient engine(transport, absl::Seconds(1));
  ImagePuller puller(engine, absl::Seconds(5));

  ASSERT_THAT(puller.Pull("reg.io:5000/team/app:v1", "abc="), IsOk());

  EngineRequest sent = transport.last("POST", "/images/create");
  EXPECT_EQ(sent.path, "/v1.41/images/create?fromImage=reg.io%3A5000%2Fteam%2Fapp&tag=v1");
  EXPECT_THAT(sent.headers, ::testing::Contains("X-Registry-Auth: abc="));
  EXPECT_EQ(sent.timeout, absl::Seconds(5));
}

struct PullCase {
  std::string name;
  int status;
  std::string body;
  absl::StatusCode want;
};

class ImagePullerErrorTest : public ::testing::TestWithParam<PullCase> {};

TEST_P(ImagePullerErrorTest, MapsFailures) {
  const PullCase& c = GetParam();
  FakeHttpTransport transport;
  transport.Reply("POST", "/images/create", c.status, c.body);
  EngineClient engine(transport, absl::Seconds(1));
  ImagePuller puller(engine, absl::Seconds(5));

  EXPECT_THAT(puller.Pull("app:1", ""), StatusIs(c.want, HasSubstr("app:1")));
}

INSTANTIATE_TEST_SUITE_P(
    Table, ImagePullerErrorTest,
    ::testing::Values(
        PullCase{"NoRegistry", 500,
                 R"({"message":"Get \"https://registry-1.docker.io/v2/\": dial tcp: lookup )"
                 R"(registry-1.docker.io: no such host"})",
                 absl::StatusCode::kUnavailable},
        PullCase{"NotFound", 404,
                 R"({"message":"pull access denied for app, repository does not exist"})",
                 absl::StatusCode::kNotFound},
        PullCase{"Unauthorized", 401, R"({"message":"unauthorized"})",
                 absl::StatusCode::kPermissionDenied},
        PullCase{"ErrorInStream", 200,
                 "{\"status\":\"Pulling fs layer\"}\n{\"errorDetail\":{\"message\":\"manifest "
                 "unknown\"},\"error\":\"manifest unknown: manifest unknown\"}\n",
                 absl::StatusCode::kNotFound},
        PullCase{"OtherStreamError", 200, "{\"error\":\"write /var/lib: no space left\"}",
                 absl::StatusCode::kUnavailable}),
    [](const ::testing::TestParamInfo<PullCase>& info) { return info.param.name; });

TEST(ImagePullerTest, TimeoutIsDeadlineExceeded) {
  FakeHttpTransport transport;
  transport.Fail("POST", "/images/create", absl::DeadlineExceededError("timed out"));
  EngineClient engine(transport, absl::Seconds(1));
  ImagePuller puller(engine, absl::Seconds(5));

  EXPECT_THAT(puller.Pull("app:1", ""), StatusIs(absl::StatusCode::kDeadlineExceeded));
}

TEST(ImagePullerTest, ConcurrentPullsOfOneImageShareOneRequest) {
  FakeHttpTransport transport;
  absl::Notification release;
  std::atomic<int> engine_pulls{0};
  transport.On("POST", "/images/create",
               [&](const EngineRequest&) -> absl::StatusOr<EngineResponse> {
                 ++engine_pulls;
                 release.WaitForNotification();
                 return EngineResponse{200, "{\"status\":\"done\"}\n"};
               });
  EngineClient engine(transport, absl::Seconds(1));
  ImagePuller puller(engine, absl::Seconds(5));
  ASSERT_THAT(engine.Negotiate(), IsOk());
  std::vector<std::thread> pullers;
  std::atomic<int> ok{0};
  for (int i = 0; i < 4; ++i) {
    pullers.emplace_back([&] { ok += puller.Pull("app:1", "same-creds").ok() ? 1 : 0; });
  }
  // All four are inside Pull() while the engine holds the first request.
  ASSERT_TRUE(puller.AwaitCallers(4, absl::Seconds(10)));
  release.Notify();
  for (std::thread& t : pullers) t.join();

  EXPECT_EQ(ok.load(), 4);
  EXPECT_EQ(engine_pulls.load(), 1);
}

TEST(ImagePullerTest, DifferentCredentialsDoNotShareAPull) {
  FakeHttpTransport transport;
  transport.Reply("POST", "/images/create", 200, "{}");
  EngineClient engine(transport, absl::Seconds(1));
  ImagePuller puller(engine, absl::Seconds(5));

  ASSERT_THAT(puller.Pull("app:1", "creds-a"), IsOk());
  ASSERT_THAT(puller.Pull("app:1", "creds-b"), IsOk());

  int pulls = 0;
  for (const EngineRequest& r : transport.requests()) pulls += r.method == "POST" ? 1 : 0;
  EXPECT_EQ(pulls, 2);
}

}  // namespace
}  // namespace fnrunner
