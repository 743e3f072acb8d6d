// Every create option the driver sets must be what the engine applied: verified with
// `docker inspect`, and the container must then run the test function under it.
#include "absl/strings/ascii.h"
#include "gmock/gmock.h"
#include "tests/driver/driver_fixture.h"
#include "tests/testing/status_matchers.h"

namespace fnrunner {
namespace {

using json = nlohmann::json;

class DockerDriverCreateTest : public DockerDriverIntegrationTest {};

TEST_F(DockerDriverCreateTest, AppliesEveryIsolationOption) {
  DockerDriver::Options options = TestOptions();
  options.max_tmpfs_inodes = 2000;
  absl::StatusOr<std::unique_ptr<DockerDriver>> driver = NewDriver(options);
  ASSERT_THAT(driver, IsOk());
  driver_ = *std::move(driver);
  const TempDir& iofs = NewIofsDir();
  ContainerSpec spec = FdkSpec(iofs, {"FN_APP_ID=app1"});
  spec.memory_mb = 96;
  spec.milli_cpus = 500;
  spec.tmpfs_mb = 8;
  spec.labels["fn-fn-id"] = "fn1";

  absl::StatusOr<ContainerId> id = Launch(spec, NewSink(), iofs);

  ASSERT_THAT(id, IsOk());
  json c = Inspect(id->value);
  const json& host = c["HostConfig"];
  const json& config = c["Config"];
  EXPECT_EQ(c["Name"], "/" + spec.name);
  EXPECT_EQ(c["State"]["Running"], true);
  EXPECT_EQ(host["Memory"], int64_t{96} << 20);
  EXPECT_EQ(host["MemorySwap"], int64_t{96} << 20);
  EXPECT_EQ(host["MemorySwappiness"], 0);  // cgroup v1 on this machine
  EXPECT_EQ(host["KernelMemory"], 0);
  EXPECT_EQ(host["CpuQuota"], 50000);
  EXPECT_EQ(host["CpuPeriod"], 100000);
  EXPECT_EQ(host["PidsLimit"], 50);
  EXPECT_EQ(host["Ulimits"], json::parse(R"([
      {"Name":"nofile","Soft":350,"Hard":350},
      {"Name":"memlock","Soft":65536,"Hard":65536},
      {"Name":"sigpending","Soft":5000,"Hard":5000},
      {"Name":"msgqueue","Soft":819200,"Hard":819200}])"));
  EXPECT_EQ(host["ReadonlyRootfs"], true);
  EXPECT_EQ(host["Tmpfs"], json({{"/tmp", "size=8m,nr_inodes=2000"}}));
  EXPECT_EQ(host["Binds"], json({iofs.path() + ":/tmp/iofs"}));
  ASSERT_TRUE(host["CapDrop"].is_array());
  ASSERT_EQ(host["CapDrop"].size(), 1u);
  EXPECT_EQ(absl::AsciiStrToLower(host["CapDrop"][0].get<std::string>()), "all");
  EXPECT_TRUE(host["CapAdd"].is_null());
  EXPECT_EQ(host["SecurityOpt"], json({"no-new-privileges"}));
  EXPECT_EQ(host["Init"], true);
  EXPECT_EQ(host["NetworkMode"], "none");
  EXPECT_EQ(host["LogConfig"]["Type"], "none");
  EXPECT_EQ(config["User"], "1000:1000");
  EXPECT_EQ(config["Hostname"], "fn");
  EXPECT_EQ(config["Tty"], false);
  EXPECT_EQ(config["OpenStdin"], false);
  EXPECT_EQ(config["Labels"]["fn-agent-classifier"], tag_);
  EXPECT_EQ(config["Labels"]["fn-agent-instance"], driver_->instance_id());
  EXPECT_EQ(config["Labels"]["fn-runner-test"], "1");
  EXPECT_EQ(config["Labels"]["fn-fn-id"], "fn1");
  EXPECT_THAT(config["Env"].get<std::vector<std::string>>(),
              ::testing::IsSupersetOf({"FN_APP_ID=app1", "FN_FORMAT=http-stream",
                                       "FN_LISTENER=unix:/tmp/iofs/lsnr.sock"}));
  // No network at all: only the loopback-less "none" network, no bridge endpoint.
  EXPECT_TRUE(c["NetworkSettings"]["Networks"].contains("none"));
  EXPECT_FALSE(c["NetworkSettings"]["Networks"].contains("bridge"));
}

TEST_F(DockerDriverCreateTest, ConfiguredNetworkUnlessSpecDisablesNetwork) {
  DockerDriver::Options options = TestOptions();
  options.networks = {"bridge"};
  absl::StatusOr<std::unique_ptr<DockerDriver>> driver = NewDriver(options);
  ASSERT_THAT(driver, IsOk());
  const TempDir& iofs = NewIofsDir();
  ContainerSpec with_network = FdkSpec(iofs);
  ContainerSpec without = FdkSpec(iofs);
  without.disable_network = true;

  absl::StatusOr<ContainerId> a = (*driver)->Create(with_network);
  absl::StatusOr<ContainerId> b = (*driver)->Create(without);

  ASSERT_THAT(a, IsOk());
  ASSERT_THAT(b, IsOk());
  EXPECT_EQ(Inspect(a->value)["HostConfig"]["NetworkMode"], "bridge");
  EXPECT_EQ(Inspect(b->value)["HostConfig"]["NetworkMode"], "none");
  EXPECT_THAT((*driver)->Remove(*a), IsOk());
  EXPECT_THAT((*driver)->Remove(*b), IsOk());
}

TEST_F(DockerDriverCreateTest, SyslogLogConfigAndDefaultTmpfs) {
  const TempDir& iofs = NewIofsDir();
  ContainerSpec spec = FdkSpec(iofs);
  spec.syslog_url = "udp://127.0.0.1:5140";
  spec.syslog_tag = "app_id=a,fn_id=f";

  absl::StatusOr<ContainerId> id = driver_->Create(spec);

  ASSERT_THAT(id, IsOk());
  json host = Inspect(id->value)["HostConfig"];
  EXPECT_EQ(host["LogConfig"], json::parse(R"({"Type":"syslog","Config":{
      "syslog-address":"udp://127.0.0.1:5140","syslog-facility":"user",
      "syslog-format":"rfc5424","tag":"app_id=a,fn_id=f"}})"));
  EXPECT_EQ(host["Tmpfs"], json({{"/tmp", ""}}));
}

TEST_F(DockerDriverCreateTest, DuplicateNameIsFailedPrecondition) {
  const TempDir& iofs = NewIofsDir();
  ContainerSpec spec = FdkSpec(iofs);
  ASSERT_THAT(driver_->Create(spec), IsOk());

  EXPECT_THAT(driver_->Create(spec), StatusIs(absl::StatusCode::kFailedPrecondition));
}

TEST_F(DockerDriverCreateTest, InvalidSpecIsInvalidArgument) {
  const TempDir& iofs = NewIofsDir();
  ContainerSpec spec = FdkSpec(iofs);
  spec.name = "bad name with spaces";

  EXPECT_THAT(driver_->Create(spec), StatusIs(absl::StatusCode::kInvalidArgument));
}

}  // namespace
}  // namespace fnrunner
