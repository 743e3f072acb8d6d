// End-to-end tests of the fn-runner binary: configuration, Status, Engage, /metrics, health
// and the drain on SIGTERM, driven over the wire. The runner runs with --agent=refuse (every
// call NACKed) until the hot agent is wired into main.cc.

#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "gmock/gmock.h"
#include "grpcpp/generic/generic_stub.h"
#include "gtest/gtest.h"
#include "proto/capacity.grpc.pb.h"
#include "tests/runner/runner_process.h"
#include "tests/testing/status_matchers.h"

namespace fnrunner::testing {
namespace {

using ::testing::HasSubstr;

std::chrono::system_clock::time_point Deadline() {
  return std::chrono::system_clock::now() + std::chrono::seconds(20);
}

ClientMsg Try(const std::string& id) {
  ClientMsg msg;
  msg.mutable_try_()->set_models_call_json(
      absl::StrCat(R"({"id":")", id, R"(","image":"img","timeout":30,"memory":128})"));
  return msg;
}

ClientMsg Eof() {
  ClientMsg msg;
  msg.mutable_data()->set_eof(true);
  return msg;
}

// grpc.health.v1.Health/Watch on the callback API: records every status the server pushes.
class HealthWatch final : public grpc::ClientBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer> {
 public:
  explicit HealthWatch(std::shared_ptr<grpc::Channel> channel) : stub_(std::move(channel)) {
    grpc::Slice empty("");  // HealthCheckRequest{service: ""}
    request_ = grpc::ByteBuffer(&empty, 1);
    stub_.PrepareBidiStreamingCall(&context_, "/grpc.health.v1.Health/Watch",
                                   grpc::StubOptions(), this);
    StartWriteLast(&request_, grpc::WriteOptions());
    StartRead(&response_);
    StartCall();
  }
  ~HealthWatch() override {
    context_.TryCancel();
    done_.WaitForNotification();
  }

  // Blocks until the server reported `status` (1 SERVING, 2 NOT_SERVING).
  bool WaitFor(int status) {
    absl::MutexLock lock(&mu_);
    auto seen = [this, status]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      for (int s : seen_) {
        if (s == status) return true;
      }
      return false;
    };
    return mu_.AwaitWithTimeout(absl::Condition(&seen), absl::Seconds(20));
  }

 private:
  void OnReadDone(bool ok) override {
    if (!ok) return;
    std::vector<grpc::Slice> slices;
    std::string bytes;
    if (response_.Dump(&slices).ok()) {
      for (const grpc::Slice& s : slices) {
        bytes.append(reinterpret_cast<const char*>(s.begin()), s.size());
      }
    }
    {
      absl::MutexLock lock(&mu_);
      seen_.push_back(bytes.size() == 2 && bytes[0] == 0x08 ? bytes[1] : 0);
    }
    StartRead(&response_);
  }
  void OnDone(const grpc::Status&) override { done_.Notify(); }

  grpc::GenericStub stub_;
  grpc::ClientContext context_;
  grpc::ByteBuffer request_;
  grpc::ByteBuffer response_;
  absl::Mutex mu_;
  std::vector<int> seen_ ABSL_GUARDED_BY(mu_);
  absl::Notification done_;
};

TEST(RunnerE2eTest, HelpListsEveryVariableAndExitsZero) {
  absl::StatusOr<ProcessResult> result = RunRunnerToExit({"--help"}, {});

  ASSERT_THAT(result, IsOk());
  EXPECT_EQ(result->exit_code, 0);
  for (const char* expected :
       {"--grpc-port", "FN_GRPC_PORT", "FN_PORT", "FN_ENABLE_NB_RESOURCE_TRACKER",
        "FN_MAX_RESPONSE_SIZE", "FN_HOT_START_TIMEOUT_MSECS", "FN_FREEZE_IDLE_MSECS",
        "FN_MAX_TOTAL_MEMORY_BYTES", "FN_MAX_TOTAL_CPU_MCPUS", "FN_STATUS_IMAGE",
        "FN_NODE_CERT", "FN_DRAIN_GRACE_MSECS"}) {
    EXPECT_THAT(result->out, HasSubstr(expected));
  }
}

TEST(RunnerE2eTest, InvalidEnvironmentStopsStartupNamingTheVariable) {
  absl::StatusOr<ProcessResult> result =
      RunRunnerToExit({"--agent=refuse"}, {{"FN_GRPC_PORT", "not-a-port"}});

  ASSERT_THAT(result, IsOk());
  EXPECT_EQ(result->exit_code, 2);
  EXPECT_THAT(result->err, HasSubstr("FN_GRPC_PORT"));
}

TEST(RunnerE2eTest, InvalidFlagStopsStartupNamingFlagAndVariable) {
  absl::StatusOr<ProcessResult> result =
      RunRunnerToExit({"--agent=refuse", "--freeze-idle-msecs=soon"}, {});

  ASSERT_THAT(result, IsOk());
  EXPECT_EQ(result->exit_code, 2);
  EXPECT_THAT(result->err, HasSubstr("--freeze-idle-msecs (FN_FREEZE_IDLE_MSECS)"));
}

TEST(RunnerE2eTest, UnreadableCertificateStopsStartupNamingTheVariable) {
  absl::StatusOr<ProcessResult> result = RunRunnerToExit(
      {"--agent=refuse", "--listen-host=127.0.0.1", "--grpc-port=0", "--port=0"},
      {{"FN_NODE_CERT", "/nonexistent/fn-runner-test-cert.pem"},
       {"FN_NODE_CERT_KEY", "/nonexistent/fn-runner-test-key.pem"}});

  ASSERT_THAT(result, IsOk());
  EXPECT_NE(result->exit_code, 0);
  EXPECT_THAT(result->err, HasSubstr("FN_NODE_CERT"));
}

TEST(RunnerE2eTest, BusyPortStopsStartupNamingTheVariable) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr = {};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  ASSERT_EQ(listen(fd, 1), 0);
  ASSERT_EQ(getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len), 0);

  absl::StatusOr<ProcessResult> result = RunRunnerToExit(
      {"--agent=refuse", "--listen-host=127.0.0.1", "--port=0",
       absl::StrCat("--grpc-port=", ntohs(addr.sin_port))},
      {});
  close(fd);

  ASSERT_THAT(result, IsOk());
  EXPECT_EQ(result->exit_code, 1);
  EXPECT_THAT(result->err, HasSubstr("FN_GRPC_PORT"));
}

TEST(RunnerE2eTest, ServesStatusAndNacksCallsWithoutAnAgent) {
  RunnerProcess runner;
  ASSERT_THAT(runner.Start(), IsOk());
  auto stub = runner.Stub();

  grpc::ClientContext engage_context;
  engage_context.set_deadline(Deadline());
  engage_context.AddMetadata("fn_request_id", "e2e-rid-1");
  auto stream = stub->Engage(&engage_context);
  ASSERT_TRUE(stream->Write(Try("e2e-call-1")));
  stream->Write(Eof());
  std::vector<RunnerMsg> got;
  RunnerMsg in;
  while (stream->Read(&in)) got.push_back(in);
  const grpc::Status engage_status = stream->Finish();
  grpc::ClientContext status_context;
  status_context.set_deadline(Deadline());
  RunnerStatus status;
  const grpc::Status status_status =
      stub->Status(&status_context, google::protobuf::Empty(), &status);

  ASSERT_TRUE(engage_status.ok()) << engage_status.error_message();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].finished().errorcode(), 503);
  EXPECT_EQ(got[0].finished().errorstr(), "Timed out - server too busy");
  EXPECT_EQ(got[0].finished().details(), "e2e-call-1");
  ASSERT_TRUE(status_status.ok());
  EXPECT_EQ(status.requestsreceived(), 1u);
  EXPECT_EQ(status.customstatus().at("fnrunner.draining"), "false");
}

TEST(RunnerE2eTest, ServesRunnerCapacityNextToRunnerProtocol) {
  RunnerProcess runner;
  ASSERT_THAT(runner.Start({"--agent=refuse", "--instance=e2e-runner"}), IsOk());
  auto stub = capacity::RunnerCapacity::NewStub(runner.Channel());
  grpc::ClientContext context;
  context.set_deadline(Deadline());
  capacity::CapacitySnapshot snapshot;

  const grpc::Status status = stub->Get(&context, capacity::GetRequest(), &snapshot);

  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(snapshot.runner_id(), "e2e-runner");
}

TEST(RunnerE2eTest, ServesMetrics) {
  RunnerProcess runner;
  ASSERT_THAT(runner.Start(), IsOk());

  absl::StatusOr<std::string> response = HttpGet(runner.http_port(), "/metrics");

  ASSERT_THAT(response, IsOk());
  EXPECT_THAT(*response, HasSubstr("200 OK"));
  EXPECT_THAT(*response, HasSubstr("# TYPE fn_calls counter"));
  EXPECT_THAT(*response, HasSubstr("# TYPE fn_queued gauge"));
  EXPECT_THAT(*response, HasSubstr("fnrunner_memory_bytes{kind=\"total\"}"));
  EXPECT_THAT(*response, HasSubstr("fnrunner_engage_streams 0"));
}

TEST(RunnerE2eTest, SigtermDrainsEndsOpenStreamsAndExitsZero) {
  RunnerProcess runner;
  ASSERT_THAT(runner.Start(), IsOk());
  auto stub = runner.Stub();
  grpc::ClientContext idle_context;  // a stream that never sends its TryCall
  idle_context.set_deadline(Deadline());
  auto idle = stub->Engage(&idle_context);
  HealthWatch watch(runner.Channel());
  ASSERT_TRUE(watch.WaitFor(1));

  runner.Signal(SIGTERM);
  const absl::Time signalled = absl::Now();

  EXPECT_TRUE(watch.WaitFor(2));  // NOT_SERVING during the drain
  // Refused as "try another runner" at the drain's first tick, not at its input timeout
  // (60 s) nor at the server's final 5 s shutdown deadline.
  RunnerMsg ignored;
  EXPECT_FALSE(idle->Read(&ignored));
  grpc::Status refused = idle->Finish();
  EXPECT_LT(absl::Now() - signalled, absl::Seconds(3));
  EXPECT_EQ(static_cast<int>(refused.error_code()), 503);
  EXPECT_EQ(refused.error_message(), "Timed out - server too busy");
  absl::StatusOr<ProcessResult> result = runner.Wait(absl::Seconds(30));
  ASSERT_THAT(result, IsOk());
  EXPECT_EQ(result->exit_code, 0) << result->err;
  EXPECT_THAT(result->err, HasSubstr("drained"));
  // The health Watch stays open to the end: it is cancelled, not waited for.
  EXPECT_LT(absl::Now() - signalled, absl::Seconds(3));
}

}  // namespace
}  // namespace fnrunner::testing
