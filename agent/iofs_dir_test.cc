#include "agent/iofs_dir.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <optional>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"

namespace fnrunner {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

bool Exists(const std::string& path) {
  struct stat st;
  return lstat(path.c_str(), &st) == 0;
}

void WriteFile(const std::string& path) { std::ofstream(path) << "x"; }

class IofsDirTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<TempDir> root = TempDir::Create();
    ASSERT_THAT(root, IsOk());
    root_.emplace(*std::move(root));
  }
  IofsOptions Options() const { return IofsOptions{root_->path(), "", true}; }

  std::optional<TempDir> root_;
};

TEST_F(IofsDirTest, CreatesWorldWritableDirectoryUnderRoot) {
  absl::StatusOr<IofsDir> dir = IofsDir::Create(Options());

  ASSERT_THAT(dir, IsOk());
  EXPECT_THAT(dir->path(), StartsWith(root_->path() + "/iofs"));
  EXPECT_EQ(dir->host_path(), dir->path());
  EXPECT_EQ(dir->socket_path(), dir->path() + "/lsnr.sock");
  struct stat st;
  ASSERT_EQ(stat(dir->path().c_str(), &st), 0);
  EXPECT_TRUE(S_ISDIR(st.st_mode));
  EXPECT_EQ(st.st_mode & 07777, 0777u);
}

TEST_F(IofsDirTest, EachDirectoryIsFresh) {
  absl::StatusOr<IofsDir> a = IofsDir::Create(Options());
  absl::StatusOr<IofsDir> b = IofsDir::Create(Options());

  ASSERT_THAT(a, IsOk());
  ASSERT_THAT(b, IsOk());
  EXPECT_NE(a->path(), b->path());
}

TEST_F(IofsDirTest, MapsHostPathUnderDockerRoot) {
  IofsOptions options = Options();
  options.docker_root = "/var/lib/fn/iofs/";

  absl::StatusOr<IofsDir> dir = IofsDir::Create(options);

  ASSERT_THAT(dir, IsOk());
  std::string name = dir->path().substr(root_->path().size() + 1);
  EXPECT_EQ(dir->host_path(), "/var/lib/fn/iofs/" + name);
}

TEST_F(IofsDirTest, DefaultRootIsTmpdir) {
  const char* saved = std::getenv("TMPDIR");
  std::optional<std::string> old = saved ? std::optional<std::string>(saved) : std::nullopt;
  setenv("TMPDIR", root_->path().c_str(), 1);

  absl::StatusOr<IofsDir> dir = IofsDir::Create(IofsOptions{});

  if (old.has_value()) {
    setenv("TMPDIR", old->c_str(), 1);
  } else {
    unsetenv("TMPDIR");
  }
  ASSERT_THAT(dir, IsOk());
  EXPECT_THAT(dir->path(), StartsWith(root_->path() + "/iofs"));
}

TEST_F(IofsDirTest, RootTooLongForSunPathIsRefusedClearly) {
  std::string long_root = root_->path() + "/" + std::string(100, 'r');
  ASSERT_EQ(mkdir(long_root.c_str(), 0700), 0);

  EXPECT_THAT(IofsDir::Create(IofsOptions{long_root, "", true}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       ::testing::AllOf(HasSubstr("too long"), HasSubstr("FN_IOFS_PATH"))));
}

TEST_F(IofsDirTest, RelativeRootIsInvalid) {
  EXPECT_THAT(IofsDir::Create(IofsOptions{"relative/dir", "", true}),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST_F(IofsDirTest, RemoveDeletesContentButNeverFollowsLinks) {
  std::string outside = root_->Join("outside");
  ASSERT_EQ(mkdir(outside.c_str(), 0700), 0);
  WriteFile(outside + "/precious");
  absl::StatusOr<IofsDir> dir = IofsDir::Create(Options());
  ASSERT_THAT(dir, IsOk());
  const std::string path = dir->path();
  ASSERT_EQ(mkdir((path + "/sub").c_str(), 0755), 0);
  ASSERT_EQ(mkdir((path + "/sub/deeper").c_str(), 0755), 0);
  WriteFile(path + "/sub/deeper/file");
  // What a container running as uid 1000 leaves behind.
  ASSERT_EQ(chown((path + "/sub").c_str(), 1000, 1000), 0);
  ASSERT_EQ(chown((path + "/sub/deeper/file").c_str(), 1000, 1000), 0);
  ASSERT_EQ(symlink(outside.c_str(), (path + "/escape").c_str()), 0);
  ASSERT_EQ(symlink(outside.c_str(), (path + "/sub/escape").c_str()), 0);

  EXPECT_THAT(dir->Remove(), IsOk());

  EXPECT_FALSE(Exists(path));
  EXPECT_TRUE(Exists(outside + "/precious"));
  EXPECT_THAT(dir->Remove(), IsOk());  // idempotent
}

TEST_F(IofsDirTest, DestructorRemoves) {
  std::string path;
  {
    absl::StatusOr<IofsDir> dir = IofsDir::Create(Options());
    ASSERT_THAT(dir, IsOk());
    path = dir->path();
    WriteFile(path + "/lsnr.sock");
  }

  EXPECT_FALSE(Exists(path));
}

TEST_F(IofsDirTest, MovedFromDirectoryDoesNotRemove) {
  absl::StatusOr<IofsDir> dir = IofsDir::Create(Options());
  ASSERT_THAT(dir, IsOk());
  const std::string path = dir->path();

  std::optional<IofsDir> moved(std::move(*dir));
  dir = absl::InternalError("gone");  // destroys the moved-from object

  EXPECT_TRUE(Exists(path));
  moved.reset();
  EXPECT_FALSE(Exists(path));
}

TEST_F(IofsDirTest, StaleSweepRemovesOnlyUnlockedOldOwnIofsDirs) {
  absl::StatusOr<IofsDir> live = IofsDir::Create(Options());
  ASSERT_THAT(live, IsOk());
  const std::string stale = root_->Join("iofs123456");
  ASSERT_EQ(mkdir(stale.c_str(), 0777), 0);
  ASSERT_EQ(mkdir((stale + "/sub").c_str(), 0777), 0);
  WriteFile(stale + "/sub/lsnr.sock");
  const std::string other = root_->Join("not-iofs");
  ASSERT_EQ(mkdir(other.c_str(), 0777), 0);
  const std::string foreign = root_->Join("iofsforeign");
  ASSERT_EQ(mkdir(foreign.c_str(), 0777), 0);
  ASSERT_EQ(chown(foreign.c_str(), 1000, 1000), 0);
  const std::string link = root_->Join("iofslink");
  ASSERT_EQ(symlink(other.c_str(), link.c_str()), 0);

  EXPECT_THAT(RemoveStaleIofsDirs(Options(), absl::ZeroDuration()), IsOkAndHolds(1));

  EXPECT_FALSE(Exists(stale));
  EXPECT_TRUE(Exists(live->path()));
  EXPECT_TRUE(Exists(other));
  EXPECT_TRUE(Exists(foreign));
  EXPECT_TRUE(Exists(link));
}

TEST_F(IofsDirTest, StaleSweepSparesYoungDirectories) {
  const std::string young = root_->Join("iofsyoung1");
  ASSERT_EQ(mkdir(young.c_str(), 0777), 0);

  EXPECT_THAT(RemoveStaleIofsDirs(Options(), absl::Hours(1)), IsOkAndHolds(0));

  EXPECT_TRUE(Exists(young));
}

TEST_F(IofsDirTest, StaleSweepOfMissingRootRemovesNothing) {
  EXPECT_THAT(RemoveStaleIofsDirs(IofsOptions{root_->Join("missing"), "", true}), IsOkAndHolds(0));
}

}  // namespace
}  // namespace fnrunner
