#include "agent/function_client.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/civil_time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"

namespace fnrunner {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

// Bounds waits on the fake FDK's side; a passing test never reaches them.
constexpr absl::Duration kTestTimeout = absl::Seconds(20);

struct ServerRequest {
  std::string request_line;
  HeaderList headers;
  std::string body;
  std::vector<std::string> values(absl::string_view name) const {
    std::vector<std::string> found;
    for (const HttpHeaderField& h : headers) {
      if (absl::EqualsIgnoreCase(h.name, name)) found.push_back(h.value);
    }
    return found;
  }
};

// The fake FDK's side of one connection: blocking reads with a buffer, raw writes.
class ServerConn {
 public:
  explicit ServerConn(int fd) : fd_(fd) {}

  // Reads a request head. False on EOF or error.
  bool ReadHead(ServerRequest& request) {
    size_t end;
    while ((end = buffer_.find("\r\n\r\n")) == std::string::npos) {
      if (!Fill()) return false;
    }
    std::vector<std::string> lines = absl::StrSplit(buffer_.substr(0, end), "\r\n");
    buffer_.erase(0, end + 4);
    request = ServerRequest{lines[0], {}, ""};
    for (size_t i = 1; i < lines.size(); ++i) {
      std::pair<std::string, std::string> field =
          absl::StrSplit(lines[i], absl::MaxSplits(": ", 1));
      request.headers.push_back({field.first, field.second});
    }
    return true;
  }
  // Reads the whole body the head announced, calling `on_piece` for each decoded piece.
  bool ReadBody(ServerRequest& request,
                const std::function<void(absl::string_view)>& on_piece = nullptr) {
    BodyFormat format{BodyFraming::kContentLength, 0};
    if (!request.values("Transfer-Encoding").empty()) {
      format = {BodyFraming::kChunked, 0};
    } else if (!request.values("Content-Length").empty()) {
      EXPECT_TRUE(absl::SimpleAtoi(request.values("Content-Length")[0], &format.content_length));
    }
    BodyDecoder decoder(format, 4096);
    while (!decoder.done()) {
      absl::StatusOr<BodyDecoder::Step> step = decoder.Decode(buffer_);
      if (!step.ok()) return false;
      if (!step->data.empty()) {
        absl::StrAppend(&request.body, step->data);
        if (on_piece) on_piece(step->data);
      }
      buffer_.erase(0, step->consumed);
      if (step->consumed == 0 && !Fill()) return false;
    }
    return true;
  }
  void Write(absl::string_view bytes) {
    while (!bytes.empty()) {
      ssize_t n = send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
      if (n <= 0) return;  // the client went away; the test's assertions tell
      bytes.remove_prefix(static_cast<size_t>(n));
    }
  }
  int fd() const { return fd_; }

 private:
  bool Fill() {
    char buffer[16384];
    ssize_t n = recv(fd_, buffer, sizeof(buffer), 0);
    if (n <= 0) return false;
    buffer_.append(buffer, static_cast<size_t>(n));
    return true;
  }

  int fd_;
  std::string buffer_;
};

std::string Response(int status, const HeaderList& headers, absl::string_view body) {
  std::string out = absl::StrCat("HTTP/1.1 ", status, " Whatever\r\n");
  for (const HttpHeaderField& h : headers) absl::StrAppend(&out, h.name, ": ", h.value, "\r\n");
  absl::StrAppend(&out, "Content-Length: ", body.size(), "\r\n\r\n", body);
  return out;
}

// A scripted FDK: listens on phonylsnr.sock with a lsnr.sock link (fdk-go's pattern) and runs
// `handler` for each connection on its own thread. The connection closes when it returns.
class FakeFdk {
 public:
  using Handler = std::function<void(ServerConn&)>;

  FakeFdk(const std::string& dir, Handler handler) : handler_(std::move(handler)) {
    listener_ = UniqueFd(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    std::string path = dir + "/phonylsnr.sock";
    std::strncpy(address.sun_path, path.c_str(), sizeof(address.sun_path) - 1);
    EXPECT_EQ(bind(listener_.get(), reinterpret_cast<sockaddr*>(&address), sizeof(address)), 0);
    EXPECT_EQ(listen(listener_.get(), 8), 0);
    EXPECT_EQ(symlink("phonylsnr.sock", (dir + "/lsnr.sock").c_str()), 0);
    stop_ = UniqueFd(eventfd(0, EFD_CLOEXEC));
    acceptor_ = std::thread([this] { AcceptLoop(); });
  }
  ~FakeFdk() {
    stopping_.Notify();
    uint64_t one = 1;
    EXPECT_EQ(write(stop_.get(), &one, sizeof(one)), 8);
    acceptor_.join();
    {
      absl::MutexLock lock(&mu_);
      for (int fd : open_fds_) shutdown(fd, SHUT_RDWR);  // unblocks handlers still reading
    }
    for (std::thread& t : handlers_) t.join();
  }

  int connections() const {
    absl::MutexLock lock(&mu_);
    return connections_;
  }
  // Notified when the test ends: handlers that hang wait for it.
  const absl::Notification& stopping() const { return stopping_; }

 private:
  void AcceptLoop() {
    while (true) {
      pollfd fds[2] = {{listener_.get(), POLLIN, 0}, {stop_.get(), POLLIN, 0}};
      if (poll(fds, 2, -1) < 0 || fds[1].revents != 0) return;
      int fd = accept4(listener_.get(), nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0) continue;
      timeval timeout = absl::ToTimeval(kTestTimeout);
      setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
      setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof(timeout));
      absl::MutexLock lock(&mu_);
      ++connections_;
      open_fds_.push_back(fd);
      handlers_.emplace_back([this, fd] {
        ServerConn conn(fd);
        handler_(conn);
        absl::MutexLock lock(&mu_);
        open_fds_.erase(std::find(open_fds_.begin(), open_fds_.end(), fd));
        close(fd);
      });
    }
  }

  const Handler handler_;
  UniqueFd listener_;
  UniqueFd stop_;
  absl::Notification stopping_;
  std::thread acceptor_;
  mutable absl::Mutex mu_;
  int connections_ ABSL_GUARDED_BY(mu_) = 0;
  std::vector<int> open_fds_ ABSL_GUARDED_BY(mu_);
  std::vector<std::thread> handlers_;  // only the acceptor adds, before it is joined
};

void EchoHandler(ServerConn& conn) {
  ServerRequest request;
  while (conn.ReadHead(request) && conn.ReadBody(request)) {
    conn.Write(Response(200, {{"Content-Type", "text/plain"}}, request.body));
  }
}

// Records what the exchange delivers. Called on the exchange's thread; read after it ended.
class RecordingSink : public ResponseSink {
 public:
  void OnResponseStart(int status, std::vector<HttpHeaderField> headers) override {
    ++starts;
    this->status = status;
    this->headers = std::move(headers);
  }
  bool OnResponseData(absl::string_view data) override {
    absl::StrAppend(&body, data);
    if (!first_data.HasBeenNotified()) first_data.Notify();
    return wanted;
  }

  int starts = 0;
  int status = 0;
  HeaderList headers;
  std::string body;
  bool wanted = true;
  absl::Notification first_data;
};

class FunctionClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<TempDir> dir = TempDir::Create();
    ASSERT_THAT(dir, IsOk());
    dir_.emplace(*std::move(dir));
  }

  void StartFdk(FakeFdk::Handler handler) {
    fdk_ = std::make_unique<FakeFdk>(dir_->path(), std::move(handler));
  }
  std::unique_ptr<FunctionClient> Client(FunctionClient::Options options = {}) {
    absl::StatusOr<FunctionSocket> socket = FunctionSocket::Open(dir_->path());
    EXPECT_THAT(socket, IsOk());
    absl::StatusOr<std::unique_ptr<FunctionClient>> client =
        FunctionClient::Create(*std::move(socket), options);
    EXPECT_THAT(client, IsOk());
    return *std::move(client);
  }
  static FunctionRequest Request(std::optional<uint64_t> body_length = std::nullopt,
                                 absl::Duration timeout = kTestTimeout) {
    FunctionRequest request;
    request.call_id = CallId{"call-1"};
    request.deadline = absl::Now() + timeout;
    request.body_length = body_length;
    return request;
  }
  // One exchange with the whole body already in the pipe.
  static ExchangeResult Run(FunctionClient& client, const FunctionRequest& request,
                            std::vector<std::string> pieces, RecordingSink& sink) {
    BodyPipe body([] {});
    for (size_t i = 0; i < pieces.size(); ++i) {
      body.Push(std::move(pieces[i]), i + 1 == pieces.size());
    }
    return client.Exchange(request, body, sink);
  }

  std::optional<TempDir> dir_;
  std::unique_ptr<FakeFdk> fdk_;  // after dir_: stops before the directory goes
};

MATCHER_P2(Failed, code, error, "") {
  *result_listener << "status " << arg.status << ", error " << arg.error.code << " "
                   << arg.error.message;
  return arg.status.code() == code && arg.error == error;
}

TEST_F(FunctionClientTest, KeepAliveUsesOneConnectionForManyCalls) {
  StartFdk(EchoHandler);
  std::unique_ptr<FunctionClient> client = Client();

  for (int i = 0; i < 5; ++i) {
    RecordingSink sink;
    std::string body = absl::StrCat("call ", i);
    ExchangeResult result = Run(*client, Request(), {body}, sink);
    ASSERT_THAT(result.status, IsOk());
    EXPECT_EQ(result.container, ContainerFate::kReuse);
    EXPECT_EQ(sink.body, body);
  }

  EXPECT_EQ(fdk_->connections(), 1);
}

TEST_F(FunctionClientTest, SendsFnHeadersAndDropsHopByHopOnes) {
  ServerRequest seen;
  StartFdk([&](ServerConn& conn) {
    if (conn.ReadHead(seen) && conn.ReadBody(seen)) conn.Write(Response(200, {}, ""));
  });
  std::unique_ptr<FunctionClient> client = Client();
  FunctionRequest request = Request(/*body_length=*/4);
  request.deadline = absl::FromCivil(absl::CivilSecond(2099, 1, 2, 3, 4, 5), absl::UTCTimeZone()) +
                     absl::Milliseconds(678);
  request.headers = {{"Connection", "close"},
                     {"Keep-Alive", "300"},
                     {"Proxy-Connection", "x"},
                     {"Proxy-Authenticate", "x"},
                     {"Proxy-Authorization", "x"},
                     {"Te", "gzip"},
                     {"Trailer", "X"},
                     {"Transfer-Encoding", "chunked"},
                     {"Upgrade", "h2c"},
                     {"Content-Length", "999"},
                     {"Host", "evil"},
                     {"Fn-Call-Id", "spoofed"},
                     {"fn-deadline", "never"},
                     {"X-Multi", "one"},
                     {"x-multi", "two"},
                     {"Content-Type", "text/plain"}};
  RecordingSink sink;

  ExchangeResult result = Run(*client, request, {"body"}, sink);

  ASSERT_THAT(result.status, IsOk());
  EXPECT_EQ(seen.request_line, "POST /call HTTP/1.1");
  EXPECT_THAT(
      seen.headers,
      ElementsAre(HttpHeaderField{"Host", "localhost"}, HttpHeaderField{"X-Multi", "one"},
                  HttpHeaderField{"x-multi", "two"}, HttpHeaderField{"Content-Type", "text/plain"},
                  HttpHeaderField{"Fn-Call-Id", "call-1"},
                  HttpHeaderField{"Fn-Deadline", "2099-01-02T03:04:05.678Z"},
                  HttpHeaderField{"Content-Length", "4"}));
  EXPECT_EQ(seen.body, "body");
}

TEST_F(FunctionClientTest, TeTrailersIsForwarded) {
  ServerRequest seen;
  StartFdk([&](ServerConn& conn) {
    if (conn.ReadHead(seen) && conn.ReadBody(seen)) conn.Write(Response(200, {}, ""));
  });
  std::unique_ptr<FunctionClient> client = Client();
  FunctionRequest request = Request();
  request.headers = {{"Te", "trailers"}};
  RecordingSink sink;

  ASSERT_THAT(Run(*client, request, {""}, sink).status, IsOk());

  EXPECT_THAT(seen.values("Te"), ElementsAre("trailers"));
}

TEST_F(FunctionClientTest, UnknownLengthBodyIsChunked) {
  ServerRequest seen;
  StartFdk([&](ServerConn& conn) {
    if (conn.ReadHead(seen) && conn.ReadBody(seen)) conn.Write(Response(200, {}, "ok"));
  });
  std::unique_ptr<FunctionClient> client = Client();
  RecordingSink sink;

  ExchangeResult result = Run(*client, Request(), {"hello ", "", "world"}, sink);

  ASSERT_THAT(result.status, IsOk());
  EXPECT_THAT(seen.values("Transfer-Encoding"), ElementsAre("chunked"));
  EXPECT_THAT(seen.values("Content-Length"), IsEmpty());
  EXPECT_EQ(seen.body, "hello world");
  EXPECT_EQ(sink.body, "ok");
}

TEST_F(FunctionClientTest, EmptyBodyWithKnownLengthIsContentLengthZero) {
  ServerRequest seen;
  StartFdk([&](ServerConn& conn) {
    if (conn.ReadHead(seen) && conn.ReadBody(seen)) conn.Write(Response(200, {}, ""));
  });
  std::unique_ptr<FunctionClient> client = Client();
  RecordingSink sink;

  ExchangeResult result = Run(*client, Request(/*body_length=*/0), {""}, sink);

  ASSERT_THAT(result.status, IsOk());
  EXPECT_THAT(seen.values("Content-Length"), ElementsAre("0"));
  EXPECT_EQ(sink.starts, 1);
  EXPECT_EQ(sink.body, "");
}

TEST_F(FunctionClientTest, RequestBodyIsStreamedAsItArrives) {
  absl::Notification got_first_piece;
  ServerRequest seen;
  StartFdk([&](ServerConn& conn) {
    if (!conn.ReadHead(seen)) return;
    bool ok = conn.ReadBody(seen, [&](absl::string_view) {
      if (!got_first_piece.HasBeenNotified()) got_first_piece.Notify();
    });
    if (ok) conn.Write(Response(200, {}, "done"));
  });
  std::unique_ptr<FunctionClient> client = Client();
  BodyPipe body([] {});
  RecordingSink sink;
  ExchangeResult result;
  std::thread exchange([&] { result = client->Exchange(Request(), body, sink); });

  body.Push("first", false);
  // The function has the first piece while the second does not exist yet.
  ASSERT_TRUE(got_first_piece.WaitForNotificationWithTimeout(kTestTimeout));
  body.Push("second", true);
  exchange.join();

  ASSERT_THAT(result.status, IsOk());
  EXPECT_EQ(seen.body, "firstsecond");
}

TEST_F(FunctionClientTest, ResponseBodyIsStreamedAsItArrives) {
  absl::Notification sink_saw_first;
  bool streamed = false;
  StartFdk([&](ServerConn& conn) {
    ServerRequest request;
    if (!conn.ReadHead(request) || !conn.ReadBody(request)) return;
    conn.Write("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nfirst\r\n");
    // The rest is written only once the sink has the first bytes.
    streamed = sink_saw_first.WaitForNotificationWithTimeout(kTestTimeout);
    conn.Write("6\r\nsecond\r\n0\r\n\r\n");
  });
  std::unique_ptr<FunctionClient> client = Client();
  struct NotifyingSink : RecordingSink {
    absl::Notification* saw;
    bool OnResponseData(absl::string_view data) override {
      if (!saw->HasBeenNotified()) saw->Notify();
      return RecordingSink::OnResponseData(data);
    }
  } sink;
  sink.saw = &sink_saw_first;

  ExchangeResult result = Run(*client, Request(), {""}, sink);

  ASSERT_THAT(result.status, IsOk());
  EXPECT_TRUE(streamed);
  EXPECT_EQ(sink.body, "firstsecond");
}

TEST_F(FunctionClientTest, ResponseHeadersReachTheSinkWithoutHopByHop) {
  StartFdk([](ServerConn& conn) {
    ServerRequest request;
    if (!conn.ReadHead(request) || !conn.ReadBody(request)) return;
    conn.Write(
        "HTTP/1.1 200 OK\r\nConnection: keep-alive\r\nX-Out: 1\r\nTransfer-Encoding: chunked\r\n"
        "Keep-Alive: timeout=5\r\nX-Out: 2\r\nFn-Http-Status: 201\r\n\r\n0\r\n\r\n");
  });
  std::unique_ptr<FunctionClient> client = Client();
  RecordingSink sink;

  ExchangeResult result = Run(*client, Request(), {""}, sink);

  ASSERT_THAT(result.status, IsOk());
  EXPECT_TRUE(result.response_started);
  EXPECT_EQ(sink.status, 200);
  EXPECT_THAT(sink.headers,
              ElementsAre(HttpHeaderField{"X-Out", "1"}, HttpHeaderField{"X-Out", "2"},
                          HttpHeaderField{"Fn-Http-Status", "201"}));
}

TEST_F(FunctionClientTest, BodyUntilCloseIsDeliveredAndTheConnectionNotReused) {
  StartFdk([](ServerConn& conn) {
    ServerRequest request;
    if (!conn.ReadHead(request) || !conn.ReadBody(request)) return;
    conn.Write("HTTP/1.1 200 OK\r\n\r\nuntil the end");
  });
  std::unique_ptr<FunctionClient> client = Client();
  RecordingSink first;
  RecordingSink second;

  ExchangeResult a = Run(*client, Request(), {""}, first);
  ExchangeResult b = Run(*client, Request(), {""}, second);

  ASSERT_THAT(a.status, IsOk());
  ASSERT_THAT(b.status, IsOk());
  EXPECT_EQ(first.body, "until the end");
  EXPECT_EQ(fdk_->connections(), 2);
}

TEST_F(FunctionClientTest, InterimResponsesAreSkipped) {
  StartFdk([](ServerConn& conn) {
    ServerRequest request;
    if (!conn.ReadHead(request) || !conn.ReadBody(request)) return;
    conn.Write("HTTP/1.1 100 Continue\r\n\r\n" + Response(200, {}, "fine"));
  });
  std::unique_ptr<FunctionClient> client = Client();
  RecordingSink sink;

  ExchangeResult result = Run(*client, Request(), {""}, sink);

  ASSERT_THAT(result.status, IsOk());
  EXPECT_EQ(sink.body, "fine");
}

TEST_F(FunctionClientTest, SizeClampDeliversExactlyTheLimitThenFails) {
  StartFdk([](ServerConn& conn) {
    ServerRequest request;
    while (conn.ReadHead(request) && conn.ReadBody(request)) {
      conn.Write(Response(200, {}, request.body));
    }
  });
  FunctionClient::Options options;
  options.max_response_bytes = 10;
  std::unique_ptr<FunctionClient> client = Client(options);
  RecordingSink at_limit;
  RecordingSink over;

  ExchangeResult fits = Run(*client, Request(), {"0123456789"}, at_limit);
  ExchangeResult too_big = Run(*client, Request(), {"abcdefghijklmnopqrstuvwxy"}, over);

  ASSERT_THAT(fits.status, IsOk());
  EXPECT_EQ(at_limit.body, "0123456789");
  EXPECT_THAT(too_big, Failed(absl::StatusCode::kAborted, fn_errors::ResponseTooBig()));
  EXPECT_EQ(over.body, "abcdefghij");
  EXPECT_EQ(too_big.body_bytes, 10u);
  EXPECT_EQ(too_big.container, ContainerFate::kReuse);  // fn's table: kept
  RecordingSink after;
  EXPECT_THAT(Run(*client, Request(), {"x"}, after).status, IsOk());
  EXPECT_EQ(fdk_->connections(), 2);  // the clamped connection was dropped
}

TEST_F(FunctionClientTest, AnswerBeforeTheWholeRequestIsPrematureWrite) {
  StartFdk([](ServerConn& conn) {
    ServerRequest request;
    if (conn.ReadHead(request)) conn.Write(Response(200, {}, "too early"));
    conn.ReadBody(request);
  });
  std::unique_ptr<FunctionClient> client = Client();
  BodyPipe body([] {});
  body.Push("part of the body", false);  // the rest never comes
  RecordingSink sink;

  ExchangeResult result = client->Exchange(Request(), body, sink);

  EXPECT_THAT(result, Failed(absl::StatusCode::kAborted, fn_errors::PrematureWrite()));
  EXPECT_EQ(result.container, ContainerFate::kKill);
  EXPECT_FALSE(result.response_started);
  EXPECT_EQ(sink.starts, 0);
}

TEST_F(FunctionClientTest, ClosingWhileReceivingTheRequestIsClosedPipe) {
  StartFdk([](ServerConn& conn) {
    ServerRequest request;
    conn.ReadHead(request);  // then close without reading the body
  });
  std::unique_ptr<FunctionClient> client = Client();
  BodyPipe body([] {});
  body.Push("part of the body", false);
  RecordingSink sink;

  ExchangeResult result = client->Exchange(Request(), body, sink);

  EXPECT_THAT(result, Failed(absl::StatusCode::kAborted, fn_errors::ClosedPipe()));
  EXPECT_EQ(result.container, ContainerFate::kKill);
}

TEST_F(FunctionClientTest, ClosingWhileALargeBodyIsWrittenIsClosedPipe) {
  StartFdk([](ServerConn& conn) {
    ServerRequest request;
    conn.ReadHead(request);
  });
  std::unique_ptr<FunctionClient> client = Client();
  RecordingSink sink;

  // Far more than the socket buffers hold, so the write hits the closed connection.
  ExchangeResult result = Run(*client, Request(), {std::string(8 << 20, 'x')}, sink);

  EXPECT_THAT(result, Failed(absl::StatusCode::kAborted, fn_errors::ClosedPipe()));
  EXPECT_EQ(result.container, ContainerFate::kKill);
}

TEST_F(FunctionClientTest, CrashBeforeHeadersIsErrorReceivingResponse) {
  StartFdk([](ServerConn& conn) {
    ServerRequest request;
    if (conn.ReadHead(request)) conn.ReadBody(request);
  });
  std::unique_ptr<FunctionClient> client = Client();
  RecordingSink sink;

  ExchangeResult result = Run(*client, Request(), {"input"}, sink);

  EXPECT_THAT(result, Failed(absl::StatusCode::kAborted, fn_errors::FunctionResponse()));
  EXPECT_EQ(result.container, ContainerFate::kKill);
}

TEST_F(FunctionClientTest, CrashInTheMiddleOfTheBodyIsErrorReceivingResponse) {
  StartFdk([](ServerConn& conn) {
    ServerRequest request;
    if (conn.ReadHead(request) && conn.ReadBody(request)) {
      conn.Write("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly part");
    }
  });
  std::unique_ptr<FunctionClient> client = Client();
  RecordingSink sink;

  ExchangeResult result = Run(*client, Request(), {""}, sink);

  EXPECT_THAT(result, Failed(absl::StatusCode::kAborted, fn_errors::FunctionResponse()));
  EXPECT_TRUE(result.response_started);
  EXPECT_EQ(sink.body, "only part");
  EXPECT_EQ(result.container, ContainerFate::kKill);
}

TEST_F(FunctionClientTest, StatusRulesFollowFnTable) {
  struct Case {
    int status;
    absl::StatusCode code;
    FnError error;
    ContainerFate container;
  };
  const Case cases[] = {
      {502, absl::StatusCode::kAborted, fn_errors::FunctionFailed(), ContainerFate::kReuse},
      {504, absl::StatusCode::kDeadlineExceeded, fn_errors::CallTimeout(), ContainerFate::kReuse},
      {418, absl::StatusCode::kAborted, fn_errors::InvalidResponse(), ContainerFate::kKill},
      {201, absl::StatusCode::kAborted, fn_errors::InvalidResponse(), ContainerFate::kKill},
      {500, absl::StatusCode::kAborted, fn_errors::InvalidResponse(), ContainerFate::kKill},
  };
  for (const Case& c : cases) {
    const int status = c.status;
    fdk_.reset();
    unlink((dir_->path() + "/lsnr.sock").c_str());
    unlink((dir_->path() + "/phonylsnr.sock").c_str());
    StartFdk([status](ServerConn& conn) {
      ServerRequest request;
      if (conn.ReadHead(request) && conn.ReadBody(request)) {
        conn.Write(Response(status, {{"X-Secret", "fdk"}}, "fdk body"));
      }
    });
    std::unique_ptr<FunctionClient> client = Client();
    RecordingSink sink;

    ExchangeResult result = Run(*client, Request(), {""}, sink);

    EXPECT_THAT(result, Failed(c.code, c.error)) << c.status;
    EXPECT_EQ(result.container, c.container) << c.status;
    EXPECT_EQ(sink.starts, 0) << c.status;
    EXPECT_EQ(sink.body, "") << c.status;
  }
}

TEST_F(FunctionClientTest, FunctionFailedKeepsTheConnection) {
  StartFdk([](ServerConn& conn) {
    ServerRequest request;
    bool first = true;
    while (conn.ReadHead(request) && conn.ReadBody(request)) {
      conn.Write(first ? Response(502, {}, "{\"error\":\"boom\"}") : Response(200, {}, "ok"));
      first = false;
    }
  });
  std::unique_ptr<FunctionClient> client = Client();
  RecordingSink failed;
  RecordingSink ok;

  ExchangeResult a = Run(*client, Request(), {""}, failed);
  ExchangeResult b = Run(*client, Request(), {""}, ok);

  EXPECT_THAT(a, Failed(absl::StatusCode::kAborted, fn_errors::FunctionFailed()));
  ASSERT_THAT(b.status, IsOk());
  EXPECT_EQ(ok.body, "ok");
  EXPECT_EQ(fdk_->connections(), 1);
}

TEST_F(FunctionClientTest, MalformedResponseIsErrorReceivingResponse) {
  StartFdk([](ServerConn& conn) {
    ServerRequest request;
    if (conn.ReadHead(request) && conn.ReadBody(request)) conn.Write("SPDY/3 200 OK\r\n\r\n");
  });
  std::unique_ptr<FunctionClient> client = Client();
  RecordingSink sink;

  EXPECT_THAT(Run(*client, Request(), {""}, sink),
              Failed(absl::StatusCode::kAborted, fn_errors::FunctionResponse()));
}

TEST_F(FunctionClientTest, HeadersOverTheLimitAreTooLarge) {
  StartFdk([](ServerConn& conn) {
    ServerRequest request;
    if (conn.ReadHead(request) && conn.ReadBody(request)) {
      conn.Write(Response(200, {{"X-Big", std::string(4096, 'h')}}, ""));
    }
  });
  FunctionClient::Options options;
  options.max_response_head_bytes = 1024;
  std::unique_ptr<FunctionClient> client = Client(options);
  RecordingSink sink;

  ExchangeResult result = Run(*client, Request(), {""}, sink);

  EXPECT_THAT(result, Failed(absl::StatusCode::kAborted, fn_errors::ResponseHeadersTooBig()));
  EXPECT_EQ(result.container, ContainerFate::kKill);
}

TEST_F(FunctionClientTest, NoAnswerBeforeTheDeadlineTimesOutAndKills) {
  StartFdk([this](ServerConn& conn) {
    ServerRequest request;
    if (conn.ReadHead(request) && conn.ReadBody(request)) {
      fdk_->stopping().WaitForNotificationWithTimeout(kTestTimeout);
    }
  });
  std::unique_ptr<FunctionClient> client = Client();
  RecordingSink sink;

  ExchangeResult result =
      Run(*client, Request(std::nullopt, absl::Milliseconds(100)), {"input"}, sink);

  EXPECT_THAT(result, Failed(absl::StatusCode::kDeadlineExceeded, fn_errors::CallTimeout()));
  EXPECT_EQ(result.container, ContainerFate::kKill);
}

TEST_F(FunctionClientTest, DeadlineDuringTheBodyTimesOutAfterOutput) {
  StartFdk([this](ServerConn& conn) {
    ServerRequest request;
    if (conn.ReadHead(request) && conn.ReadBody(request)) {
      conn.Write("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nsome");
      fdk_->stopping().WaitForNotificationWithTimeout(kTestTimeout);
    }
  });
  std::unique_ptr<FunctionClient> client = Client();
  RecordingSink sink;

  ExchangeResult result = Run(*client, Request(std::nullopt, absl::Milliseconds(100)), {""}, sink);

  EXPECT_THAT(result, Failed(absl::StatusCode::kDeadlineExceeded, fn_errors::CallTimeout()));
  EXPECT_TRUE(result.response_started);
  EXPECT_EQ(sink.body, "some");
  EXPECT_EQ(result.container, ContainerFate::kKill);
}

TEST_F(FunctionClientTest, DeadlineAlreadyPassedSendsNothing) {
  StartFdk(EchoHandler);
  std::unique_ptr<FunctionClient> client = Client();
  RecordingSink sink;

  ExchangeResult result = Run(*client, Request(std::nullopt, -absl::Seconds(1)), {"input"}, sink);

  EXPECT_THAT(result, Failed(absl::StatusCode::kDeadlineExceeded, fn_errors::CallTimeout()));
  EXPECT_EQ(result.container, ContainerFate::kReuse);
  EXPECT_EQ(fdk_->connections(), 0);
}

TEST_F(FunctionClientTest, AbortEndsABlockedExchangePromptly) {
  absl::Notification got_request;
  StartFdk([&](ServerConn& conn) {
    ServerRequest request;
    if (conn.ReadHead(request) && conn.ReadBody(request)) {
      got_request.Notify();
      fdk_->stopping().WaitForNotificationWithTimeout(kTestTimeout);
    }
  });
  std::unique_ptr<FunctionClient> client = Client();
  RecordingSink sink;
  ExchangeResult result;
  std::thread exchange([&] { result = Run(*client, Request(), {"input"}, sink); });

  ASSERT_TRUE(got_request.WaitForNotificationWithTimeout(kTestTimeout));
  client->Abort();
  exchange.join();

  EXPECT_THAT(result.status, StatusIs(absl::StatusCode::kCancelled));
  EXPECT_EQ(result.container, ContainerFate::kKill);
}

TEST_F(FunctionClientTest, AbortWhileWaitingForTheRequestBody) {
  absl::Notification got_head;
  StartFdk([&](ServerConn& conn) {
    ServerRequest request;
    if (conn.ReadHead(request)) got_head.Notify();
    conn.ReadBody(request);
  });
  std::unique_ptr<FunctionClient> client = Client();
  BodyPipe body([] {});
  RecordingSink sink;
  ExchangeResult result;
  std::thread exchange([&] { result = client->Exchange(Request(), body, sink); });

  ASSERT_TRUE(got_head.WaitForNotificationWithTimeout(kTestTimeout));
  client->Abort();
  exchange.join();

  EXPECT_THAT(result.status, StatusIs(absl::StatusCode::kCancelled));
  EXPECT_EQ(result.container, ContainerFate::kKill);
}

TEST_F(FunctionClientTest, AbortedBodyPipeCancelsTheExchange) {
  absl::Notification got_head;
  StartFdk([&](ServerConn& conn) {
    ServerRequest request;
    if (conn.ReadHead(request)) got_head.Notify();
    conn.ReadBody(request);
  });
  std::unique_ptr<FunctionClient> client = Client();
  BodyPipe body([] {});
  RecordingSink sink;
  ExchangeResult result;
  std::thread exchange([&] { result = client->Exchange(Request(), body, sink); });

  ASSERT_TRUE(got_head.WaitForNotificationWithTimeout(kTestTimeout));
  body.Abort();  // what the agent does when the call is cancelled
  exchange.join();

  EXPECT_THAT(result.status, StatusIs(absl::StatusCode::kCancelled));
}

TEST_F(FunctionClientTest, AbortBetweenExchangesDoesNotAffectTheNextOne) {
  StartFdk(EchoHandler);
  std::unique_ptr<FunctionClient> client = Client();
  RecordingSink sink;

  client->Abort();
  ExchangeResult result = Run(*client, Request(), {"still fine"}, sink);

  ASSERT_THAT(result.status, IsOk());
  EXPECT_EQ(sink.body, "still fine");
}

TEST_F(FunctionClientTest, SinkRefusingDataCancelsAndKills) {
  StartFdk(EchoHandler);
  std::unique_ptr<FunctionClient> client = Client();
  RecordingSink sink;
  sink.wanted = false;

  ExchangeResult result = Run(*client, Request(), {"unwanted"}, sink);

  EXPECT_THAT(result.status, StatusIs(absl::StatusCode::kCancelled));
  EXPECT_EQ(result.container, ContainerFate::kKill);
}

TEST_F(FunctionClientTest, BodyNotMatchingItsLengthIsRefused) {
  StartFdk([](ServerConn& conn) {
    ServerRequest request;
    if (conn.ReadHead(request)) conn.ReadBody(request);
  });
  std::unique_ptr<FunctionClient> client = Client();
  RecordingSink sink;

  ExchangeResult result = Run(*client, Request(/*body_length=*/10), {"short"}, sink);

  EXPECT_THAT(result.status, StatusIs(absl::StatusCode::kFailedPrecondition));
  // The whole body was there before the first send: nothing reached the function.
  EXPECT_EQ(result.container, ContainerFate::kReuse);
}

TEST_F(FunctionClientTest, BodyOverrunningItsLengthAfterBytesWentOutKillsTheContainer) {
  StartFdk([](ServerConn& conn) {
    ServerRequest request;
    if (conn.ReadHead(request)) conn.ReadBody(request);
  });
  std::unique_ptr<FunctionClient> client = Client();
  RecordingSink sink;
  const std::string big(20000, 'x');  // more than one fill: sent before the next piece

  ExchangeResult result =
      Run(*client, Request(/*body_length=*/big.size() + 1), {big, "yy"}, sink);

  EXPECT_THAT(result.status, StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_EQ(result.container, ContainerFate::kKill);
}

TEST_F(FunctionClientTest, InjectedHeaderIsRefusedBeforeAnythingIsSent) {
  StartFdk(EchoHandler);
  std::unique_ptr<FunctionClient> client = Client();
  FunctionRequest request = Request();
  request.headers = {{"X-Evil", "a\r\nFn-Call-Id: other"}};
  RecordingSink sink;

  ExchangeResult result = Run(*client, request, {""}, sink);

  EXPECT_THAT(result.status, StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_EQ(result.container, ContainerFate::kReuse);
  EXPECT_EQ(fdk_->connections(), 0);
}

TEST_F(FunctionClientTest, ConnectionClosedByTheFunctionWhileIdleIsReplaced) {
  absl::Notification closed;
  StartFdk([&](ServerConn& conn) {
    ServerRequest request;
    if (conn.ReadHead(request) && conn.ReadBody(request)) {
      conn.Write(Response(200, {}, request.body));
    }
    if (!closed.HasBeenNotified()) {
      shutdown(conn.fd(), SHUT_RDWR);  // like an FDK's idle timeout
      closed.Notify();
    }
  });
  std::unique_ptr<FunctionClient> client = Client();
  RecordingSink first;
  RecordingSink second;

  ASSERT_THAT(Run(*client, Request(), {"one"}, first).status, IsOk());
  ASSERT_TRUE(closed.WaitForNotificationWithTimeout(kTestTimeout));
  ExchangeResult result = Run(*client, Request(), {"two"}, second);

  ASSERT_THAT(result.status, IsOk());
  EXPECT_EQ(second.body, "two");
  EXPECT_EQ(fdk_->connections(), 2);
}

TEST_F(FunctionClientTest, IdleConnectionIsNotReusedAfterMaxIdle) {
  StartFdk(EchoHandler);
  FunctionClient::Options options;
  options.max_connection_idle = absl::ZeroDuration();
  std::unique_ptr<FunctionClient> client = Client(options);

  for (int i = 0; i < 2; ++i) {
    RecordingSink sink;
    ASSERT_THAT(Run(*client, Request(), {"x"}, sink).status, IsOk());
  }

  EXPECT_EQ(fdk_->connections(), 2);
}

TEST_F(FunctionClientTest, FirstConnectRetriesUntilTheSocketListens) {
  // A socket bound directly to lsnr.sock exists before it listens (§10.25).
  UniqueFd bound(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  std::string path = dir_->Join("lsnr.sock");
  std::strncpy(address.sun_path, path.c_str(), sizeof(address.sun_path) - 1);
  ASSERT_EQ(bind(bound.get(), reinterpret_cast<sockaddr*>(&address), sizeof(address)), 0);
  std::unique_ptr<FunctionClient> client = Client();
  RecordingSink sink;
  ExchangeResult result;
  std::thread exchange([&] { result = Run(*client, Request(), {""}, sink); });

  ASSERT_EQ(listen(bound.get(), 1), 0);
  UniqueFd accepted(accept(bound.get(), nullptr, nullptr));
  ServerConn conn(accepted.get());
  ServerRequest request;
  ASSERT_TRUE(conn.ReadHead(request) && conn.ReadBody(request));
  conn.Write(Response(200, {}, "late but fine"));
  exchange.join();

  ASSERT_THAT(result.status, IsOk());
  EXPECT_EQ(sink.body, "late but fine");
}

TEST_F(FunctionClientTest, NeverListeningIsErrorReceivingResponse) {
  UniqueFd bound(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  std::string path = dir_->Join("lsnr.sock");
  std::strncpy(address.sun_path, path.c_str(), sizeof(address.sun_path) - 1);
  ASSERT_EQ(bind(bound.get(), reinterpret_cast<sockaddr*>(&address), sizeof(address)), 0);
  FunctionClient::Options options;
  options.first_connect_retry = absl::Milliseconds(20);
  std::unique_ptr<FunctionClient> client = Client(options);
  RecordingSink sink;

  ExchangeResult result = Run(*client, Request(), {""}, sink);

  EXPECT_THAT(result, Failed(absl::StatusCode::kAborted, fn_errors::FunctionResponse()));
  EXPECT_EQ(result.container, ContainerFate::kKill);
}

}  // namespace
}  // namespace fnrunner
