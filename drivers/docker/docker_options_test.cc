#include "drivers/docker/docker_options.h"

#include <map>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace fnrunner {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

EnvLookup Env(std::map<std::string, std::string> vars) {
  return [vars = std::move(vars)](absl::string_view name) -> std::optional<std::string> {
    auto it = vars.find(std::string(name));
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

TEST(DockerDriverOptionsTest, DefaultsMatchFn) {
  absl::StatusOr<DockerDriverOptions> o = DockerDriverOptionsFromEnv(Env({}));

  ASSERT_THAT(o, IsOk());
  EXPECT_EQ(o->socket_path, "/var/run/docker.sock");
  EXPECT_EQ(o->max_pids, 50);
  EXPECT_EQ(o->max_open_files, 350);
  EXPECT_EQ(o->max_locked_memory, 65536);
  EXPECT_EQ(o->max_pending_signals, 5000);
  EXPECT_EQ(o->max_message_queue, 819200);
  EXPECT_FALSE(o->disable_readonly_rootfs);
  EXPECT_TRUE(o->networks.empty());
  EXPECT_EQ(o->pull_timeout, absl::Minutes(10));
}

// fn-runner --help lists what operators may set: every variable read must be in the help.
TEST(DockerDriverOptionsTest, HelpListsEveryVariableRead) {
  std::vector<std::string> read;
  DockerDriverOptionsFromEnv([&read](absl::string_view name) -> std::optional<std::string> {
    read.emplace_back(name);
    return std::nullopt;
  }).IgnoreError();  // Only the names asked for matter here.
  std::vector<std::string> listed;
  for (const EnvSettingHelp& h : DockerDriverEnvHelp()) listed.emplace_back(h.env);

  for (const std::string& name : read) {
    if (name == "HOME" || name == "FN_HOT_PULL_TIMEOUT_MSECS") continue;  // see the header
    EXPECT_THAT(listed, ::testing::Contains(name)) << name << " is read but not in the help";
  }
  EXPECT_GE(read.size(), listed.size());
}

TEST(DockerDriverOptionsTest, ReadsEveryVariable) {
  absl::StatusOr<DockerDriverOptions> o = DockerDriverOptionsFromEnv(Env({
      {"DOCKER_HOST", "unix:///run/other.sock"},
      {"FN_MAX_PIDS", " 20 "},
      {"FN_MAX_OPEN_FILES", "100"},
      {"FN_MAX_LOCKED_MEMORY", "99999999999999999999"},
      {"FN_MAX_PENDING_SIGNALS", "7"},
      {"FN_MAX_MESSAGE_QUEUE", "8"},
      {"FN_MAX_TMPFS_INODES", "1000"},
      {"FN_MAX_FS_SIZE_MB", "64"},
      {"FN_DISABLE_READONLY_ROOTFS", "true"},
      {"FN_DISABLE_UNPRIVILEGED_CONTAINERS", "T"},
      {"FN_DOCKER_NETWORKS", " net1  net2\tbridge "},
      {"FN_CONTAINER_LABEL_TAG", "runner-a"},
      {"FN_DOCKER_AUTH", R"({"auths":{}})"},
      {"DOCKER_CONFIG", "/etc/docker-cfg"},
      {"FN_DOCKER_API_TIMEOUT_MSECS", "1500"},
      {"FN_HOT_PULL_TIMEOUT_MSECS", "-1"},
      {"FN_IMAGE_CLEAN_MAX_SIZE", "1000000"},
      {"FN_IMAGE_CLEAN_EXEMPT_TAGS", "busybox:latest fn-test/fdk:latest"},
  }));

  ASSERT_THAT(o, IsOk());
  EXPECT_EQ(o->socket_path, "/run/other.sock");
  EXPECT_EQ(o->max_pids, 20);
  EXPECT_EQ(o->max_open_files, 100);
  EXPECT_EQ(o->max_locked_memory, std::nullopt);  // above int64: not set (fn's rule)
  EXPECT_EQ(o->max_pending_signals, 7);
  EXPECT_EQ(o->max_message_queue, 8);
  EXPECT_EQ(o->max_tmpfs_inodes, 1000);
  EXPECT_EQ(o->max_fs_size_mb, 64);
  EXPECT_TRUE(o->disable_readonly_rootfs);
  EXPECT_TRUE(o->disable_unprivileged_containers);
  EXPECT_THAT(o->networks, ElementsAre("net1", "net2", "bridge"));
  EXPECT_EQ(o->container_label_tag, "runner-a");
  EXPECT_EQ(o->docker_auth_json, R"({"auths":{}})");
  EXPECT_EQ(o->docker_config_path, "/etc/docker-cfg/config.json");
  EXPECT_EQ(o->request_timeout, absl::Milliseconds(1500));
  EXPECT_EQ(o->pull_timeout, absl::InfiniteDuration());
  EXPECT_EQ(o->image_clean_max_size_bytes, 1000000);
  EXPECT_THAT(o->image_clean_exempt_tags, ElementsAre("busybox:latest", "fn-test/fdk:latest"));
}

TEST(DockerDriverOptionsTest, DockerConfigFallsBackToHome) {
  absl::StatusOr<DockerDriverOptions> o = DockerDriverOptionsFromEnv(Env({{"HOME", "/home/u"}}));

  ASSERT_THAT(o, IsOk());
  EXPECT_EQ(o->docker_config_path, "/home/u/.docker/config.json");
}

struct BadCase {
  std::string name;
  std::string value;
};

class DockerDriverOptionsErrorTest : public ::testing::TestWithParam<BadCase> {};

TEST_P(DockerDriverOptionsErrorTest, NamesTheVariable) {
  const BadCase& c = GetParam();

  EXPECT_THAT(DockerDriverOptionsFromEnv(Env({{c.name, c.value}})),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr(c.name)));
}

INSTANTIATE_TEST_SUITE_P(Table, DockerDriverOptionsErrorTest,
                         ::testing::Values(BadCase{"FN_MAX_PIDS", "many"},
                                           BadCase{"FN_MAX_PIDS", "-3"},
                                           BadCase{"FN_MAX_OPEN_FILES", ""},
                                           BadCase{"FN_MAX_MESSAGE_QUEUE", "x"},
                                           BadCase{"FN_DISABLE_READONLY_ROOTFS", "yes"},
                                           BadCase{"FN_HOT_PULL_TIMEOUT_MSECS", "10s"},
                                           BadCase{"DOCKER_HOST", "tcp://1.2.3.4:2375"}),
                         [](const ::testing::TestParamInfo<BadCase>& info) {
                           return info.param.name + "_" + std::to_string(info.index);
                         });

}  // namespace
}  // namespace fnrunner
