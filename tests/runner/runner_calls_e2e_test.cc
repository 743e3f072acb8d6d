// fn-runner running real functions: the real process, the real hot agent, dockerd and the
// fn-test/fdk image, driven over the wire the way fn's LB drives it (runner-protocol.md §11,
// the items that need no Go LB in front).

#include <csignal>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/random/random.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/runner/engage_client.h"
#include "tests/runner/runner_process.h"
#include "tests/testing/docker_cli.h"
#include "tests/testing/poll.h"
#include "tests/testing/status_matchers.h"

namespace fnrunner::testing {
namespace {

using ::testing::Each;
using ::testing::Gt;
using ::testing::Le;

constexpr char kImage[] = "fn-test/fdk:latest";

std::string NewCallId() {
  static absl::BitGen gen;
  return absl::StrFormat("01TEST%020x", absl::Uniform<uint64_t>(gen));
}

class RunnerCallsE2eTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_THAT(RequireImage(kImage), IsOk()); }

  // Starts fn-runner with the hot agent; its containers carry a label tag of this test's own,
  // which the leftover check knows by its fn-runner-test prefix.
  void StartRunner(std::map<std::string, std::string> env = {}) {
    static absl::BitGen gen;
    tag_ = absl::StrFormat("fn-runner-test-e2e-%08x", absl::Uniform<uint32_t>(gen));
    env["FN_CONTAINER_LABEL_TAG"] = tag_;
    if (!env.contains("FN_MAX_RESPONSE_SIZE")) env["FN_MAX_RESPONSE_SIZE"] = "6291456";
    runner_ = std::make_unique<RunnerProcess>();
    ASSERT_THAT(runner_->Start({}, env), IsOk());
    stub_ = runner_->Stub();
  }

  void TearDown() override {
    if (runner_ == nullptr) return;
    // stub_ stays: a slow call a failed test left running still uses it (slow_call_ is
    // joined after this, when the runner is gone).
    if (!drain_started_) runner_->Signal(SIGTERM);  // A second signal would mean "exit now".
    absl::StatusOr<ProcessResult> exit = runner_->Wait(absl::Seconds(60));
    ASSERT_THAT(exit, IsOk());
    EXPECT_EQ(exit->exit_code, 0) << runner_->log();
    // A drained runner leaves no container behind.
    EXPECT_EQ(ContainerCount(), 0);
  }

  // The ids of this runner's containers; an error if docker cannot list them.
  absl::StatusOr<std::vector<std::string>> ContainerIds() {
    absl::StatusOr<std::string> ids =
        RunDocker({"ps", "-aq", "--filter", "label=fn-agent-classifier=" + tag_});
    if (!ids.ok()) return ids.status();
    return std::vector<std::string>(absl::StrSplit(*ids, '\n', absl::SkipWhitespace()));
  }
  int ContainerCount() {
    absl::StatusOr<std::vector<std::string>> ids = ContainerIds();
    return ids.ok() ? static_cast<int>(ids->size()) : -1;
  }

  // Starts a call whose function sleeps `sleep_ms` (its outcome lands in slow_out_, its
  // thread is slow_call_) and returns once the call's container exists.
  void StartSlowCall(int sleep_ms) {
    TestCall slow;
    slow.headers["Fn-Test-Sleep-Ms"] = {std::to_string(sleep_ms)};
    slow_call_ = std::jthread([this, slow] { slow_out_ = Call(slow, "in flight"); });
    ASSERT_THAT(PollUntil([&] { return ContainerCount() == 1; }, absl::Seconds(20),
                          "the slow call's container"),
                IsOk());
  }

  // SIGTERM, then waits for health NOT_SERVING: the signal is handled asynchronously.
  void BeginDrain() {
    runner_->Signal(SIGTERM);
    drain_started_ = true;
    ASSERT_THAT(PollUntil([&] { return HealthCheck(runner_->Channel(), "") == 2; },
                          absl::Seconds(10), "health NOT_SERVING"),
                IsOk());
  }

  EngageOutcome Call(TestCall call, const std::string& body = "", bool send_eof = true) {
    if (call.id.empty()) call.id = NewCallId();
    return Engage(*stub_, CallJson(call), body, send_eof);
  }

  std::string tag_;
  bool drain_started_ = false;
  std::unique_ptr<RunnerProcess> runner_;
  std::unique_ptr<RunnerProtocol::Stub> stub_;
  EngageOutcome slow_out_;
  // Last: joined first, once TearDown has stopped the runner if a test failed midway.
  std::jthread slow_call_;
};

std::string HeaderValue(const EngageOutcome& out, const std::string& name) {
  for (const HttpHeader& h : out.headers) {
    if (absl::EqualsIgnoreCase(h.key(), name)) return h.value();
  }
  return "<absent>";
}

TEST_F(RunnerCallsE2eTest, EchoesTheBodyAndReportsTheCallId) {
  StartRunner();
  TestCall call;
  call.id = NewCallId();
  call.headers["Content-Type"] = {"application/json"};

  EngageOutcome out = Call(call, R"({"hello":"world"})");

  ASSERT_TRUE(out.status.ok()) << out.status.error_message();
  ASSERT_TRUE(out.finished);
  EXPECT_TRUE(out.finish.success()) << out.finish.errorstr();
  EXPECT_EQ(out.http_status, 200);
  EXPECT_EQ(HeaderValue(out, "Content-Type"), "application/json");
  EXPECT_EQ(out.body, R"({"hello":"world"})");
  EXPECT_EQ(out.finish.details(), call.id);
  EXPECT_EQ(out.finish.image(), kImage);
  EXPECT_GT(out.finish.executionduration(), 0);
  EXPECT_GT(out.finish.ctrcreateduration(), 0);  // a fresh container: the phase happened
  EXPECT_GT(out.finish.initstarttime(), 0);
  // Result start, data, finished: in that order, finished last.
  EXPECT_EQ(out.messages.front().body_case(), RunnerMsg::kResultStart);
  EXPECT_EQ(out.messages.back().body_case(), RunnerMsg::kFinished);
}

TEST_F(RunnerCallsE2eTest, SecondCallReusesTheHotContainer) {
  StartRunner();
  EngageOutcome first = Call(TestCall{});
  EngageOutcome second = Call(TestCall{});

  ASSERT_TRUE(first.finish.success()) << first.finish.errorstr();
  ASSERT_TRUE(second.finish.success()) << second.finish.errorstr();
  EXPECT_EQ(second.finish.ctrcreateduration(), 0);  // no launch for a hot container
  EXPECT_EQ(ContainerCount(), 1);
}

TEST_F(RunnerCallsE2eTest, EmptyBodyGivesAnEmptyResponse) {
  StartRunner();

  EngageOutcome out = Call(TestCall{}, "");

  ASSERT_TRUE(out.finish.success()) << out.finish.errorstr();
  EXPECT_EQ(out.http_status, 200);
  EXPECT_TRUE(out.body.empty());
  EXPECT_TRUE(out.frame_sizes.empty());  // fn never sends an empty data frame
}

TEST_F(RunnerCallsE2eTest, LargeResponseStreamsInFramesOfAtMost10KiB) {
  StartRunner();
  TestCall call;
  call.headers["Fn-Test-Output-Bytes"] = {"5300000"};

  EngageOutcome out = Call(call);

  ASSERT_TRUE(out.finish.success()) << out.finish.errorstr();
  ASSERT_EQ(out.body.size(), 5300000u);
  for (size_t i = 0; i < out.body.size(); ++i) {
    ASSERT_EQ(out.body[i], static_cast<char>('a' + i % 26)) << "byte " << i;
  }
  EXPECT_THAT(out.frame_sizes, Each(Le(10240u)));
  EXPECT_THAT(out.frame_sizes, Each(Gt(0u)));
}

TEST_F(RunnerCallsE2eTest, ResponseOverTheLimitFailsWithFnsError) {
  StartRunner({{"FN_MAX_RESPONSE_SIZE", "6291456"}});
  TestCall call;
  call.headers["Fn-Test-Output-Bytes"] = {"7000000"};

  EngageOutcome out = Call(call);

  ASSERT_TRUE(out.finished);
  EXPECT_FALSE(out.finish.success());
  EXPECT_EQ(out.finish.errorcode(), 502);
  EXPECT_EQ(out.finish.errorstr(), "function response body too large");
  EXPECT_TRUE(out.status.ok());
}

TEST_F(RunnerCallsE2eTest, SlowContainerInitGives504) {
  StartRunner({{"FN_HOT_START_TIMEOUT_MSECS", "1500"}});
  TestCall call;
  call.config["FDK_TEST_SOCKET_DELAY_MS"] = "4000";

  EngageOutcome out = Call(call);

  EXPECT_EQ(out.finish.errorcode(), 504);
  EXPECT_EQ(out.finish.errorstr(),
            "Container initialization timed out, please ensure you are using the latest fdk "
            "and check the logs");
}

TEST_F(RunnerCallsE2eTest, StatusImageIsRefusedWith400) {
  StartRunner({{"FN_STATUS_IMAGE", "fn-test/status:1"}});
  TestCall call;
  call.image = "fn-test/status:1";

  EngageOutcome out = Call(call);

  EXPECT_EQ(out.finish.errorcode(), 400);
  EXPECT_EQ(out.finish.errorstr(), "Invalid Fn image");
  EXPECT_FALSE(out.has_result_start);
}

TEST_F(RunnerCallsE2eTest, PrematureWriteGives502) {
  StartRunner();
  TestCall call;
  call.headers["Fn-Test-Premature"] = {"1"};

  // The body's eof never comes: the function answers before the request is complete.
  EngageOutcome out = Call(call, "part of a body", /*send_eof=*/false);

  ASSERT_TRUE(out.finished);
  EXPECT_EQ(out.finish.errorcode(), 502);
  EXPECT_EQ(out.finish.errorstr(), "function invoked write before receiving entire request");
  EXPECT_TRUE(out.body.empty());
}

TEST_F(RunnerCallsE2eTest, ExecutionTimeoutGives504) {
  StartRunner();
  TestCall call;
  call.timeout_s = 1;
  call.headers["Fn-Test-Hang"] = {"1"};

  EngageOutcome out = Call(call);

  EXPECT_EQ(out.finish.errorcode(), 504);
  EXPECT_EQ(out.finish.errorstr(), "Timed out");
  EXPECT_THAT(PollUntil([&] { return ContainerCount() == 0; }, absl::Seconds(10),
                        "timed-out container removed"),
              IsOk());
}

TEST_F(RunnerCallsE2eTest, CrashGives502AndTheRunnerKeepsServing) {
  StartRunner();
  TestCall crash;
  crash.headers["Fn-Test-Crash"] = {"abort"};

  EngageOutcome crashed = Call(crash);
  EngageOutcome next = Call(TestCall{}, "still here");

  EXPECT_EQ(crashed.finish.errorcode(), 502);
  EXPECT_EQ(crashed.finish.errorstr(), "error receiving function response");
  EXPECT_TRUE(crashed.finish.erroruser());
  ASSERT_TRUE(next.finish.success()) << next.finish.errorstr();
  EXPECT_EQ(next.body, "still here");
}

TEST_F(RunnerCallsE2eTest, HopByHopResponseHeadersAreStripped) {
  StartRunner();
  TestCall call;
  call.headers["Fn-Test-Header"] = {"Upgrade: h2c", "Keep-Alive: timeout=5", "X-Kept: yes"};

  EngageOutcome out = Call(call);

  ASSERT_TRUE(out.finish.success()) << out.finish.errorstr();
  EXPECT_EQ(HeaderValue(out, "X-Kept"), "yes");
  EXPECT_EQ(HeaderValue(out, "Upgrade"), "<absent>");
  EXPECT_EQ(HeaderValue(out, "Keep-Alive"), "<absent>");
}

TEST_F(RunnerCallsE2eTest, TooBigForTheRunnerIs400AndFullIsARetryable503) {
  StartRunner({{"FN_MAX_TOTAL_MEMORY_BYTES", std::to_string(128 << 20)},
               {"FN_ENABLE_NB_RESOURCE_TRACKER", "true"}});
  TestCall too_big;
  too_big.memory_mb = 256;
  TestCall busy;
  busy.memory_mb = 128;
  busy.headers["Fn-Test-Sleep-Ms"] = {"3000"};
  EngageOutcome busy_out;
  std::thread busy_call([&] { busy_out = Call(busy); });
  ASSERT_THAT(PollUntil([&] { return ContainerCount() == 1; }, absl::Seconds(20),
                        "the busy call's container"),
              IsOk());
  TestCall other;
  other.fn_id = "other";
  other.memory_mb = 128;

  EngageOutcome refused = Call(too_big);
  EngageOutcome nacked = Call(other);
  busy_call.join();

  EXPECT_EQ(refused.finish.errorcode(), 400);
  EXPECT_EQ(refused.finish.errorstr(), "Requested CPU/Memory cannot be allocated");
  EXPECT_EQ(nacked.finish.errorcode(), 503);
  EXPECT_EQ(nacked.finish.errorstr(), "Timed out - server too busy");
  EXPECT_TRUE(busy_out.finish.success()) << busy_out.finish.errorstr();
}

TEST_F(RunnerCallsE2eTest, SigtermLetsTheRunningCallFinishAndRefusesNewOnes) {
  StartRunner();
  ASSERT_NO_FATAL_FAILURE(StartSlowCall(2500));

  ASSERT_NO_FATAL_FAILURE(BeginDrain());
  EngageOutcome late = Call(TestCall{});
  slow_call_.join();

  EXPECT_TRUE(slow_out_.finish.success()) << slow_out_.finish.errorstr();
  EXPECT_EQ(slow_out_.body, "in flight");
  // Refused as fn's LB understands "try another runner": a 503 either way.
  const bool nacked = late.finish.errorcode() == 503 ||
                      static_cast<int>(late.status.error_code()) == 503 ||
                      late.status.error_code() == grpc::StatusCode::UNAVAILABLE;
  EXPECT_TRUE(nacked) << late.finish.errorcode() << " " << late.status.error_message();
  // TearDown checks exit code 0 and that no container is left.
}

TEST_F(RunnerCallsE2eTest, SecondSignalExitsAtOnceDuringTheDrain) {
  StartRunner();
  ASSERT_NO_FATAL_FAILURE(StartSlowCall(20000));  // holds the drain (grace: 30 s)
  ASSERT_NO_FATAL_FAILURE(BeginDrain());

  runner_->Signal(SIGINT);

  absl::StatusOr<ProcessResult> exit = runner_->Wait(absl::Seconds(4));
  ASSERT_THAT(exit, IsOk());
  EXPECT_EQ(exit->exit_code, 128 + SIGINT);
  slow_call_.join();
  EXPECT_FALSE(slow_out_.status.ok());
  // What a runner killed mid-call leaves is the next start's orphan sweep's; here the test's.
  absl::StatusOr<std::vector<std::string>> ids = ContainerIds();
  ASSERT_THAT(ids, IsOk());
  for (const std::string& id : *ids) EXPECT_THAT(RunDocker({"rm", "-f", id}), IsOk());
  EXPECT_EQ(ContainerCount(), 0);
  runner_.reset();  // Nothing left for TearDown to drain.
}

}  // namespace
}  // namespace fnrunner::testing
