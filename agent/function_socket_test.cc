#include "agent/function_socket.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <optional>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"

namespace fnrunner {
namespace {

// A listening unix socket that records connection attempts in its backlog: nobody accepts,
// so HasPendingConnection() tells whether anyone connected. Non-blocking.
class Listener {
 public:
  explicit Listener(const std::string& path) {
    fd_ = UniqueFd(socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    std::strncpy(address.sun_path, path.c_str(), sizeof(address.sun_path) - 1);
    EXPECT_EQ(bind(fd_.get(), reinterpret_cast<sockaddr*>(&address), sizeof(address)), 0)
        << path << ": " << std::strerror(errno);
    EXPECT_EQ(listen(fd_.get(), 8), 0);
  }
  // Accepts one pending connection, if any.
  bool HasPendingConnection() {
    UniqueFd accepted(accept4(fd_.get(), nullptr, nullptr, SOCK_CLOEXEC));
    return accepted.valid();
  }
  void Close() { fd_.Reset(); }

 private:
  UniqueFd fd_;
};

class FunctionSocketTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<TempDir> root = TempDir::Create();
    ASSERT_THAT(root, IsOk());
    root_.emplace(*std::move(root));
    dir_ = root_->Join("iofs");
    outside_dir_ = root_->Join("outside");
    ASSERT_EQ(mkdir(dir_.c_str(), 0777), 0);
    ASSERT_EQ(mkdir(outside_dir_.c_str(), 0777), 0);
    // Stands for /var/run/docker.sock: a socket the function must never make us reach.
    outside_.emplace(outside_dir_ + "/docker.sock");
  }
  void TearDown() override {
    EXPECT_FALSE(outside_->HasPendingConnection()) << "the outside socket was reached";
  }

  std::string InDir(const std::string& name) const { return dir_ + "/" + name; }
  void Link(const std::string& text, const std::string& name) {
    ASSERT_EQ(symlink(text.c_str(), InDir(name).c_str()), 0) << name;
  }
  // Replaces `name` atomically by a symlink to `text`, as a hostile function would.
  void SwapForLink(const std::string& text, const std::string& name) {
    Link(text, name + ".new");
    ASSERT_EQ(rename(InDir(name + ".new").c_str(), InDir(name).c_str()), 0);
  }
  void ExpectRefused(absl::string_view why) {
    EXPECT_THAT(FunctionSocket::Open(dir_), StatusIs(absl::StatusCode::kFailedPrecondition)) << why;
  }

  std::optional<TempDir> root_;
  std::string dir_;
  std::string outside_dir_;
  std::optional<Listener> outside_;
};

TEST_F(FunctionSocketTest, PlainSocketIsAcceptedAndConnects) {
  Listener fdk(InDir("lsnr.sock"));

  absl::StatusOr<FunctionSocket> socket = FunctionSocket::Open(dir_);

  ASSERT_THAT(socket, IsOk());
  EXPECT_EQ(socket->name(), "lsnr.sock");
  EXPECT_THAT(socket->Connect(), IsOk());
  EXPECT_TRUE(fdk.HasPendingConnection());
}

TEST_F(FunctionSocketTest, PhonySocketLinkIsAcceptedAndConnects) {
  Listener fdk(InDir("phonylsnr.sock"));
  Link("phonylsnr.sock", "lsnr.sock");

  absl::StatusOr<FunctionSocket> socket = FunctionSocket::Open(dir_);

  ASSERT_THAT(socket, IsOk());
  EXPECT_EQ(socket->name(), "phonylsnr.sock");
  EXPECT_THAT(socket->Connect(), IsOk());
  EXPECT_TRUE(fdk.HasPendingConnection());
}

TEST_F(FunctionSocketTest, MissingSocketIsRefused) { ExpectRefused("no lsnr.sock"); }

TEST_F(FunctionSocketTest, AbsoluteLinkIsRefused) {
  Link(outside_dir_ + "/docker.sock", "lsnr.sock");
  ExpectRefused("absolute link");
}

TEST_F(FunctionSocketTest, DotDotLinkIsRefused) {
  Link("../outside/docker.sock", "lsnr.sock");
  ExpectRefused("../ link");
}

TEST_F(FunctionSocketTest, LinkIntoSubdirectoryIsRefused) {
  ASSERT_EQ(mkdir(InDir("sub").c_str(), 0777), 0);
  Listener fdk(InDir("sub/x"));
  Link("sub/x", "lsnr.sock");
  ExpectRefused("sub/x link");
}

TEST_F(FunctionSocketTest, DotAndDotDotLinksAreRefused) {
  Link(".", "lsnr.sock");
  ExpectRefused("link to .");
  ASSERT_EQ(unlink(InDir("lsnr.sock").c_str()), 0);
  Link("..", "lsnr.sock");
  ExpectRefused("link to ..");
}

TEST_F(FunctionSocketTest, LinkToLinkIsRefused) {
  Listener fdk(InDir("phonylsnr.sock"));
  Link("phonylsnr.sock", "hop");
  Link("hop", "lsnr.sock");
  ExpectRefused("link to a link to a socket in the directory");

  ASSERT_EQ(unlink(InDir("hop").c_str()), 0);
  Link(outside_dir_ + "/docker.sock", "hop");
  ExpectRefused("link to a link outside");
}

TEST_F(FunctionSocketTest, RegularFileIsRefused) {
  std::ofstream(InDir("lsnr.sock")) << "not a socket";
  ExpectRefused("regular file");
}

TEST_F(FunctionSocketTest, LinkToRegularFileIsRefused) {
  std::ofstream(InDir("phonylsnr.sock")) << "not a socket";
  Link("phonylsnr.sock", "lsnr.sock");
  ExpectRefused("link to a regular file");
}

TEST_F(FunctionSocketTest, FifoIsRefused) {
  ASSERT_EQ(mkfifo(InDir("lsnr.sock").c_str(), 0666), 0);
  ExpectRefused("fifo");
}

TEST_F(FunctionSocketTest, DirectoryIsRefused) {
  ASSERT_EQ(mkdir(InDir("lsnr.sock").c_str(), 0777), 0);
  ExpectRefused("directory");
}

TEST_F(FunctionSocketTest, SwappingTheTargetAfterValidationNeverReachesOutside) {
  Listener fdk(InDir("phonylsnr.sock"));
  Link("phonylsnr.sock", "lsnr.sock");
  absl::StatusOr<FunctionSocket> socket = FunctionSocket::Open(dir_);
  ASSERT_THAT(socket, IsOk());

  // After readiness the function points both names at the outside socket.
  SwapForLink(outside_dir_ + "/docker.sock", "phonylsnr.sock");
  SwapForLink(outside_dir_ + "/docker.sock", "lsnr.sock");
  absl::StatusOr<UniqueFd> connection = socket->Connect();

  // The pinned inode still has the function's listener bound to it, so that is where the
  // connection goes; TearDown checks that the outside socket saw nothing.
  ASSERT_THAT(connection, IsOk());
  EXPECT_TRUE(fdk.HasPendingConnection());
}

TEST_F(FunctionSocketTest, SwappingALinkToAnOutsideLinkAfterValidationNeverReachesOutside) {
  Listener fdk(InDir("lsnr.sock"));
  absl::StatusOr<FunctionSocket> socket = FunctionSocket::Open(dir_);
  ASSERT_THAT(socket, IsOk());

  Link(outside_dir_ + "/docker.sock", "evil");
  SwapForLink("evil", "lsnr.sock");
  absl::StatusOr<UniqueFd> connection = socket->Connect();

  ASSERT_THAT(connection, IsOk());
  EXPECT_TRUE(fdk.HasPendingConnection());
}

TEST_F(FunctionSocketTest, ClosedListenerThenSwapFailsWithoutReachingOutside) {
  std::optional<Listener> fdk;
  fdk.emplace(InDir("phonylsnr.sock"));
  Link("phonylsnr.sock", "lsnr.sock");
  absl::StatusOr<FunctionSocket> socket = FunctionSocket::Open(dir_);
  ASSERT_THAT(socket, IsOk());

  fdk.reset();
  SwapForLink(outside_dir_ + "/docker.sock", "phonylsnr.sock");

  EXPECT_THAT(socket->Connect(), StatusIs(absl::StatusCode::kUnavailable));
}

TEST_F(FunctionSocketTest, SocketNotListeningYetIsUnavailable) {
  UniqueFd bound(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  std::strncpy(address.sun_path, InDir("lsnr.sock").c_str(), sizeof(address.sun_path) - 1);
  ASSERT_EQ(bind(bound.get(), reinterpret_cast<sockaddr*>(&address), sizeof(address)), 0);
  absl::StatusOr<FunctionSocket> socket = FunctionSocket::Open(dir_);
  ASSERT_THAT(socket, IsOk());

  EXPECT_THAT(socket->Connect(), StatusIs(absl::StatusCode::kUnavailable));

  ASSERT_EQ(listen(bound.get(), 1), 0);
  EXPECT_THAT(socket->Connect(), IsOk());
}

}  // namespace
}  // namespace fnrunner
