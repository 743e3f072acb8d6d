// CgroupFreezer over a fake /proc and cgroup tree in a temp dir (plain files stand in for the
// kernel's). The real freezer is exercised by tests/driver against dockerd.
#include "drivers/docker/cgroup_freezer.h"

#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"

namespace fnrunner {
namespace {

class CgroupFreezerTest : public ::testing::Test {
 protected:
  void Write(const std::string& relative, const std::string& text) {
    const std::filesystem::path path = dir_.Join(relative);
    std::filesystem::create_directories(path.parent_path());
    std::ofstream(path) << text;
  }
  std::string Read(const std::string& relative) {
    std::ifstream in(dir_.Join(relative));
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
  }

  TempDir dir_ = TempDir::Create().value();  // a test without its dir cannot run at all
  CgroupFreezer freezer_{{dir_.Join("proc"), dir_.Join("cgroup")}};
};

constexpr char kV1Table[] =
    "9:name=systemd:/docker/abc\n6:freezer:/docker/abc\n4:memory:/docker/abc\n0::/docker/abc\n";

TEST_F(CgroupFreezerTest, LocatesTheV1FreezerEvenOnAHybridMount) {
  Write("proc/42/cgroup", kV1Table);
  Write("cgroup/freezer/docker/abc/freezer.state", "THAWED\n");

  absl::StatusOr<FreezerFile> file = freezer_.Locate(42);

  ASSERT_THAT(file, IsOk());
  EXPECT_EQ(file->path, dir_.Join("cgroup/freezer/docker/abc/freezer.state"));
  EXPECT_FALSE(file->v2);
}

TEST_F(CgroupFreezerTest, LocatesTheV2FreezeFile) {
  Write("proc/7/cgroup", "0::/system.slice/docker-abc.scope\n");
  Write("cgroup/system.slice/docker-abc.scope/cgroup.freeze", "0\n");

  absl::StatusOr<FreezerFile> file = freezer_.Locate(7);

  ASSERT_THAT(file, IsOk());
  EXPECT_EQ(file->path, dir_.Join("cgroup/system.slice/docker-abc.scope/cgroup.freeze"));
  EXPECT_TRUE(file->v2);
}

TEST_F(CgroupFreezerTest, AProcessWeCannotSeeIsNotFound) {
  EXPECT_THAT(freezer_.Locate(42), StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(freezer_.Locate(0), StatusIs(absl::StatusCode::kNotFound));
}

TEST_F(CgroupFreezerTest, AMissingFreezerFileIsNotUsable) {
  Write("proc/42/cgroup", kV1Table);  // but no cgroup/freezer/docker/abc/freezer.state

  EXPECT_FALSE(freezer_.Locate(42).ok());
}

TEST_F(CgroupFreezerTest, AProcessInTheRootCgroupHasNoFreezerOfItsOwn) {
  Write("proc/1/cgroup", "0::/\n");

  EXPECT_THAT(freezer_.Locate(1), StatusIs(absl::StatusCode::kFailedPrecondition));
}

TEST_F(CgroupFreezerTest, FreezeAndThawWriteEachVersionsWords) {
  // Empty files: a regular file, unlike the kernel's, keeps old text past a shorter write.
  Write("cgroup/freezer/docker/abc/freezer.state", "");
  Write("cgroup/docker/abc/cgroup.freeze", "");
  const FreezerFile v1{dir_.Join("cgroup/freezer/docker/abc/freezer.state"), false};
  const FreezerFile v2{dir_.Join("cgroup/docker/abc/cgroup.freeze"), true};

  ASSERT_THAT(CgroupFreezer::Freeze(v1), IsOk());
  ASSERT_THAT(CgroupFreezer::Freeze(v2), IsOk());
  EXPECT_EQ(Read("cgroup/freezer/docker/abc/freezer.state"), "FROZEN");
  EXPECT_EQ(Read("cgroup/docker/abc/cgroup.freeze"), "1");
  EXPECT_THAT(CgroupFreezer::IsFrozen(v1), IsOkAndHolds(true));
  EXPECT_THAT(CgroupFreezer::IsFrozen(v2), IsOkAndHolds(true));

  std::filesystem::resize_file(v1.path, 0);
  std::filesystem::resize_file(v2.path, 0);
  ASSERT_THAT(CgroupFreezer::Thaw(v1), IsOk());
  ASSERT_THAT(CgroupFreezer::Thaw(v2), IsOk());
  EXPECT_EQ(Read("cgroup/freezer/docker/abc/freezer.state"), "THAWED");
  EXPECT_EQ(Read("cgroup/docker/abc/cgroup.freeze"), "0");
  EXPECT_THAT(CgroupFreezer::IsFrozen(v1), IsOkAndHolds(false));
}

TEST_F(CgroupFreezerTest, WritingAGoneCgroupIsNotFound) {
  const FreezerFile gone{dir_.Join("cgroup/freezer/docker/gone/freezer.state"), false};

  EXPECT_THAT(CgroupFreezer::Freeze(gone), StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(CgroupFreezer::Thaw(gone), StatusIs(absl::StatusCode::kNotFound));
}

TEST_F(CgroupFreezerTest, ProbeFindsAV1OrV2Hierarchy) {
  EXPECT_THAT(freezer_.Probe(), StatusIs(absl::StatusCode::kFailedPrecondition));

  Write("cgroup/freezer/cgroup.procs", "");  // the v1 hierarchy's root
  EXPECT_THAT(freezer_.Probe(), IsOk());

  CgroupFreezer v2({dir_.Join("proc"), dir_.Join("v2")});
  Write("v2/cgroup.subtree_control", "");
  EXPECT_THAT(v2.Probe(), IsOk());
}

}  // namespace
}  // namespace fnrunner
