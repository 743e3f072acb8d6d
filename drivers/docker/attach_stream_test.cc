#include "drivers/docker/attach_stream.h"

#include <sys/socket.h>
#include <sys/un.h>

#include <cstring>
#include <string>
#include <thread>

#include "absl/strings/match.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"

namespace fnrunner {
namespace {

using ::testing::HasSubstr;

// A one-connection fake engine on a unix socket: reads the request head, then writes
// `reply` (nothing if empty) and keeps the connection open until destroyed.
class FakeEngineSocket {
 public:
  explicit FakeEngineSocket(std::string reply) : reply_(std::move(reply)) {
    dir_ = std::make_unique<TempDir>(*TempDir::Create());
    path_ = dir_->Join("engine.sock");
    listener_ = UniqueFd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, path_.c_str(), sizeof(addr.sun_path) - 1);
    EXPECT_EQ(::bind(listener_.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
    EXPECT_EQ(::listen(listener_.get(), 1), 0);
    server_ = std::thread([this] {
      UniqueFd conn(::accept(listener_.get(), nullptr, nullptr));
      std::string head;
      char c;
      while (!absl::EndsWith(head, "\r\n\r\n") && ::read(conn.get(), &c, 1) == 1) head += c;
      {
        absl::MutexLock lock(&mu_);
        request_ = head;
      }
      if (!reply_.empty()) ::send(conn.get(), reply_.data(), reply_.size(), MSG_NOSIGNAL);
      done_.WaitForNotification();
    });
  }
  ~FakeEngineSocket() {
    done_.Notify();
    server_.join();
  }
  const std::string& path() const { return path_; }
  // Valid once the client got its reply.
  std::string request() {
    absl::MutexLock lock(&mu_);
    return request_;
  }

 private:
  std::string reply_;
  std::unique_ptr<TempDir> dir_;
  std::string path_;
  UniqueFd listener_;
  absl::Mutex mu_;
  std::string request_ ABSL_GUARDED_BY(mu_);
  absl::Notification done_;
  std::thread server_;
};

TEST(AttachStreamTest, UpgradedReplyHandsOverSocketAndEarlyBytes) {
  FakeEngineSocket engine(
      "HTTP/1.1 101 UPGRADED\r\nContent-Type: application/vnd.docker.raw-stream\r\n"
      "Connection: Upgrade\r\nUpgrade: tcp\r\n\r\nEARLY");

  absl::StatusOr<AttachConnection> conn = OpenAttachStream(
      engine.path(), "/v1.41/containers/c1/attach?stream=1&stdout=1&stderr=1", absl::Seconds(5));

  ASSERT_THAT(conn, IsOk());
  EXPECT_TRUE(conn->fd.valid());
  EXPECT_EQ(conn->initial_bytes, "EARLY");
  EXPECT_THAT(engine.request(),
              HasSubstr("POST /v1.41/containers/c1/attach?stream=1&stdout=1&stderr=1 HTTP/1.1"));
  EXPECT_THAT(engine.request(), HasSubstr("Upgrade: tcp"));
}

TEST(AttachStreamTest, ErrorReplyKeepsEngineCodeAndMessage) {
  FakeEngineSocket engine(
      "HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\n"
      "Transfer-Encoding: chunked\r\n\r\n23\r\n{\"message\":\"No such container: "
      "c1\"}\r\n0\r\n\r\n");

  EXPECT_THAT(OpenAttachStream(engine.path(), "/v1.41/containers/c1/attach", absl::Seconds(5)),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("No such container: c1")));
}

TEST(AttachStreamTest, GarbageReplyIsInternal) {
  FakeEngineSocket engine("SSH-2.0-OpenSSH\r\n\r\n");

  EXPECT_THAT(OpenAttachStream(engine.path(), "/x", absl::Seconds(5)),
              StatusIs(absl::StatusCode::kInternal));
}

TEST(AttachStreamTest, SilentEngineIsUnavailableAfterTheTimeout) {
  FakeEngineSocket engine("");
  const absl::Time start = absl::Now();

  EXPECT_THAT(OpenAttachStream(engine.path(), "/x", absl::Milliseconds(200)),
              StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_LT(absl::Now() - start, absl::Seconds(5));
}

TEST(AttachStreamTest, MissingSocketIsUnavailable) {
  EXPECT_THAT(OpenAttachStream("/nonexistent/fn-runner/docker.sock", "/x", absl::Seconds(1)),
              StatusIs(absl::StatusCode::kUnavailable));
}

}  // namespace
}  // namespace fnrunner
