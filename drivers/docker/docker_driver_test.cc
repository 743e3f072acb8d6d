// DockerDriver against a scripted engine (FakeHttpTransport): requests, error mapping and
// idempotency. The real engine is exercised by tests/driver/.
#include "drivers/docker/docker_driver.h"

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/strip.h"
#include "drivers/docker/fake_http_transport.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/testing/status_matchers.h"

namespace fnrunner {
namespace {

using json = nlohmann::json;
using ::testing::Contains;
using ::testing::HasSubstr;

class DockerDriverTest : public ::testing::Test {
 protected:
  void SetUp() override { Start(DockerDriver::Options()); }

  void Start(DockerDriver::Options options) {
    driver_.reset();
    auto transport = std::make_unique<FakeHttpTransport>();
    engine_ = transport.get();
    options.socket_path = "/nonexistent/fn-runner-test.sock";
    options.instance_id = "me";
    // The scripted engine has no containers whose cgroups could be frozen: the engine's
    // pause is the path under test here (ContainerFreezer has its own tests).
    options.freezer = DockerDriver::Options::FreezerMode::kEngine;
    absl::StatusOr<std::unique_ptr<DockerDriver>> driver =
        DockerDriver::Create(std::move(options), std::move(transport));
    ASSERT_THAT(driver, IsOk());
    driver_ = *std::move(driver);
  }

  ContainerSpec Spec() {
    ContainerSpec spec;
    spec.name = "fn-1";
    spec.image = "fn-test/fdk:latest";
    return spec;
  }

  FakeHttpTransport* engine_ = nullptr;  // owned by driver_
  std::unique_ptr<DockerDriver> driver_;
};

TEST_F(DockerDriverTest, CreatePostsBodyAndReturnsId) {
  engine_->Reply("POST", "/containers/create", 201, R"({"Id":"abc123","Warnings":[]})");

  absl::StatusOr<ContainerId> id = driver_->Create(Spec());

  ASSERT_THAT(id, IsOk());
  EXPECT_EQ(*id, ContainerId{"abc123"});
  EngineRequest sent = engine_->last("POST", "/containers/create");
  EXPECT_EQ(sent.path, "/v1.41/containers/create?name=fn-1");
  EXPECT_THAT(sent.headers, Contains("Content-Type: application/json"));
  json body = json::parse(sent.body);
  EXPECT_EQ(body["Image"], "fn-test/fdk:latest");
  EXPECT_EQ(body["HostConfig"]["NetworkMode"], "none");
}

TEST_F(DockerDriverTest, CreateOfMissingImageIsNotFound) {
  engine_->Reply("POST", "/containers/create", 404,
                 R"({"message":"No such image: fn-test/fdk:latest"})");

  EXPECT_THAT(driver_->Create(Spec()),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("No such image")));
}

TEST_F(DockerDriverTest, NetworksAreSpreadAndReturnedOnRemove) {
  DockerDriver::Options options;
  options.networks = {"n1", "n2"};
  Start(options);
  int next = 0;
  engine_->On("POST", "/containers/create", [&next](const EngineRequest&) {
    return absl::StatusOr<EngineResponse>(
        EngineResponse{201, absl::StrCat(R"({"Id":"c)", next++, R"("})")});
  });
  engine_->Reply("DELETE", "/containers/", 204, "");
  auto network_of_last_create = [this] {
    return json::parse(
        engine_->last("POST", "/containers/create").body)["HostConfig"]["NetworkMode"];
  };

  ASSERT_THAT(driver_->Create(Spec()), IsOk());
  EXPECT_EQ(network_of_last_create(), "n1");
  ASSERT_THAT(driver_->Create(Spec()), IsOk());
  EXPECT_EQ(network_of_last_create(), "n2");
  ASSERT_THAT(driver_->Remove(ContainerId{"c0"}), IsOk());
  ASSERT_THAT(driver_->Create(Spec()), IsOk());
  EXPECT_EQ(network_of_last_create(), "n1");
}

TEST_F(DockerDriverTest, PauseIsIdempotent) {
  engine_->Reply("POST", "/containers/c/pause", 409,
                 R"({"message":"Container c is already paused"})");
  engine_->Reply("GET", "/containers/c/json", 200,
                 R"({"State":{"Status":"paused","Paused":true}})");

  EXPECT_THAT(driver_->Pause(ContainerId{"c"}), IsOk());
  EXPECT_EQ(engine_->last("POST", "/containers/c/pause").timeout, absl::Seconds(5));
}

TEST_F(DockerDriverTest, PauseOfStoppedContainerIsFailedPrecondition) {
  engine_->Reply("POST", "/containers/c/pause", 409, R"({"message":"Container c is not running"})");
  engine_->Reply("GET", "/containers/c/json", 200,
                 R"({"State":{"Status":"exited","Paused":false}})");

  EXPECT_THAT(driver_->Pause(ContainerId{"c"}),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("not running")));
}

TEST_F(DockerDriverTest, UnpauseOfRunningContainerIsOk) {
  // Docker 20.10 answers 500 here, not 409.
  engine_->Reply("POST", "/containers/c/unpause", 500,
                 R"({"message":"Container c is not paused"})");
  engine_->Reply("GET", "/containers/c/json", 200,
                 R"({"State":{"Status":"running","Paused":false}})");

  EXPECT_THAT(driver_->Unpause(ContainerId{"c"}), IsOk());
}

TEST_F(DockerDriverTest, RemoveOfGoneContainerIsOk) {
  engine_->Reply("DELETE", "/containers/c", 404, R"({"message":"No such container: c"})");

  EXPECT_THAT(driver_->Remove(ContainerId{"c"}), IsOk());
  EXPECT_EQ(engine_->last("DELETE", "/containers/c").path, "/v1.41/containers/c?force=1&v=1");
}

TEST_F(DockerDriverTest, EngineDownIsUnavailable) {
  engine_->Fail("POST", "/containers/c/start", absl::UnavailableError("connection refused"));
  engine_->Fail("GET", "/images/", absl::DeadlineExceededError("timed out"));

  EXPECT_THAT(driver_->Start(ContainerId{"c"}), StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_THAT(driver_->InspectImage("x"), StatusIs(absl::StatusCode::kUnavailable));
}

TEST_F(DockerDriverTest, SyslogFailureAtStartIsUnavailable) {
  engine_->Reply("POST", "/containers/c/start", 500,
                 R"({"message":"failed to initialize logging driver: dial tcp: refused"})");

  EXPECT_THAT(driver_->Start(ContainerId{"c"}), StatusIs(absl::StatusCode::kUnavailable));
}

TEST_F(DockerDriverTest, WaitReportsExitAndOom) {
  engine_->Reply("POST", "/containers/c/wait", 200, R"({"StatusCode":137})");
  engine_->Reply("GET", "/containers/c/json", 200,
                 R"({"State":{"Status":"exited","OOMKilled":true}})");

  absl::StatusOr<ExitInfo> exit = driver_->Wait(ContainerId{"c"}, absl::Seconds(3));

  ASSERT_THAT(exit, IsOk());
  EXPECT_EQ(exit->exit_code, 137);
  EXPECT_TRUE(exit->oom_killed);
  EXPECT_EQ(engine_->last("POST", "/containers/c/wait").timeout, absl::Seconds(3));
}

TEST_F(DockerDriverTest, WaitTimeoutIsDeadlineExceeded) {
  engine_->Fail("POST", "/containers/c/wait", absl::DeadlineExceededError("timed out"));

  EXPECT_THAT(driver_->Wait(ContainerId{"c"}, absl::Milliseconds(10)),
              StatusIs(absl::StatusCode::kDeadlineExceeded));
}

TEST_F(DockerDriverTest, StatsIsOneShot) {
  engine_->Reply("GET", "/containers/c/stats", 200,
                 R"({"memory_stats":{"usage":10,"limit":20},
                     "cpu_stats":{"cpu_usage":{"total_usage":1000000}}})");

  absl::StatusOr<ContainerStats> stats = driver_->Stats(ContainerId{"c"});

  ASSERT_THAT(stats, IsOk());
  EXPECT_EQ(stats->memory_usage_bytes, 10);
  EXPECT_EQ(stats->cpu_total, absl::Milliseconds(1));
  EXPECT_THAT(engine_->last("GET", "/containers/c/stats").path, HasSubstr("stream=false"));
}

TEST_F(DockerDriverTest, ListContainersFiltersByLabel) {
  engine_->Reply("GET", "/containers/json", 200, "[]");

  ASSERT_THAT(driver_->ListContainers({{"a", "1"}}), IsOk());

  EXPECT_EQ(engine_->last("GET", "/containers/json").path,
            "/v1.41/containers/json?all=1&filters=%7B%22label%22%3A%5B%22a%3D1%22%5D%7D");
}

TEST_F(DockerDriverTest, RemoveOrphansTouchesOnlyOtherInstancesOfOurTag) {
  DockerDriver::Options options;
  options.container_label_tag = "tag";
  Start(options);
  engine_->Reply("GET", "/containers/json", 200, R"([
      {"Id":"mine","Names":["/a"],"State":"running",
       "Labels":{"fn-agent-classifier":"tag","fn-agent-instance":"me"}},
      {"Id":"old","Names":["/b"],"State":"paused",
       "Labels":{"fn-agent-classifier":"tag","fn-agent-instance":"before"}}])");
  engine_->Reply("POST", "/containers/old/unpause", 204, "");
  engine_->Reply("DELETE", "/containers/old", 204, "");

  EXPECT_THAT(driver_->RemoveOrphans(), IsOkAndHolds(1));

  EXPECT_THAT(engine_->last("GET", "/containers/json").path,
              HasSubstr("fn-agent-classifier%3Dtag"));
  EXPECT_FALSE(engine_->last("POST", "/containers/old/unpause").path.empty());
  EXPECT_TRUE(engine_->last("DELETE", "/containers/mine").path.empty());
}

TEST_F(DockerDriverTest, RemoveOrphansWithoutTagDoesNothing) {
  EXPECT_THAT(driver_->RemoveOrphans(), IsOkAndHolds(0));
  EXPECT_TRUE(engine_->last("GET", "/containers/json").path.empty());
}

std::string AuthHeaderJson(const EngineRequest& request) {
  for (const std::string& h : request.headers) {
    absl::string_view v = h;
    if (absl::ConsumePrefix(&v, "X-Registry-Auth: ")) {
      std::string b64(v);
      for (char& c : b64) {
        if (c == '-') c = '+';
        if (c == '_') c = '/';
      }
      std::string text;
      absl::Base64Unescape(b64, &text);
      return text;
    }
  }
  return "";
}

TEST_F(DockerDriverTest, PullUsesRegistryTokenElseConfiguredCredentials) {
  DockerDriver::Options options;
  options.docker_auth_json =
      absl::StrCat(R"({"auths":{"reg.io":{"auth":")", absl::Base64Escape("u:p"), R"("}}})");
  Start(options);
  engine_->Reply("POST", "/images/create", 200, "{}\n");
  engine_->Reply("GET", "/images/", 200, R"({"Id":"sha256:1"})");

  ASSERT_THAT(driver_->PullImage("reg.io/app:1", RegistryAuth{"tok"}), IsOk());
  EXPECT_EQ(json::parse(AuthHeaderJson(engine_->last("POST", "/images/create"))),
            json({{"registrytoken", "tok"}}));
  ASSERT_THAT(driver_->PullImage("reg.io/app:1", RegistryAuth{}), IsOk());
  EXPECT_EQ(json::parse(AuthHeaderJson(engine_->last("POST", "/images/create"))),
            json({{"username", "u"}, {"password", "p"}, {"serveraddress", "reg.io"}}));
  ASSERT_THAT(driver_->PullImage("other.io/app:1", RegistryAuth{}), IsOk());
  EXPECT_EQ(AuthHeaderJson(engine_->last("POST", "/images/create")), "");
}

TEST_F(DockerDriverTest, ImageMissingAfterPullIsUnavailable) {
  engine_->Reply("POST", "/images/create", 200, "{\"status\":\"Downloaded\"}\n");
  engine_->Reply("GET", "/images/", 404, R"({"message":"No such image: app:1"})");

  EXPECT_THAT(driver_->PullImage("app:1", RegistryAuth{}),
              StatusIs(absl::StatusCode::kUnavailable, HasSubstr("missing after")));
}

TEST_F(DockerDriverTest, InspectImage) {
  engine_->Reply("GET", "/images/fn-test/fdk:latest/json", 200,
                 R"({"Id":"sha256:1","Size":5,"RepoTags":["fn-test/fdk:latest"]})");

  absl::StatusOr<ImageInfo> info = driver_->InspectImage("fn-test/fdk:latest");

  ASSERT_THAT(info, IsOk());
  EXPECT_EQ(info->id, "sha256:1");
  EXPECT_THAT(driver_->InspectImage("missing:1"), StatusIs(absl::StatusCode::kNotFound));
}

TEST(DockerDriverStartupTest, BadDockerAuthFailsStartup) {
  DockerDriver::Options options;
  options.docker_auth_json = "{not json";

  EXPECT_THAT(DockerDriver::Create(options, std::make_unique<FakeHttpTransport>()),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("FN_DOCKER_AUTH")));
}

TEST(DockerDriverStartupTest, EngineDownFailsStartupWithUnavailable) {
  auto transport = std::make_unique<FakeHttpTransport>();
  transport->Fail("GET", "/version", absl::UnavailableError("no socket"));

  EXPECT_THAT(DockerDriver::Create(DockerDriver::Options(), std::move(transport)),
              StatusIs(absl::StatusCode::kUnavailable));
}

}  // namespace
}  // namespace fnrunner
