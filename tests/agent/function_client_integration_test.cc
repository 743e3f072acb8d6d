// The agent's container I/O against the real FDK test function (fn-test/fdk, see
// tests/functions/README.md) on the real dockerd: readiness by inotify, the socket check,
// and HTTP exchanges over the kept-alive unix socket connection.

#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "agent/function_client.h"
#include "agent/function_socket.h"
#include "agent/iofs_dir.h"
#include "agent/socket_watcher.h"
#include "base/status_macros.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/testing/docker_cli.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"

namespace fnrunner {
namespace {

using ::testing::ElementsAre;

constexpr absl::Duration kStartTimeout = absl::Seconds(20);
constexpr absl::Duration kCallTimeout = absl::Seconds(30);
constexpr size_t kFrameBytes = 10240;  // fn's LB sends the body in 10 KiB frames

// Feeds a body into a BodyPipe as the runner does: one frame, then the next only after the
// pipe's `on_wanted`. Owns its thread.
class FrameProducer {
 public:
  explicit FrameProducer(std::string data)
      : data_(std::move(data)), pipe_([this] { Want(); }), thread_([this] { Run(); }) {}
  ~FrameProducer() {
    {
      absl::MutexLock lock(&mu_);
      stopping_ = true;
    }
    thread_.join();
  }
  BodyPipe& pipe() { return pipe_; }

 private:
  void Want() {
    absl::MutexLock lock(&mu_);
    ++tokens_;
  }
  bool CanPushLocked() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return tokens_ > 0 || stopping_; }
  void Run() {
    size_t offset = 0;
    do {
      {
        absl::MutexLock lock(&mu_);
        mu_.Await(absl::Condition(this, &FrameProducer::CanPushLocked));
        if (stopping_) return;
        --tokens_;
      }
      size_t n = std::min(kFrameBytes, data_.size() - offset);
      pipe_.Push(data_.substr(offset, n), offset + n == data_.size());
      offset += n;
    } while (offset < data_.size());
  }

  const std::string data_;
  absl::Mutex mu_;
  int tokens_ ABSL_GUARDED_BY(mu_) = 1;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  BodyPipe pipe_;
  std::thread thread_;
};

class Sink : public ResponseSink {
 public:
  void OnResponseStart(int status, std::vector<HttpHeaderField> headers) override {
    this->status = status;
    this->headers = std::move(headers);
  }
  bool OnResponseData(absl::string_view data) override {
    ++pieces;
    absl::StrAppend(&body, data);
    return true;
  }
  int status = 0;
  HeaderList headers;
  std::string body;
  int pieces = 0;
};

std::string Pattern(size_t n) {
  std::string out(n, ' ');
  for (size_t i = 0; i < n; ++i) out[i] = static_cast<char>('a' + i % 26);
  return out;
}

class FunctionClientIntegrationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_THAT(RequireImage(kFdkTestImage), IsOk());
    absl::StatusOr<TempDir> root = TempDir::Create();
    ASSERT_THAT(root, IsOk());
    root_.emplace(*std::move(root));
    absl::StatusOr<IofsDir> iofs = IofsDir::Create(IofsOptions{root_->path(), "", true});
    ASSERT_THAT(iofs, IsOk());
    iofs_.emplace(*std::move(iofs));
    // Watching starts before the container exists, as the agent does.
    absl::StatusOr<std::unique_ptr<SocketWatcher>> watcher = SocketWatcher::Create(iofs_->path());
    ASSERT_THAT(watcher, IsOk());
    watcher_ = *std::move(watcher);
  }

  // Runs the function like the agent does and waits until it is ready.
  absl::Status Launch(std::vector<std::string> env = {},
                      absl::Duration ready_timeout = kStartTimeout) {
    TestContainerOptions options;
    options.iofs_dir = iofs_->host_path();
    options.env = std::move(env);
    options.extra_args = {"--network=none"};
    ASSIGN_OR_RETURN(TestContainer container, RunTestContainer(options));
    container_.emplace(std::move(container));
    return watcher_->Wait(absl::Now() + ready_timeout);
  }
  absl::StatusOr<std::unique_ptr<FunctionClient>> Connect(FunctionClient::Options options = {}) {
    ASSIGN_OR_RETURN(FunctionSocket socket, FunctionSocket::Open(iofs_->path()));
    return FunctionClient::Create(std::move(socket), options);
  }

  static FunctionRequest Request(HeaderList headers,
                                 std::optional<uint64_t> body_length = std::nullopt,
                                 absl::Duration timeout = kCallTimeout) {
    FunctionRequest request;
    request.call_id = CallId{"01INTEGRATIONTESTCALL00001"};
    request.deadline = absl::Now() + timeout;
    request.headers = std::move(headers);
    request.body_length = body_length;
    return request;
  }
  static ExchangeResult Call(FunctionClient& client, const FunctionRequest& request,
                             std::string body, Sink& sink) {
    BodyPipe pipe([] {});
    pipe.Push(std::move(body), true);
    return client.Exchange(request, pipe, sink);
  }

  // Destroyed in reverse: the container goes first, then the iofs directory, then the root.
  std::optional<TempDir> root_;
  std::optional<IofsDir> iofs_;
  std::unique_ptr<SocketWatcher> watcher_;
  std::optional<TestContainer> container_;
};

TEST_F(FunctionClientIntegrationTest, EchoesOverOneKeptAliveConnection) {
  ASSERT_THAT(Launch(), IsOk());
  absl::StatusOr<std::unique_ptr<FunctionClient>> client = Connect();
  ASSERT_THAT(client, IsOk());

  for (int i = 0; i < 3; ++i) {
    Sink sink;
    std::string body = absl::StrCat("hello ", i);
    ExchangeResult result =
        Call(**client, Request({{"Content-Type", "text/plain"}}, body.size()), body, sink);
    ASSERT_THAT(result.status, IsOk());
    EXPECT_EQ(sink.status, 200);
    EXPECT_EQ(sink.body, body);
    EXPECT_THAT(sink.headers, ::testing::Contains(HttpHeaderField{"Content-Type", "text/plain"}));
  }
}

TEST_F(FunctionClientIntegrationTest, FunctionSeesFnHeadersAndNoHopByHopOnes) {
  ASSERT_THAT(Launch(), IsOk());
  absl::StatusOr<std::unique_ptr<FunctionClient>> client = Connect();
  ASSERT_THAT(client, IsOk());
  FunctionRequest request = Request({{"Fn-Test-Mode", "info"},
                                     {"Connection", "close"},
                                     {"Upgrade", "h2c"},
                                     {"X-Multi", "one"},
                                     {"X-Multi", "two"}});
  request.deadline = absl::FromUnixMillis(4102444800123);  // 2100-01-01T00:00:00.123Z
  Sink sink;

  ExchangeResult result = Call(**client, request, "12345", sink);

  ASSERT_THAT(result.status, IsOk());
  nlohmann::json info = nlohmann::json::parse(sink.body);
  const nlohmann::json& headers = info["headers"];
  EXPECT_EQ(info["call_id"], "01INTEGRATIONTESTCALL00001");
  EXPECT_EQ(info["deadline"], "2100-01-01T00:00:00.123Z");
  EXPECT_EQ(info["body_bytes"], 5);
  EXPECT_EQ(headers["Host"], nlohmann::json::array({"localhost"}));
  EXPECT_EQ(headers["X-Multi"], nlohmann::json::array({"one", "two"}));
  EXPECT_EQ(headers["Transfer-Encoding"], nlohmann::json::array({"chunked"}));
  EXPECT_FALSE(headers.contains("Connection"));
  EXPECT_FALSE(headers.contains("Upgrade"));
}

TEST_F(FunctionClientIntegrationTest, StreamsFiveMegabytesEachWay) {
  ASSERT_THAT(Launch(), IsOk());
  absl::StatusOr<std::unique_ptr<FunctionClient>> client = Connect();
  ASSERT_THAT(client, IsOk());
  const std::string input = Pattern(5 << 20);
  Sink echoed;
  Sink generated;

  FrameProducer producer(input);
  ExchangeResult echo = (*client)->Exchange(Request({}), producer.pipe(), echoed);
  ExchangeResult output = Call(
      **client,
      Request({{"Fn-Test-Output-Bytes", absl::StrCat(5 << 20)}, {"Fn-Test-Chunk-Bytes", "65536"}}),
      "", generated);

  ASSERT_THAT(echo.status, IsOk());
  EXPECT_TRUE(echoed.body == input) << "echoed " << echoed.body.size() << " bytes";
  ASSERT_THAT(output.status, IsOk());
  EXPECT_TRUE(generated.body == input) << "got " << generated.body.size() << " bytes";
  EXPECT_GT(generated.pieces, 1);  // streamed, not delivered in one piece
}

TEST_F(FunctionClientIntegrationTest, ClampDeliversTheLimitThenFailsAndKeepsTheContainer) {
  ASSERT_THAT(Launch(), IsOk());
  FunctionClient::Options options;
  options.max_response_bytes = 100000;
  absl::StatusOr<std::unique_ptr<FunctionClient>> client = Connect(options);
  ASSERT_THAT(client, IsOk());
  Sink clamped;
  Sink after;

  ExchangeResult result =
      Call(**client, Request({{"Fn-Test-Output-Bytes", "1000000"}}), "", clamped);
  ExchangeResult next = Call(**client, Request({}), "still alive", after);

  EXPECT_THAT(result.status, StatusIs(absl::StatusCode::kAborted));
  EXPECT_EQ(result.error, fn_errors::ResponseTooBig());
  EXPECT_EQ(result.container, ContainerFate::kReuse);
  EXPECT_TRUE(clamped.body == Pattern(100000)) << clamped.body.size();
  ASSERT_THAT(next.status, IsOk());
  EXPECT_EQ(after.body, "still alive");
}

TEST_F(FunctionClientIntegrationTest, AnswerBeforeTheWholeBodyIsPrematureWrite) {
  ASSERT_THAT(Launch(), IsOk());
  absl::StatusOr<std::unique_ptr<FunctionClient>> client = Connect();
  ASSERT_THAT(client, IsOk());
  BodyPipe pipe([] {});
  pipe.Push("the first frame; the rest has not arrived", false);
  Sink sink;

  ExchangeResult result = (*client)->Exchange(Request({{"Fn-Test-Premature", "1"}}), pipe, sink);

  EXPECT_THAT(result.status, StatusIs(absl::StatusCode::kAborted));
  EXPECT_EQ(result.error, fn_errors::PrematureWrite());
  EXPECT_EQ(result.container, ContainerFate::kKill);
  EXPECT_EQ(sink.status, 0);
}

TEST_F(FunctionClientIntegrationTest, CrashesAreErrorReceivingResponse) {
  ASSERT_THAT(Launch(), IsOk());
  absl::StatusOr<std::unique_ptr<FunctionClient>> client = Connect();
  ASSERT_THAT(client, IsOk());
  Sink closed;
  Sink exited;

  ExchangeResult close = Call(**client, Request({{"Fn-Test-Crash", "close"}}), "", closed);
  ExchangeResult exit = Call(**client, Request({{"Fn-Test-Crash", "exit:3"}}), "", exited);

  EXPECT_EQ(close.error, fn_errors::FunctionResponse());
  EXPECT_EQ(close.container, ContainerFate::kKill);
  EXPECT_EQ(exit.error, fn_errors::FunctionResponse());
  EXPECT_EQ(exit.container, ContainerFate::kKill);
  EXPECT_THAT(container_->WaitExit(kStartTimeout), IsOkAndHolds(3));
}

TEST_F(FunctionClientIntegrationTest, FdkStatusesFollowFnTable) {
  ASSERT_THAT(Launch(), IsOk());
  absl::StatusOr<std::unique_ptr<FunctionClient>> client = Connect();
  ASSERT_THAT(client, IsOk());
  Sink s502;
  Sink s504;
  Sink s404;

  ExchangeResult failed = Call(**client, Request({{"Fn-Test-Status", "502"}}), "x", s502);
  ExchangeResult timeout = Call(**client, Request({{"Fn-Test-Status", "504"}}), "x", s504);
  ExchangeResult invalid = Call(**client, Request({{"Fn-Test-Status", "404"}}), "x", s404);

  EXPECT_EQ(failed.error, fn_errors::FunctionFailed());
  EXPECT_EQ(failed.container, ContainerFate::kReuse);
  EXPECT_EQ(timeout.error, fn_errors::CallTimeout());
  EXPECT_EQ(timeout.container, ContainerFate::kReuse);
  EXPECT_EQ(invalid.error, fn_errors::InvalidResponse());
  EXPECT_EQ(invalid.container, ContainerFate::kKill);
}

TEST_F(FunctionClientIntegrationTest, HangEndsAtTheDeadline) {
  ASSERT_THAT(Launch(), IsOk());
  absl::StatusOr<std::unique_ptr<FunctionClient>> client = Connect();
  ASSERT_THAT(client, IsOk());
  Sink sink;
  const absl::Time start = absl::Now();

  ExchangeResult result = Call(
      **client, Request({{"Fn-Test-Hang", "1"}}, std::nullopt, absl::Milliseconds(500)), "", sink);

  EXPECT_THAT(result.status, StatusIs(absl::StatusCode::kDeadlineExceeded));
  EXPECT_EQ(result.error, fn_errors::CallTimeout());
  EXPECT_EQ(result.container, ContainerFate::kKill);
  EXPECT_LT(absl::Now() - start, absl::Seconds(5));
}

TEST_F(FunctionClientIntegrationTest, DelayedSocketIsSeenWhenItAppears) {
  EXPECT_THAT(Launch({"FDK_TEST_SOCKET_DELAY_MS=500"}), IsOk());
  absl::StatusOr<std::unique_ptr<FunctionClient>> client = Connect();
  ASSERT_THAT(client, IsOk());
  Sink sink;

  EXPECT_THAT(Call(**client, Request({}), "late", sink).status, IsOk());
  EXPECT_EQ(sink.body, "late");
}

TEST_F(FunctionClientIntegrationTest, DirectlyBoundSocketWorksFromTheFirstCall) {
  ASSERT_THAT(Launch({"FDK_TEST_DIRECT_BIND=1"}), IsOk());
  absl::StatusOr<std::unique_ptr<FunctionClient>> client = Connect();
  ASSERT_THAT(client, IsOk());
  Sink sink;

  EXPECT_THAT(Call(**client, Request({}), "direct", sink).status, IsOk());
  EXPECT_EQ(sink.body, "direct");
}

TEST_F(FunctionClientIntegrationTest, NoSocketIsInitTimeout) {
  EXPECT_THAT(Launch({"FDK_TEST_NO_SOCKET=1"}, absl::Seconds(1)),
              StatusIs(absl::StatusCode::kDeadlineExceeded));
}

TEST_F(FunctionClientIntegrationTest, HostileSymlinksAreRefusedAtReadiness) {
  for (const char* target : {"/var/run/docker.sock", "../x", "sub/phonylsnr.sock", "/etc/passwd"}) {
    container_.reset();
    ASSERT_THAT(iofs_->Remove(), IsOk());
    absl::StatusOr<IofsDir> iofs = IofsDir::Create(IofsOptions{root_->path(), "", true});
    ASSERT_THAT(iofs, IsOk());
    iofs_.emplace(*std::move(iofs));
    absl::StatusOr<std::unique_ptr<SocketWatcher>> watcher = SocketWatcher::Create(iofs_->path());
    ASSERT_THAT(watcher, IsOk());
    watcher_ = *std::move(watcher);

    ASSERT_THAT(Launch({absl::StrCat("FDK_TEST_HOSTILE_SYMLINK=", target)}), IsOk()) << target;

    EXPECT_THAT(FunctionSocket::Open(iofs_->path()),
                StatusIs(absl::StatusCode::kFailedPrecondition))
        << target;
  }
}

}  // namespace
}  // namespace fnrunner
