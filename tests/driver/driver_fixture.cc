#include "tests/driver/driver_fixture.h"

#include <fstream>
#include <random>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "base/status_macros.h"
#include "drivers/docker/cgroup_freezer.h"
#include "tests/testing/docker_cli.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/uds_http.h"

namespace fnrunner {

void DockerDriverIntegrationTest::SetUp() {
  ASSERT_THAT(RequireImage(kFdkTestImage), IsOk());
  std::random_device random;
  tag_ = absl::StrCat("fn-runner-test-", absl::Hex(random(), absl::kZeroPad8));
  absl::StatusOr<std::unique_ptr<DockerDriver>> driver = NewDriver(TestOptions());
  ASSERT_THAT(driver, IsOk());
  driver_ = *std::move(driver);
}

void ThawCgroupFrozen(const std::string& id) {
  absl::StatusOr<std::string> pid = RunDocker({"inspect", "--format", "{{.State.Pid}}", id});
  int64_t init_pid = 0;
  if (!pid.ok() || !absl::SimpleAtoi(absl::StripAsciiWhitespace(*pid), &init_pid)) return;
  absl::StatusOr<FreezerFile> file = CgroupFreezer().Locate(init_pid);
  if (file.ok()) CgroupFreezer::Thaw(*file).IgnoreError();  // not running or gone: fine
}

void DockerDriverIntegrationTest::TearDown() {
  // Through the CLI, not the driver under test: cleanup must work even if the driver is
  // broken. Unpause first: a frozen container cannot be killed on every engine version.
  absl::StatusOr<std::string> ids =
      RunDocker({"ps", "-aq", "--filter", absl::StrCat("label=fn-agent-classifier=", tag_)});
  std::vector<std::string> all = extra_containers_;
  if (ids.ok()) {
    for (absl::string_view id : absl::StrSplit(*ids, '\n', absl::SkipEmpty())) {
      all.emplace_back(id);
    }
  }
  for (const std::string& id : all) {
    ExecDocker({"unpause", id}).IgnoreError();  // most are not paused; that is fine
    ThawCgroupFrozen(id);
    absl::StatusOr<DockerOutput> rm = ExecDocker({"rm", "-f", id});
    EXPECT_TRUE(rm.ok() && (rm->exit_code == 0 || absl::StrContains(rm->err, "No such")))
        << "could not remove container " << id;
  }
  driver_.reset();
}

DockerDriver::Options DockerDriverIntegrationTest::TestOptions() const {
  DockerDriver::Options options;
  options.container_label_tag = tag_;
  options.request_timeout = absl::Seconds(30);
  return options;
}

absl::StatusOr<std::unique_ptr<DockerDriver>> DockerDriverIntegrationTest::NewDriver(
    DockerDriver::Options options) {
  return DockerDriver::Create(std::move(options));
}

ContainerSpec DockerDriverIntegrationTest::FdkSpec(const TempDir& iofs,
                                                   std::vector<std::string> extra_env) {
  ContainerSpec spec;
  spec.name = absl::StrCat(tag_, "-", ++names_);
  spec.image = kFdkTestImage;
  spec.env = {"FN_FORMAT=http-stream", "FN_LISTENER=unix:/tmp/iofs/lsnr.sock"};
  spec.env.insert(spec.env.end(), extra_env.begin(), extra_env.end());
  spec.memory_mb = 64;
  spec.iofs_host_dir = iofs.path();
  spec.labels = {{"fn-runner-test", "1"}};
  return spec;
}

const TempDir& DockerDriverIntegrationTest::NewIofsDir() {
  absl::StatusOr<TempDir> dir = TempDir::Create(TempDir::Mode::kWorldWritable);
  EXPECT_THAT(dir, IsOk());
  iofs_dirs_.push_back(std::move(dir).value());
  return iofs_dirs_.back();
}

RecordingLogSink& DockerDriverIntegrationTest::NewSink() { return sinks_.emplace_back(); }

absl::StatusOr<ContainerId> DockerDriverIntegrationTest::Launch(const ContainerSpec& spec,
                                                                LogSink& sink,
                                                                const TempDir& iofs) {
  ASSIGN_OR_RETURN(ContainerId id, driver_->Create(spec));
  RETURN_IF_ERROR(driver_->AttachLogs(id, sink));
  RETURN_IF_ERROR(driver_->Start(id));
  RETURN_IF_ERROR(WaitForSocket(iofs.Join("lsnr.sock"), absl::Seconds(20)));
  return id;
}

nlohmann::json DockerDriverIntegrationTest::Inspect(const std::string& id_or_name) {
  absl::StatusOr<std::string> out = RunDocker({"inspect", id_or_name});
  EXPECT_THAT(out, IsOk());
  if (!out.ok()) return nlohmann::json();
  nlohmann::json parsed = nlohmann::json::parse(*out, nullptr, false);
  EXPECT_TRUE(parsed.is_array() && parsed.size() == 1) << *out;
  return parsed.is_array() && !parsed.empty() ? parsed[0] : nlohmann::json();
}

int64_t ProcessRssBytes() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    absl::string_view rest = line;
    if (!absl::ConsumePrefix(&rest, "VmRSS:")) continue;
    rest = absl::StripAsciiWhitespace(rest);
    int64_t kb = 0;
    if (absl::SimpleAtoi(rest.substr(0, rest.find(' ')), &kb)) return kb * 1024;
  }
  return 0;
}

}  // namespace fnrunner
