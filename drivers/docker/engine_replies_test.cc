#include "drivers/docker/engine_replies.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace fnrunner {
namespace {

using json = nlohmann::json;
using ::testing::ElementsAre;

TEST(EngineRepliesTest, StatsCgroupV1) {
  json reply = json::parse(R"({
    "memory_stats": {"usage": 10000, "limit": 134217728,
                     "stats": {"total_inactive_file": 3000, "inactive_file": 1}},
    "cpu_stats": {"cpu_usage": {"total_usage": 2500000000, "percpu_usage": [1, 2]},
                  "system_cpu_usage": 9}})");

  absl::StatusOr<ContainerStats> stats = ParseStats(reply);

  ASSERT_THAT(stats, IsOk());
  EXPECT_EQ(stats->memory_usage_bytes, 7000);
  EXPECT_EQ(stats->memory_limit_bytes, 134217728);
  EXPECT_EQ(stats->cpu_total, absl::Milliseconds(2500));
}

TEST(EngineRepliesTest, StatsCgroupV2) {
  json reply = json::parse(R"({
    "memory_stats": {"usage": 5000, "limit": 1000000, "stats": {"inactive_file": 1000}},
    "cpu_stats": {"cpu_usage": {"total_usage": 1000}, "online_cpus": 2}})");

  absl::StatusOr<ContainerStats> stats = ParseStats(reply);

  ASSERT_THAT(stats, IsOk());
  EXPECT_EQ(stats->memory_usage_bytes, 4000);
  EXPECT_EQ(stats->cpu_total, absl::Microseconds(1));
}

TEST(EngineRepliesTest, StatsOfStoppedContainerAreZero) {
  absl::StatusOr<ContainerStats> stats =
      ParseStats(json::parse(R"({"memory_stats": {}, "cpu_stats": {"cpu_usage": {}}})"));

  ASSERT_THAT(stats, IsOk());
  EXPECT_EQ(stats->memory_usage_bytes, 0);
  EXPECT_EQ(stats->cpu_total, absl::ZeroDuration());
}

TEST(EngineRepliesTest, WrongTypesAreIgnoredOrInternal) {
  EXPECT_THAT(ParseStats(json::array()), StatusIs(absl::StatusCode::kInternal));
  EXPECT_THAT(ParseStats(json::parse(R"({"memory_stats": {"usage": "lots"}})")), IsOk());
  EXPECT_THAT(ParseWait(json::parse(R"({"Error": null})")), StatusIs(absl::StatusCode::kInternal));
  EXPECT_THAT(ParseImageInspect(json::parse(R"({"Id": 5})")),
              StatusIs(absl::StatusCode::kInternal));
  EXPECT_THAT(ParseContainerState(json::parse(R"({"State": "running"})")),
              StatusIs(absl::StatusCode::kInternal));
}

TEST(EngineRepliesTest, ImageInspect) {
  absl::StatusOr<ImageInfo> info = ParseImageInspect(json::parse(R"({
    "Id": "sha256:abc", "Size": 1234, "RepoTags": ["a:1", "a:latest"],
    "Config": {"Volumes": {"/data": {}}}})"));

  ASSERT_THAT(info, IsOk());
  EXPECT_EQ(info->id, "sha256:abc");
  EXPECT_EQ(info->size_bytes, 1234);
  EXPECT_THAT(info->repo_tags, ElementsAre("a:1", "a:latest"));
  EXPECT_TRUE(info->declares_volumes);
}

TEST(EngineRepliesTest, ContainerList) {
  absl::StatusOr<std::vector<ContainerSummary>> list = ParseContainerList(json::parse(R"([
    {"Id": "c1", "Names": ["/fn-a"], "State": "paused", "Labels": {"k": "v", "n": 1}},
    {"Names": ["/no-id"]}])"));

  ASSERT_THAT(list, IsOk());
  ASSERT_EQ(list->size(), 1u);
  EXPECT_EQ((*list)[0].id, ContainerId{"c1"});
  EXPECT_EQ((*list)[0].name, "fn-a");
  EXPECT_EQ((*list)[0].state, "paused");
  EXPECT_EQ((*list)[0].labels, (std::map<std::string, std::string>{{"k", "v"}}));
}

TEST(EngineRepliesTest, WaitAndState) {
  absl::StatusOr<ExitInfo> exit = ParseWait(json::parse(R"({"StatusCode": 137})"));
  absl::StatusOr<ContainerState> state = ParseContainerState(
      json::parse(R"({"State": {"Status": "paused", "Paused": true, "OOMKilled": true}})"));

  ASSERT_THAT(exit, IsOk());
  EXPECT_EQ(exit->exit_code, 137);
  ASSERT_THAT(state, IsOk());
  EXPECT_EQ(state->status, "paused");
  EXPECT_TRUE(state->paused);
  EXPECT_TRUE(state->oom_killed);
}

}  // namespace
}  // namespace fnrunner
