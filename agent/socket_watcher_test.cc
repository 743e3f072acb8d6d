#include "agent/socket_watcher.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <optional>
#include <string>
#include <thread>

#include "absl/synchronization/notification.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"

namespace fnrunner {
namespace {

constexpr absl::Duration kLong = absl::Seconds(30);  // never reached in a passing test
constexpr absl::Duration kShort = absl::Milliseconds(50);

// A unix socket bound (not listening: readiness only looks at the name) at `path`.
UniqueFd BindSocket(const std::string& path) {
  UniqueFd fd(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  std::strncpy(address.sun_path, path.c_str(), sizeof(address.sun_path) - 1);
  EXPECT_EQ(bind(fd.get(), reinterpret_cast<sockaddr*>(&address), sizeof(address)), 0)
      << path << ": " << std::strerror(errno);
  return fd;
}

class SocketWatcherTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<TempDir> dir = TempDir::Create();
    ASSERT_THAT(dir, IsOk());
    dir_.emplace(*std::move(dir));
  }
  std::unique_ptr<SocketWatcher> Watch() {
    absl::StatusOr<std::unique_ptr<SocketWatcher>> watcher = SocketWatcher::Create(dir_->path());
    EXPECT_THAT(watcher, IsOk());
    return watcher.ok() ? *std::move(watcher) : nullptr;
  }

  std::optional<TempDir> dir_;
};

TEST_F(SocketWatcherTest, SocketThatAlreadyExistsIsReady) {
  UniqueFd socket = BindSocket(dir_->Join("lsnr.sock"));
  std::unique_ptr<SocketWatcher> watcher = Watch();
  ASSERT_NE(watcher, nullptr);

  EXPECT_THAT(watcher->Wait(absl::Now() + kLong), IsOk());
}

TEST_F(SocketWatcherTest, SocketCreatedWhileWaitingIsReady) {
  std::unique_ptr<SocketWatcher> watcher = Watch();
  ASSERT_NE(watcher, nullptr);
  absl::Status status;
  std::thread waiter([&] { status = watcher->Wait(absl::Now() + kLong); });

  UniqueFd phony = BindSocket(dir_->Join("phonylsnr.sock"));
  ASSERT_EQ(symlink("phonylsnr.sock", dir_->Join("lsnr.sock").c_str()), 0);
  waiter.join();

  EXPECT_THAT(status, IsOk());
}

TEST_F(SocketWatcherTest, CreationIsSeenByItsEventEvenIfTheNameIsGoneAgain) {
  std::unique_ptr<SocketWatcher> watcher = Watch();
  ASSERT_NE(watcher, nullptr);
  // Only the inotify event can tell that lsnr.sock was created: it is gone by now.
  { UniqueFd socket = BindSocket(dir_->Join("lsnr.sock")); }
  ASSERT_EQ(unlink(dir_->Join("lsnr.sock").c_str()), 0);

  EXPECT_THAT(watcher->Wait(absl::Now() + kLong), IsOk());
}

TEST_F(SocketWatcherTest, NameMovedInIsReady) {
  std::unique_ptr<SocketWatcher> watcher = Watch();
  ASSERT_NE(watcher, nullptr);
  { UniqueFd socket = BindSocket(dir_->Join("tmp.sock")); }
  ASSERT_EQ(rename(dir_->Join("tmp.sock").c_str(), dir_->Join("lsnr.sock").c_str()), 0);
  ASSERT_EQ(unlink(dir_->Join("lsnr.sock").c_str()), 0);  // only IN_MOVED_TO tells

  EXPECT_THAT(watcher->Wait(absl::Now() + kLong), IsOk());
}

TEST_F(SocketWatcherTest, OtherNamesAreIgnoredUntilTheDeadline) {
  std::unique_ptr<SocketWatcher> watcher = Watch();
  ASSERT_NE(watcher, nullptr);
  UniqueFd phony = BindSocket(dir_->Join("phonylsnr.sock"));
  UniqueFd other = BindSocket(dir_->Join("lsnr.sock.tmp"));

  EXPECT_THAT(watcher->Wait(absl::Now() + kShort), StatusIs(absl::StatusCode::kDeadlineExceeded));
}

TEST_F(SocketWatcherTest, NeverAppearingIsDeadlineExceeded) {
  std::unique_ptr<SocketWatcher> watcher = Watch();
  ASSERT_NE(watcher, nullptr);

  EXPECT_THAT(watcher->Wait(absl::Now() + kShort), StatusIs(absl::StatusCode::kDeadlineExceeded));
  EXPECT_THAT(watcher->Wait(absl::InfinitePast()), StatusIs(absl::StatusCode::kDeadlineExceeded));
}

TEST_F(SocketWatcherTest, CancelEndsABlockedWait) {
  std::unique_ptr<SocketWatcher> watcher = Watch();
  ASSERT_NE(watcher, nullptr);
  absl::Status status;
  std::thread waiter([&] { status = watcher->Wait(absl::Now() + kLong); });

  watcher->Cancel();
  waiter.join();

  EXPECT_THAT(status, StatusIs(absl::StatusCode::kCancelled));
}

TEST_F(SocketWatcherTest, CancelIsSticky) {
  std::unique_ptr<SocketWatcher> watcher = Watch();
  ASSERT_NE(watcher, nullptr);

  watcher->Cancel();

  EXPECT_THAT(watcher->Wait(absl::Now() + kLong), StatusIs(absl::StatusCode::kCancelled));
  EXPECT_THAT(watcher->Wait(absl::Now() + kLong), StatusIs(absl::StatusCode::kCancelled));
}

TEST_F(SocketWatcherTest, MissingDirectoryIsInternal) {
  EXPECT_THAT(SocketWatcher::Create(dir_->Join("missing")), StatusIs(absl::StatusCode::kInternal));
}

}  // namespace
}  // namespace fnrunner
