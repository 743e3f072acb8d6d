#include "lb-client/direct_socket.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"

namespace fnrunner {
namespace {

// Serves one connection on a unix socket: reads requests (Content-Length bodies) and answers
// each with the next canned response, verbatim. Records the requests.
class CannedServer {
 public:
  CannedServer(const std::string& path, std::vector<std::string> responses)
      : responses_(std::move(responses)) {
    listener_ = socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::memcpy(addr.sun_path, path.data(), path.size());
    EXPECT_EQ(bind(listener_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
    EXPECT_EQ(listen(listener_, 1), 0);
    thread_ = std::thread([this] { Serve(); });
  }
  ~CannedServer() {
    if (thread_.joinable()) thread_.join();
    close(listener_);
  }
  // Valid after the client closed its connection and the server thread ended.
  const std::vector<std::string>& requests() {
    if (thread_.joinable()) thread_.join();
    return requests_;
  }

 private:
  void Serve() {
    const int fd = accept(listener_, nullptr, nullptr);
    std::string buffer;
    char chunk[4096];
    for (const std::string& response : responses_) {
      size_t head_end;
      while ((head_end = buffer.find("\r\n\r\n")) == std::string::npos) {
        const ssize_t n = read(fd, chunk, sizeof(chunk));
        if (n <= 0) break;
        buffer.append(chunk, static_cast<size_t>(n));
      }
      if (head_end == std::string::npos) break;
      const size_t length_at = buffer.find("Content-Length: ");
      size_t length = 0;
      EXPECT_TRUE(absl::SimpleAtoi(
          buffer.substr(length_at + 16, buffer.find("\r\n", length_at) - length_at - 16), &length));
      while (buffer.size() < head_end + 4 + length) {
        const ssize_t n = read(fd, chunk, sizeof(chunk));
        if (n <= 0) break;
        buffer.append(chunk, static_cast<size_t>(n));
      }
      requests_.push_back(buffer.substr(0, head_end + 4 + length));
      buffer.erase(0, head_end + 4 + length);
      EXPECT_EQ(write(fd, response.data(), response.size()), static_cast<ssize_t>(response.size()));
    }
    close(fd);
  }

  int listener_ = -1;
  const std::vector<std::string> responses_;
  std::vector<std::string> requests_;
  std::thread thread_;
};

TEST(DirectSocketClientTest, PostsCallsOnOneKeptAliveConnection) {
  absl::StatusOr<TempDir> dir = TempDir::Create();
  ASSERT_THAT(dir, IsOk());
  const std::string path = dir->Join("lsnr.sock");
  CannedServer server(path, {"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello",
                             "HTTP/1.1 502 Bad Gateway\r\nTransfer-Encoding: chunked\r\n\r\n"
                             "3\r\nabc\r\n2;x=y\r\nde\r\n0\r\nTrailer: t\r\n\r\n",
                             "HTTP/1.1 204 No Content\r\n\r\n"});

  {
    absl::StatusOr<DirectSocketClient> client = DirectSocketClient::Connect(path);
    ASSERT_THAT(client, IsOk());
    EXPECT_THAT(client->Post("body", "id-1", absl::Seconds(10)), IsOkAndHolds(200));
    EXPECT_THAT(client->Post("", "id-2", absl::Seconds(10)), IsOkAndHolds(502));
    EXPECT_THAT(client->Post("x", "id-3", absl::Seconds(10)), IsOkAndHolds(204));
  }

  const std::vector<std::string>& requests = server.requests();
  ASSERT_EQ(requests.size(), 3u);
  EXPECT_TRUE(absl::StartsWith(requests[0], "POST /call HTTP/1.1\r\n"));
  EXPECT_THAT(requests[0], ::testing::HasSubstr("Fn-Call-Id: id-1\r\n"));
  EXPECT_TRUE(absl::EndsWith(requests[0], "Content-Length: 4\r\n\r\nbody"));
}

TEST(DirectSocketClientTest, NothingListeningIsUnavailable) {
  absl::StatusOr<TempDir> dir = TempDir::Create();
  ASSERT_THAT(dir, IsOk());

  EXPECT_THAT(DirectSocketClient::Connect(dir->Join("none.sock")),
              StatusIs(absl::StatusCode::kUnavailable));
}

}  // namespace
}  // namespace fnrunner
