#include "drivers/docker/create_body.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace fnrunner {
namespace {

using json = nlohmann::json;

ContainerSpec Spec() {
  ContainerSpec spec;
  spec.name = "fn-abc";
  spec.image = "fn-test/fdk:latest";
  spec.env = {"FN_FORMAT=http-stream", "FN_LISTENER=unix:/tmp/iofs/lsnr.sock"};
  spec.memory_mb = 128;
  spec.milli_cpus = 250;
  spec.tmpfs_mb = 16;
  spec.iofs_host_dir = "/tmp/iofs123";
  spec.labels = {{"fn-app-id", "app1"}};
  return spec;
}

json Build(const ContainerSpec& spec, const DockerDriverOptions& options,
           const std::string& network = "", bool cgroup_v1 = true) {
  CreateContext context{&options, "inst-1", network, cgroup_v1};
  absl::StatusOr<json> body = BuildCreateBody(spec, context);
  EXPECT_THAT(body, IsOk());
  return body.ok() ? *body : json();
}

TEST(CreateBodyTest, DefaultOptionsGiveFnsIsolation) {
  DockerDriverOptions options;
  options.container_label_tag = "tag1";

  json body = Build(Spec(), options);

  const json& host = body["HostConfig"];
  EXPECT_EQ(body["Image"], "fn-test/fdk:latest");
  EXPECT_TRUE(body["Cmd"].is_null());
  EXPECT_EQ(body["User"], "1000:1000");
  EXPECT_EQ(body["Hostname"], "fn");
  EXPECT_EQ(body["Env"], json({"FN_FORMAT=http-stream", "FN_LISTENER=unix:/tmp/iofs/lsnr.sock"}));
  EXPECT_EQ(body["AttachStdout"], true);
  EXPECT_EQ(body["AttachStdin"], false);
  EXPECT_EQ(body["Tty"], false);
  EXPECT_EQ(body["Labels"], json({{"fn-app-id", "app1"},
                                  {"fn-agent-classifier", "tag1"},
                                  {"fn-agent-instance", "inst-1"}}));
  EXPECT_EQ(host["Memory"], 128 << 20);
  EXPECT_EQ(host["MemorySwap"], 128 << 20);
  EXPECT_EQ(host["MemorySwappiness"], 0);
  EXPECT_FALSE(host.contains("KernelMemory"));
  EXPECT_EQ(host["CpuQuota"], 25000);
  EXPECT_EQ(host["CpuPeriod"], 100000);
  EXPECT_EQ(host["PidsLimit"], 50);
  EXPECT_EQ(host["Ulimits"], json::parse(R"([
      {"Name":"nofile","Soft":350,"Hard":350},
      {"Name":"memlock","Soft":65536,"Hard":65536},
      {"Name":"sigpending","Soft":5000,"Hard":5000},
      {"Name":"msgqueue","Soft":819200,"Hard":819200}])"));
  EXPECT_EQ(host["ReadonlyRootfs"], true);
  EXPECT_EQ(host["Tmpfs"], json({{"/tmp", "size=16m"}}));
  EXPECT_EQ(host["Binds"], json({"/tmp/iofs123:/tmp/iofs"}));
  EXPECT_EQ(host["CapDrop"], json({"all"}));
  EXPECT_EQ(host["SecurityOpt"], json({"no-new-privileges"}));
  EXPECT_EQ(host["Init"], true);
  EXPECT_EQ(host["NetworkMode"], "none");
  EXPECT_EQ(host["LogConfig"]["Type"], "none");
  EXPECT_FALSE(host.contains("StorageOpt"));
  EXPECT_EQ(body["NetworkingConfig"], json::object());
}

TEST(CreateBodyTest, ConfiguredNetworkUnlessSpecDisablesIt) {
  DockerDriverOptions options;
  ContainerSpec spec = Spec();

  EXPECT_EQ(Build(spec, options, "bridge")["HostConfig"]["NetworkMode"], "bridge");
  spec.disable_network = true;
  EXPECT_EQ(Build(spec, options, "bridge")["HostConfig"]["NetworkMode"], "none");
}

TEST(CreateBodyTest, NoLimitsWhenSpecHasNone) {
  DockerDriverOptions options;
  options.max_pids = 0;
  options.max_open_files.reset();
  options.max_locked_memory.reset();
  options.max_pending_signals.reset();
  options.max_message_queue.reset();
  ContainerSpec spec = Spec();
  spec.memory_mb = 0;
  spec.milli_cpus = 0;
  spec.tmpfs_mb = 0;
  spec.iofs_host_dir.clear();
  spec.env.clear();

  json body = Build(spec, options);

  const json& host = body["HostConfig"];
  for (const char* key : {"Memory", "MemorySwap", "MemorySwappiness", "CpuQuota", "CpuPeriod",
                          "PidsLimit", "Ulimits", "Binds"}) {
    EXPECT_FALSE(host.contains(key)) << key;
  }
  EXPECT_FALSE(body.contains("Env"));
  EXPECT_EQ(host["Tmpfs"], json({{"/tmp", ""}}));  // read-only root still gets a /tmp
  EXPECT_FALSE(body["Labels"].contains("fn-agent-classifier"));
}

TEST(CreateBodyTest, OptionsRelaxIsolation) {
  DockerDriverOptions options;
  options.disable_readonly_rootfs = true;
  options.disable_unprivileged_containers = true;
  options.max_fs_size_mb = 512;
  ContainerSpec spec = Spec();
  spec.tmpfs_mb = 0;

  json body = Build(spec, options);

  const json& host = body["HostConfig"];
  EXPECT_FALSE(body.contains("User"));
  EXPECT_FALSE(host.contains("CapDrop"));
  EXPECT_FALSE(host.contains("SecurityOpt"));
  EXPECT_EQ(host["ReadonlyRootfs"], false);
  EXPECT_FALSE(host.contains("Tmpfs"));
  EXPECT_EQ(host["StorageOpt"], json({{"size", "512M"}}));
}

TEST(CreateBodyTest, TmpfsInodesAndCgroupV2) {
  DockerDriverOptions options;
  options.max_tmpfs_inodes = 1024;

  json body = Build(Spec(), options, "", /*cgroup_v1=*/false);

  EXPECT_EQ(body["HostConfig"]["Tmpfs"], json({{"/tmp", "size=16m,nr_inodes=1024"}}));
  EXPECT_FALSE(body["HostConfig"].contains("MemorySwappiness"));
}

TEST(CreateBodyTest, SyslogConfig) {
  DockerDriverOptions options;
  ContainerSpec spec = Spec();
  spec.syslog_url = "tcp://logs:514";
  spec.syslog_tag = "app_id=a,fn_id=f";

  json body = Build(spec, options);

  EXPECT_EQ(body["HostConfig"]["LogConfig"], json::parse(R"({"Type":"syslog","Config":{
      "syslog-address":"tcp://logs:514","syslog-facility":"user",
      "syslog-format":"rfc5424","tag":"app_id=a,fn_id=f"}})"));
}

TEST(CreateBodyTest, SpecCannotSpoofRunnerLabels) {
  DockerDriverOptions options;
  options.container_label_tag = "tag1";
  ContainerSpec spec = Spec();
  spec.labels["fn-agent-instance"] = "someone-else";

  EXPECT_EQ(Build(spec, options)["Labels"]["fn-agent-instance"], "inst-1");
}

TEST(CreateBodyTest, RejectsBadSpecs) {
  DockerDriverOptions options;
  CreateContext context{&options, "i", "", true};
  ContainerSpec no_name = Spec();
  no_name.name.clear();
  ContainerSpec negative = Spec();
  negative.memory_mb = -1;
  ContainerSpec huge = Spec();
  huge.memory_mb = int64_t{1} << 50;

  EXPECT_THAT(BuildCreateBody(no_name, context), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(BuildCreateBody(negative, context), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(BuildCreateBody(huge, context), StatusIs(absl::StatusCode::kInvalidArgument));
}

}  // namespace
}  // namespace fnrunner
