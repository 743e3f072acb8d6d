// ContainerFreezer's choice between the cgroup and the engine, over a fake /proc and cgroup
// tree and a recording engine. The real freezer: tests/driver/docker_driver_freezer_test.cc.
#include "drivers/docker/container_freezer.h"

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"

namespace fnrunner {
namespace {

using FreezerMode = DockerDriverOptions::FreezerMode;
using ::testing::ElementsAre;
using ::testing::IsEmpty;

class ContainerFreezerTest : public ::testing::Test {
 protected:
  // A container "c<pid>" whose init is `pid`, in cgroup v1 /docker/c<pid>, thawed.
  void AddVisibleContainer(int pid) {
    const std::string id = absl::StrCat("c", pid);
    Write(absl::StrCat("proc/", pid, "/cgroup"), absl::StrCat("6:freezer:/docker/", id, "\n"));
    Write(absl::StrCat("cgroup/freezer/docker/", id, "/freezer.state"), "");
    pids_[id] = pid;
  }
  std::string State(const std::string& id) {
    std::ifstream in(dir_.Join(absl::StrCat("cgroup/freezer/docker/", id, "/freezer.state")));
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
  }
  void ClearState(const std::string& id) {
    std::filesystem::resize_file(
        dir_.Join(absl::StrCat("cgroup/freezer/docker/", id, "/freezer.state")), 0);
  }
  void Write(const std::string& relative, const std::string& text) {
    const std::filesystem::path path = dir_.Join(relative);
    std::filesystem::create_directories(path.parent_path());
    std::ofstream(path) << text;
  }

  std::unique_ptr<ContainerFreezer> Make(FreezerMode mode) {
    ContainerFreezer::Engine engine{
        [this](const ContainerId& id, bool pause) {
          engine_calls_.push_back(absl::StrCat(pause ? "pause " : "unpause ", id.value));
          return absl::OkStatus();
        },
        [this](const ContainerId& id) -> absl::StatusOr<int64_t> {
          ++inspects_;
          auto it = pids_.find(id.value);
          if (it == pids_.end()) return absl::NotFoundError("no such container");
          return it->second;
        }};
    return std::make_unique<ContainerFreezer>(
        mode, CgroupFreezer({dir_.Join("proc"), dir_.Join("cgroup")}), std::move(engine));
  }

  TempDir dir_ = TempDir::Create().value();  // a test without its dir cannot run at all
  std::map<std::string, int64_t> pids_;      // container id -> init pid (0: not running)
  std::vector<std::string> engine_calls_;
  int inspects_ = 0;
};

TEST_F(ContainerFreezerTest, AutoUsesTheCgroupWhenTheProbePasses) {
  Write("cgroup/freezer/cgroup.procs", "");
  AddVisibleContainer(42);
  auto freezer = Make(FreezerMode::kAuto);
  ASSERT_THAT(freezer->Probe(), IsOk());
  EXPECT_STREQ(freezer->method(), "cgroup");

  ASSERT_THAT(freezer->Freeze(ContainerId{"c42"}), IsOk());
  EXPECT_EQ(State("c42"), "FROZEN");
  ClearState("c42");
  ASSERT_THAT(freezer->Thaw(ContainerId{"c42"}), IsOk());
  EXPECT_EQ(State("c42"), "THAWED");
  ASSERT_THAT(freezer->Freeze(ContainerId{"c42"}), IsOk());

  EXPECT_THAT(engine_calls_, IsEmpty());
  EXPECT_EQ(inspects_, 1);  // the cgroup is looked up once per container
}

TEST_F(ContainerFreezerTest, AutoFallsBackToTheEngineWithoutACgroupFreezer) {
  AddVisibleContainer(42);
  auto freezer = Make(FreezerMode::kAuto);
  ASSERT_THAT(freezer->Probe(), IsOk());
  EXPECT_STREQ(freezer->method(), "engine");
  EXPECT_THAT(freezer->fallback_reason(), ::testing::HasSubstr("no cgroup freezer"));

  ASSERT_THAT(freezer->Freeze(ContainerId{"c42"}), IsOk());
  ASSERT_THAT(freezer->Thaw(ContainerId{"c42"}), IsOk());

  EXPECT_THAT(engine_calls_, ElementsAre("pause c42", "unpause c42"));
  EXPECT_EQ(State("c42"), "");
}

TEST_F(ContainerFreezerTest, CgroupModeRefusesToStartWithoutACgroupFreezer) {
  EXPECT_THAT(Make(FreezerMode::kCgroup)->Probe(), StatusIs(absl::StatusCode::kFailedPrecondition));
}

TEST_F(ContainerFreezerTest, EngineModeNeverTouchesTheCgroup) {
  Write("cgroup/freezer/cgroup.procs", "");
  AddVisibleContainer(42);
  auto freezer = Make(FreezerMode::kEngine);
  ASSERT_THAT(freezer->Probe(), IsOk());

  ASSERT_THAT(freezer->Freeze(ContainerId{"c42"}), IsOk());

  EXPECT_STREQ(freezer->method(), "engine");
  EXPECT_THAT(engine_calls_, ElementsAre("pause c42"));
  EXPECT_EQ(State("c42"), "");
}

TEST_F(ContainerFreezerTest, AContainerWhoseCgroupIsNotVisibleIsPausedByTheEngine) {
  Write("cgroup/freezer/cgroup.procs", "");
  pids_["elsewhere"] = 4242;  // no /proc/4242 here: another PID namespace
  auto freezer = Make(FreezerMode::kAuto);
  ASSERT_THAT(freezer->Probe(), IsOk());

  ASSERT_THAT(freezer->Freeze(ContainerId{"elsewhere"}), IsOk());
  ASSERT_THAT(freezer->Thaw(ContainerId{"elsewhere"}), IsOk());

  EXPECT_THAT(engine_calls_, ElementsAre("pause elsewhere", "unpause elsewhere"));
}

TEST_F(ContainerFreezerTest, ANotRunningContainerIsTheEnginesToRefuse) {
  Write("cgroup/freezer/cgroup.procs", "");
  pids_["created"] = 0;
  auto freezer = Make(FreezerMode::kAuto);
  ASSERT_THAT(freezer->Probe(), IsOk());

  ASSERT_THAT(freezer->Freeze(ContainerId{"created"}), IsOk());

  EXPECT_THAT(engine_calls_, ElementsAre("pause created"));
}

TEST_F(ContainerFreezerTest, AGoneContainerIsNotFound) {
  Write("cgroup/freezer/cgroup.procs", "");
  auto freezer = Make(FreezerMode::kAuto);
  ASSERT_THAT(freezer->Probe(), IsOk());

  EXPECT_THAT(freezer->Freeze(ContainerId{"gone"}), StatusIs(absl::StatusCode::kNotFound));
}

TEST_F(ContainerFreezerTest, RemovalThawsAFrozenContainerFirstAndForgetsIt) {
  Write("cgroup/freezer/cgroup.procs", "");
  AddVisibleContainer(42);
  auto freezer = Make(FreezerMode::kAuto);
  ASSERT_THAT(freezer->Probe(), IsOk());
  ASSERT_THAT(freezer->Freeze(ContainerId{"c42"}), IsOk());
  ClearState("c42");

  freezer->ForgetForRemoval(ContainerId{"c42"});

  EXPECT_EQ(State("c42"), "THAWED");
  ASSERT_THAT(freezer->Freeze(ContainerId{"c42"}), IsOk());
  EXPECT_EQ(inspects_, 2);  // forgotten: looked up again
}

TEST_F(ContainerFreezerTest, ALeftoverFrozenByADeadRunnerIsThawed) {
  Write("cgroup/freezer/cgroup.procs", "");
  AddVisibleContainer(42);
  Write("cgroup/freezer/docker/c42/freezer.state", "FROZEN");
  auto freezer = Make(FreezerMode::kAuto);
  ASSERT_THAT(freezer->Probe(), IsOk());
  ClearState("c42");
  Write("cgroup/freezer/docker/c42/freezer.state", "FROZEN");

  freezer->ThawLeftover(ContainerId{"c42"});

  EXPECT_EQ(State("c42"), "THAWED");
}

}  // namespace
}  // namespace fnrunner
