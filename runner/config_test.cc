#include "runner/config.h"

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace fnrunner {
namespace {

using ::testing::HasSubstr;

absl::StatusOr<Config> Parse(const std::vector<std::string>& args,
                             const std::map<std::string, std::string>& env = {}) {
  return ParseConfig(args, [&env](absl::string_view name) -> std::optional<std::string> {
    auto it = env.find(std::string(name));
    if (it == env.end()) return std::nullopt;
    return it->second;
  });
}

TEST(ConfigTest, DefaultsMatchFn) {
  absl::StatusOr<Config> config = Parse({});

  ASSERT_THAT(config, IsOk());
  EXPECT_EQ(config->grpc_port, 9190);
  EXPECT_EQ(config->http_port, 8080);
  EXPECT_EQ(config->log_level, "info");
  EXPECT_FALSE(config->enable_detach);
  EXPECT_FALSE(config->nb_resource_tracker);
  EXPECT_EQ(config->hot_start_timeout, absl::Seconds(5));
  EXPECT_EQ(config->freeze_idle, absl::Milliseconds(50));
  EXPECT_EQ(config->max_response_size, 0);
  EXPECT_EQ(config->agent, AgentKind::kHot);
  EXPECT_TRUE(config->launch_by_estimate);  // ours, not fn's: FN_LAUNCH_POLICY=fn for fn's
  EXPECT_EQ(config->default_memory_mb, 128u);
  EXPECT_FALSE(config->show_help);
}

TEST(ConfigTest, ReadsEnvironment) {
  absl::StatusOr<Config> config =
      Parse({}, {{"FN_GRPC_PORT", "9999"},
                 {"FN_PORT", " 81 "},
                 {"FN_ENABLE_NB_RESOURCE_TRACKER", "true"},
                 {"FN_MAX_RESPONSE_SIZE", "6291456"},
                 {"FN_HOT_START_TIMEOUT_MSECS", "1500"},
                 {"FN_FREEZE_IDLE_MSECS", "-1"},
                 {"FN_LAUNCH_POLICY", "fn"},
                 {"FN_DEFAULT_MEMORY_MB", "0"},
                 {"FN_SPARES", "2"},
                 {"FN_SPARE_MEMORY_PERCENT", "50"},
                 {"FN_SPARE_WINDOW_MSECS", "1000"},
                 {"FN_MAX_TOTAL_MEMORY_BYTES", "1073741824"},
                 {"FN_MAX_TOTAL_CPU_MCPUS", "2000"},
                 {"FN_STATUS_IMAGE", "fnproject/fn-status-checker:latest"},
                 {"FN_NODE_CERT", "/c.pem"},
                 {"FN_NODE_CERT_KEY", "/k.pem"},
                 {"FN_AGENT", "refuse"}});

  ASSERT_THAT(config, IsOk());
  EXPECT_EQ(config->grpc_port, 9999);
  EXPECT_EQ(config->http_port, 81);
  EXPECT_TRUE(config->nb_resource_tracker);
  EXPECT_EQ(config->max_response_size, 6291456);
  EXPECT_EQ(config->hot_start_timeout, absl::Milliseconds(1500));
  EXPECT_EQ(config->freeze_idle, absl::InfiniteDuration());
  EXPECT_FALSE(config->launch_by_estimate);
  EXPECT_EQ(config->default_memory_mb, 0u);
  EXPECT_EQ(config->spares, 2);
  EXPECT_EQ(config->spare_memory_percent, 50);
  EXPECT_EQ(config->spare_window, absl::Seconds(1));
  EXPECT_EQ(config->max_total_memory_bytes, 1073741824u);
  EXPECT_EQ(config->max_total_cpu_mcpus, 2000u);
  EXPECT_EQ(config->status_image, "fnproject/fn-status-checker:latest");
  EXPECT_EQ(config->tls_cert_file, "/c.pem");
  EXPECT_EQ(config->agent, AgentKind::kRefuse);
}

TEST(ConfigTest, FlagWinsOverEnvironment) {
  absl::StatusOr<Config> config =
      Parse({"--grpc-port=7000", "--port", "7001"}, {{"FN_GRPC_PORT", "9999"}});

  ASSERT_THAT(config, IsOk());
  EXPECT_EQ(config->grpc_port, 7000);
  EXPECT_EQ(config->http_port, 7001);
}

TEST(ConfigTest, BoolFlagsTakeGoSpellingsOrNoValue) {
  EXPECT_TRUE(Parse({"--enable-detach"})->enable_detach);
  EXPECT_TRUE(Parse({"--enable-detach=T"})->enable_detach);
  EXPECT_FALSE(Parse({"--enable-detach=0"}, {{"FN_ENABLE_DETACH", "1"}})->enable_detach);
  EXPECT_TRUE(Parse({}, {{"FN_ENABLE_DETACH", "True"}})->enable_detach);
}

TEST(ConfigTest, EmptyVariableMeansDefault) {
  absl::StatusOr<Config> config = Parse({}, {{"FN_GRPC_PORT", ""}, {"FN_LOG_LEVEL", "  "}});

  ASSERT_THAT(config, IsOk());
  EXPECT_EQ(config->grpc_port, 9190);
  EXPECT_EQ(config->log_level, "info");
}

TEST(ConfigTest, InvalidValuesNameTheVariable) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"FN_GRPC_PORT", "abc"},
      {"FN_PORT", "70000"},
      {"FN_ENABLE_NB_RESOURCE_TRACKER", "yes"},
      {"FN_MAX_RESPONSE_SIZE", "-1"},
      {"FN_HOT_START_TIMEOUT_MSECS", "5s"},
      {"FN_MAX_TOTAL_MEMORY_BYTES", "-5"},
      {"FN_LOG_LEVEL", "loud"},
      {"FN_INPUT_TIMEOUT_MSECS", "0"},
      {"FN_DRAIN_GRACE_MSECS", "-1"},
      {"FN_GRPC_MAX_RECV_MSG_BYTES", "1024"},
      {"FN_AGENT", "cold"},
      {"FN_LAUNCH_POLICY", "eager"},
      {"FN_SPARES", "-1"},
      {"FN_SPARE_MEMORY_PERCENT", "101"},
  };
  for (const auto& [name, value] : cases) {
    absl::StatusOr<Config> config = Parse({}, {{name, value}});

    EXPECT_THAT(config, StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr(name))) << name;
  }
}

TEST(ConfigTest, InvalidFlagNamesFlagAndVariable) {
  absl::StatusOr<Config> config = Parse({"--grpc-port=x"});

  EXPECT_THAT(config, StatusIs(absl::StatusCode::kInvalidArgument,
                               HasSubstr("--grpc-port (FN_GRPC_PORT)")));
}

TEST(ConfigTest, UnknownFlagAndStrayArgumentAreErrors) {
  EXPECT_THAT(Parse({"--no-such-flag=1"}), StatusIs(absl::StatusCode::kInvalidArgument,
                                                    HasSubstr("--no-such-flag")));
  EXPECT_THAT(Parse({"stray"}), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(Parse({"--grpc-port"}), StatusIs(absl::StatusCode::kInvalidArgument,
                                               HasSubstr("missing value")));
}

TEST(ConfigTest, TlsKeyAndCertComeTogether) {
  EXPECT_THAT(Parse({"--node-cert-key=/k"}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("FN_NODE_CERT_KEY")));
  EXPECT_THAT(Parse({"--node-cert-authority=/ca"}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("FN_NODE_CERT_AUTHORITY")));
}

TEST(ConfigTest, HelpListsEveryFlagWithItsVariable) {
  EXPECT_TRUE(Parse({"--help"})->show_help);
  const std::string help = HelpText();

  for (absl::string_view expected :
       {"--grpc-port=VALUE (FN_GRPC_PORT, default 9190)", "--port=VALUE (FN_PORT, default 8080)",
        "--enable-nb-resource-tracker[=BOOL] (FN_ENABLE_NB_RESOURCE_TRACKER",
        "(FN_MAX_RESPONSE_SIZE", "(FN_HOT_START_TIMEOUT_MSECS, default 5000)",
        "(FN_FREEZE_IDLE_MSECS, default 50)", "(FN_MAX_TOTAL_MEMORY_BYTES",
        "(FN_MAX_TOTAL_CPU_MCPUS", "(FN_STATUS_IMAGE", "(FN_NODE_CERT,", "(FN_DRAIN_GRACE_MSECS"}) {
    EXPECT_TRUE(absl::StrContains(help, expected)) << expected;
  }
}

}  // namespace
}  // namespace fnrunner
