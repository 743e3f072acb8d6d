#include "lb-client/runner_client.h"

#include <pthread.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/synchronization/notification.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "lb-client/call_model.h"
#include "lb-client/capacity_watch.h"
#include "lb-client/testing/fake_runner.h"
#include "tests/testing/status_matchers.h"

namespace fnrunner {
namespace {

using ::fnrunner::testing::EngageScript;
using ::fnrunner::testing::FakeRunner;
using ::fnrunner::testing::FakeRunnerOptions;
using ::testing::ElementsAre;
using ::testing::Pair;

// Collects what an attempt streamed.
class RecordingSink final : public ResponseSink {
 public:
  void OnStart(int status, const std::vector<std::pair<std::string, std::string>>& h) override {
    this->status = status;
    headers = h;
  }
  void OnData(absl::string_view data) override { body.append(data.data(), data.size()); }

  int status = 0;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
};

CallRequest Request(std::string body = "hello") {
  CallRequest request;
  request.call.id = "01E8S0W2ABNG8G00GZJ000000A";
  request.call.fn_id = "fn-1";
  request.call.app_id = "app-1";
  request.call.image = "fn-test/fdk:latest";
  request.slot_hash_id = SlotHashId(request.call);
  request.body = std::move(body);
  return request;
}

absl::Time Deadline() { return absl::Now() + absl::Seconds(20); }

class RunnerClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(runner_.Start().ok());
    auto client = RunnerClient::Create(runner_.address(), ChannelOptions());
    ASSERT_TRUE(client.ok()) << client.status();
    client_ = *std::move(client);
  }

  FakeRunner runner_;
  std::unique_ptr<RunnerClient> client_;
  RecordingSink sink_;
};

TEST_F(RunnerClientTest, EngageSendsTryCallAndMetadataAndStreamsTheAnswer) {
  CallRequest request = Request();
  request.extensions = {{"fnx.tier", "warm"}};
  request.request_id = "rid-1";

  AttemptResult result = client_->Engage(request, sink_, Deadline());

  EXPECT_EQ(result.kind, AttemptResult::Kind::kPlaced);
  EXPECT_THAT(result.status, IsOk());
  ASSERT_TRUE(result.finished.has_value());
  EXPECT_TRUE(result.finished->success());
  EXPECT_EQ(sink_.status, 200);
  EXPECT_THAT(sink_.headers, ElementsAre(Pair("Content-Type", "text/plain")));
  EXPECT_EQ(sink_.body, "hello");
  ASSERT_EQ(runner_.calls().size(), 1u);
  const testing::ReceivedCall call = runner_.calls()[0];
  EXPECT_EQ(call.try_call.models_call_json(), CallModelJson(request.call));
  EXPECT_EQ(call.try_call.slot_hash_id(), request.slot_hash_id);
  EXPECT_EQ(call.try_call.extensions().at("fnx.tier"), "warm");
  EXPECT_EQ(call.request_id, "rid-1");
}

TEST_F(RunnerClientTest, BodyGoesInTenKibFramesTheLastCarryingEof) {
  const std::string body(25000, 'x');

  AttemptResult result = client_->Engage(Request(body), sink_, Deadline());

  ASSERT_THAT(result.status, IsOk());
  const testing::ReceivedCall call = runner_.calls()[0];
  EXPECT_THAT(call.frame_sizes, ElementsAre(10240, 10240, 4520));
  EXPECT_THAT(call.frame_eofs, ElementsAre(false, false, true));
  EXPECT_EQ(call.body, body);
  EXPECT_EQ(sink_.body, body);
}

TEST_F(RunnerClientTest, AnEmptyBodyIsOneEmptyEofFrame) {
  AttemptResult result = client_->Engage(Request(""), sink_, Deadline());

  ASSERT_THAT(result.status, IsOk());
  EXPECT_THAT(runner_.calls()[0].frame_sizes, ElementsAre(0));
  EXPECT_THAT(runner_.calls()[0].frame_eofs, ElementsAre(true));
}

TEST_F(RunnerClientTest, CallFinished503IsANack) {
  runner_.Queue({EngageScript::kNackFinished});

  AttemptResult result = client_->Engage(Request(std::string(200000, 'b')), sink_, Deadline());

  EXPECT_EQ(result.kind, AttemptResult::Kind::kNack);
  EXPECT_THAT(result.status, StatusIs(absl::StatusCode::kResourceExhausted));
  EXPECT_EQ(sink_.status, 0);
}

TEST_F(RunnerClientTest, GrpcStatus503IsANack) {
  runner_.Queue({EngageScript::kNackStatus});

  AttemptResult result = client_->Engage(Request(), sink_, Deadline());

  EXPECT_EQ(result.kind, AttemptResult::Kind::kNack);
}

TEST_F(RunnerClientTest, A503AfterOutputStaysCommitted) {
  runner_.Queue({EngageScript::kOutputThen503});

  AttemptResult result = client_->Engage(Request(), sink_, Deadline());

  EXPECT_EQ(result.kind, AttemptResult::Kind::kPlaced);
  EXPECT_EQ(result.fn_error_code, 503);
  EXPECT_TRUE(result.output_started);
}

TEST_F(RunnerClientTest, AFailedCallIsCommittedWithItsCodeAndMessage) {
  runner_.Queue({EngageScript::kFail502});

  AttemptResult result = client_->Engage(Request(), sink_, Deadline());

  EXPECT_EQ(result.kind, AttemptResult::Kind::kPlaced);
  EXPECT_EQ(result.fn_error_code, 502);
  EXPECT_THAT(result.status, StatusIs(absl::StatusCode::kInternal, "function failed"));
  EXPECT_TRUE(result.finished->erroruser());
}

TEST_F(RunnerClientTest, AFailureWithoutMessageGetsFnsDefaultText) {
  runner_.Queue({EngageScript::kFailNoMessage});

  AttemptResult result = client_->Engage(Request(), sink_, Deadline());

  EXPECT_THAT(result.status,
              StatusIs(absl::StatusCode::kInternal, "Unknown Error From Pure Runner"));
}

TEST_F(RunnerClientTest, AStreamEndingWithoutCallFinishedIsACommittedInternalError) {
  runner_.Queue({EngageScript::kUnknownStatus});

  AttemptResult result = client_->Engage(Request(), sink_, Deadline());

  EXPECT_EQ(result.kind, AttemptResult::Kind::kPlaced);
  EXPECT_THAT(result.status, StatusIs(absl::StatusCode::kInternal));
}

TEST_F(RunnerClientTest, NobodyListeningIsNotPlaced) {
  runner_.Stop();

  AttemptResult result = client_->Engage(Request(), sink_, Deadline());

  EXPECT_EQ(result.kind, AttemptResult::Kind::kNotPlaced);
  EXPECT_THAT(result.status, StatusIs(absl::StatusCode::kUnavailable));
}

TEST_F(RunnerClientTest, ColdStartTimingsAreReturned) {
  runner_.Queue({EngageScript::kColdEcho});

  AttemptResult result = client_->Engage(Request(), sink_, Deadline());

  ASSERT_TRUE(result.finished.has_value());
  EXPECT_GT(result.finished->ctrcreateduration(), 0);
}

TEST_F(RunnerClientTest, StatusAndStatus2Answer) {
  EXPECT_THAT(client_->Status(absl::Seconds(5)), IsOk());
  EXPECT_THAT(client_->Status2(google::protobuf::Struct(), absl::Seconds(5)), IsOk());
  runner_.SetStatusOk(false);
  EXPECT_THAT(client_->Status(absl::Seconds(5)), StatusIs(absl::StatusCode::kInternal));
}

TEST_F(RunnerClientTest, StatusAsyncCallsBackOnceOnItsOwnThread) {
  absl::Notification done;
  absl::StatusOr<RunnerStatus> got;
  char thread_name[16] = {};

  client_->StatusAsync(absl::Seconds(5), [&](absl::StatusOr<RunnerStatus> status) {
    got = std::move(status);
    pthread_getname_np(pthread_self(), thread_name, sizeof(thread_name));
    done.Notify();
  });

  ASSERT_TRUE(done.WaitForNotificationWithTimeout(absl::Seconds(10)));
  EXPECT_THAT(got, IsOk());
  // Not on gRPC's callback threads, whose existence slows every call on the channel.
  EXPECT_STREQ(thread_name, RunnerClient::kStatusProbeThreadName);
}

TEST_F(RunnerClientTest, GetCapacityAndWatchDeliverSnapshots) {
  capacity::CapacitySnapshot snapshot;
  snapshot.set_memory_total_bytes(42);
  runner_.SetCapacity(snapshot);
  absl::Mutex mu;
  std::vector<uint64_t> seqs;
  absl::Notification ended;

  auto got = client_->GetCapacity(absl::Seconds(5));
  std::shared_ptr<CapacityWatch> watch = client_->Watch(
      absl::Seconds(20),
      [&](const capacity::CapacitySnapshot& s) {
        absl::MutexLock lock(&mu);
        seqs.push_back(s.seq());
      },
      [&](absl::Status) { ended.Notify(); });
  {
    absl::MutexLock lock(&mu);
    auto one = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) { return seqs.size() == 1; };
    ASSERT_TRUE(mu.AwaitWithTimeout(absl::Condition(&one), absl::Seconds(10)));
  }
  runner_.SetCapacity(snapshot);
  {
    absl::MutexLock lock(&mu);
    auto two = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) { return seqs.size() == 2; };
    ASSERT_TRUE(mu.AwaitWithTimeout(absl::Condition(&two), absl::Seconds(10)));
  }
  watch->Cancel();

  ASSERT_THAT(got, IsOk());
  EXPECT_EQ(got->memory_total_bytes(), 42);
  EXPECT_TRUE(ended.WaitForNotificationWithTimeout(absl::Seconds(10)));
  EXPECT_TRUE(watch->AwaitEnd(absl::Seconds(10)));
  absl::MutexLock lock(&mu);
  EXPECT_THAT(seqs, ElementsAre(1u, 2u));
}

TEST_F(RunnerClientTest, WatchCallbacksRunOnTheWatchsOwnThread) {
  runner_.SetCapacity(capacity::CapacitySnapshot());
  absl::Notification got_snapshot;
  char thread_name[16] = {};

  std::shared_ptr<CapacityWatch> watch = client_->Watch(
      absl::Seconds(20),
      [&](const capacity::CapacitySnapshot&) {
        if (got_snapshot.HasBeenNotified()) return;
        pthread_getname_np(pthread_self(), thread_name, sizeof(thread_name));
        got_snapshot.Notify();
      },
      [](absl::Status) {});

  ASSERT_TRUE(got_snapshot.WaitForNotificationWithTimeout(absl::Seconds(10)));
  watch->Cancel();
  EXPECT_TRUE(watch->AwaitEnd(absl::Seconds(10)));
  // Not on gRPC's callback threads, whose existence slows every call on the channel.
  EXPECT_STREQ(thread_name, CapacityWatch::kThreadName);
}

TEST(RunnerClientCreateTest, RejectsAddressesWithoutAPort) {
  EXPECT_THAT(RunnerClient::Create("localhost", ChannelOptions()),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(RunnerClient::Create("localhost:0", ChannelOptions()),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(RunnerClient::Create("[::1]:9190", ChannelOptions()), IsOk());
}

TEST(FnErrorCodeToStatusTest, MapsFnCodes) {
  EXPECT_THAT(FnErrorCodeToStatus(400, "x"), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(FnErrorCodeToStatus(404, "x"), StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(FnErrorCodeToStatus(501, "x"), StatusIs(absl::StatusCode::kUnimplemented));
  EXPECT_THAT(FnErrorCodeToStatus(503, "x"), StatusIs(absl::StatusCode::kResourceExhausted));
  EXPECT_THAT(FnErrorCodeToStatus(504, "x"), StatusIs(absl::StatusCode::kDeadlineExceeded));
  EXPECT_THAT(FnErrorCodeToStatus(0, "x"), StatusIs(absl::StatusCode::kInternal));
}

}  // namespace
}  // namespace fnrunner
