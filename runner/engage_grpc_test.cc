// Engage over a real in-process gRPC server: what fn's LB would see on the wire.

#include <memory>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "prometheus/text_serializer.h"
#include "runner/grpc_test_util.h"
#include "runner/test_util.h"

namespace fnrunner {
namespace {

using ::fnrunner::testing::AsyncEngage;
using ::fnrunner::testing::CallJson;
using ::fnrunner::testing::EngageResult;
using ::fnrunner::testing::FrameMsg;
using ::fnrunner::testing::Kinds;
using ::fnrunner::testing::Output;
using ::fnrunner::testing::RunEngage;
using ::fnrunner::testing::TestRunner;
using ::fnrunner::testing::TestRunnerOptions;
using ::fnrunner::testing::TryMsg;
using ::testing::ElementsAre;
using ::testing::IsEmpty;

constexpr absl::Duration kWait = absl::Seconds(20);

// The body as fn's LB sends it: 10 240-byte frames, then an empty eof frame.
std::vector<ClientMsg> LbMessages(const std::string& json, const std::string& body) {
  std::vector<ClientMsg> msgs = {TryMsg(json)};
  for (size_t i = 0; i < body.size(); i += 10240) {
    msgs.push_back(FrameMsg(body.substr(i, 10240), false));
  }
  msgs.push_back(FrameMsg("", true));
  return msgs;
}

TEST(EngageGrpcTest, SyncCallStreamsTheResponseInFrames) {
  TestRunner runner;
  auto stub = runner.Stub();
  const std::string body(30000, 'b');

  EngageResult result = RunEngage(*stub, LbMessages(CallJson("c1"), body), "rid-42");

  ASSERT_TRUE(result.status.ok()) << result.status.error_message();
  EXPECT_THAT(Kinds(result.messages),
              ElementsAre("start:200", "data:10240", "data:10240", "data:9520", "finished:ok"));
  EXPECT_EQ(Output(result.messages), body);
  EXPECT_EQ(result.messages.back().finished().details(), "c1");
  EXPECT_EQ(runner.agent().calls().at(0).body, body);
}

TEST(EngageGrpcTest, NackIsFinished503WithStatusOk) {
  TestRunner runner;
  runner.agent().SetScript(FakeAgent::Nack());
  auto stub = runner.Stub();

  EngageResult result = RunEngage(*stub, LbMessages(CallJson(), ""));

  ASSERT_TRUE(result.status.ok());
  EXPECT_THAT(Kinds(result.messages), ElementsAre("finished:503"));
}

TEST(EngageGrpcTest, Grpc503SurvivesAsANonCanonicalStatusCode) {
  TestRunnerOptions options;
  options.service.engage.input_timeout = absl::Seconds(10);
  TestRunner runner(options);
  auto stub = runner.Stub();
  grpc::ClientContext context;
  auto stream = stub->Engage(&context);
  ASSERT_TRUE(runner.tracker().AwaitActive(1, kWait));

  runner.tracker().Tick(runner.clock().Now() + absl::Seconds(10));  // no TryCall in time

  RunnerMsg ignored;
  EXPECT_FALSE(stream->Read(&ignored));
  const grpc::Status status = stream->Finish();
  EXPECT_EQ(static_cast<int>(status.error_code()), 503);
  EXPECT_EQ(status.error_message(), "Timed out - server too busy");
}

TEST(EngageGrpcTest, DataBeforeTryCallIsUnknownProtocolFailure) {
  TestRunner runner;
  auto stub = runner.Stub();

  EngageResult result = RunEngage(*stub, {FrameMsg("x", true)});

  EXPECT_EQ(result.status.error_code(), grpc::StatusCode::UNKNOWN);
  EXPECT_EQ(result.status.error_message(), "Protocol failure: expected ClientMsg_Try");
  EXPECT_THAT(result.messages, IsEmpty());
}

TEST(EngageGrpcTest, SecondTryCallIsUnknownExpectedData) {
  TestRunner runner;
  auto stub = runner.Stub();

  EngageResult result = RunEngage(*stub, {TryMsg(CallJson()), TryMsg(CallJson())});

  EXPECT_EQ(result.status.error_code(), grpc::StatusCode::UNKNOWN);
  EXPECT_EQ(result.status.error_message(), "Protocol failure: expected ClientMsg_Data");
  EXPECT_THAT(result.messages, IsEmpty());
  ASSERT_TRUE(runner.agent().WaitForEnded(1, kWait));
  EXPECT_TRUE(runner.agent().calls().at(0).cancelled);
}

TEST(EngageGrpcTest, MalformedJsonIsFinishedWithCodeZero) {
  TestRunner runner;
  auto stub = runner.Stub();

  EngageResult result = RunEngage(*stub, {TryMsg("{\"id\": 5"), FrameMsg("", true)});

  ASSERT_TRUE(result.status.ok());
  EXPECT_THAT(Kinds(result.messages), ElementsAre("finished:0"));
  EXPECT_FALSE(result.messages[0].finished().errorstr().empty());
}

TEST(EngageGrpcTest, FrameOverTheReceiveLimitEndsTheStream) {
  TestRunnerOptions options;
  options.server.max_receive_message_bytes = 64 << 10;
  TestRunner runner(options);
  auto stub = runner.Stub();

  EngageResult result =
      RunEngage(*stub, {TryMsg(CallJson()), FrameMsg(std::string(100 << 10, 'x'), true)});

  EXPECT_EQ(result.status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  ASSERT_TRUE(runner.agent().WaitForEnded(1, kWait));
  EXPECT_TRUE(runner.agent().calls().at(0).cancelled);
  EXPECT_TRUE(runner.tracker().AwaitActive(0, kWait));
}

TEST(EngageGrpcTest, ClientCancelMidBodyCancelsTheCall) {
  TestRunner runner;
  auto stub = runner.Stub();
  grpc::ClientContext context;
  auto stream = stub->Engage(&context);
  ASSERT_TRUE(stream->Write(TryMsg(CallJson())));
  ASSERT_TRUE(stream->Write(FrameMsg("part", false)));
  ASSERT_TRUE(runner.agent().WaitForBodyWanted(1, kWait));

  context.TryCancel();

  EXPECT_EQ(stream->Finish().error_code(), grpc::StatusCode::CANCELLED);
  ASSERT_TRUE(runner.agent().WaitForEnded(1, kWait));
  EXPECT_TRUE(runner.agent().calls().at(0).cancelled);
  EXPECT_TRUE(runner.tracker().AwaitActive(0, kWait));
  EXPECT_EQ(runner.tracker().counters().calls_in_flight, 0);
}

// 30,000 cancelled idle streams were 30,000 protocol-failure warnings (issue #13).
TEST(EngageGrpcTest, ClientCancelBeforeTheTryCallIsNoProtocolFailure) {
  TestRunner runner;
  auto stub = runner.Stub();
  for (int i = 0; i < 20; ++i) {
    grpc::ClientContext context;
    auto stream = stub->Engage(&context);
    ASSERT_TRUE(runner.tracker().AwaitActive(1, kWait));

    context.TryCancel();

    EXPECT_EQ(stream->Finish().error_code(), grpc::StatusCode::CANCELLED);
    ASSERT_TRUE(runner.tracker().AwaitActive(0, kWait));
  }
  const std::string metrics =
      prometheus::TextSerializer().Serialize(runner.registry().Collect());
  EXPECT_EQ(metrics.find("fnrunner_protocol_errors_total{kind=\"expected_try\"}"),
            std::string::npos)
      << metrics;
}

TEST(EngageGrpcTest, StreamWithoutEofFailsWith504AfterTheInputTimeout) {
  TestRunnerOptions options;
  options.service.engage.input_timeout = absl::Seconds(30);
  TestRunner runner(options);
  auto stub = runner.Stub();
  grpc::ClientContext context;
  auto stream = stub->Engage(&context);
  ASSERT_TRUE(stream->Write(TryMsg(CallJson("c9"))));
  ASSERT_TRUE(stream->Write(FrameMsg("never ends", false)));
  ASSERT_TRUE(runner.agent().WaitForBodyWanted(1, kWait));

  runner.tracker().Tick(runner.clock().Now() + absl::Seconds(31));

  std::vector<RunnerMsg> got;
  RunnerMsg in;
  while (stream->Read(&in)) got.push_back(in);
  EXPECT_TRUE(stream->Finish().ok());
  EXPECT_THAT(Kinds(got), ElementsAre("finished:504"));
  EXPECT_EQ(got[0].finished().errorstr(), "Timed out");
  EXPECT_EQ(got[0].finished().details(), "c9");
}

TEST(EngageGrpcTest, ThousandConcurrentIdleStreamsAllComplete) {
  constexpr int kStreams = 1000;
  TestRunner runner;
  FakeAgent::Script script = FakeAgent::Echo();
  script.stall = true;
  runner.agent().SetScript(script);
  auto stub = runner.Stub();
  std::vector<std::unique_ptr<AsyncEngage>> streams;
  for (int i = 0; i < kStreams; ++i) {
    streams.push_back(std::make_unique<AsyncEngage>(
        *stub, std::vector<ClientMsg>{TryMsg(CallJson(absl::StrCat("c", i))),
                                      FrameMsg(absl::StrCat("body", i), true)}));
  }
  ASSERT_TRUE(runner.agent().WaitForStalled(kStreams, absl::Seconds(120)));
  EXPECT_EQ(runner.tracker().counters().active, kStreams);

  runner.agent().Release();

  for (int i = 0; i < kStreams; ++i) {
    EngageResult result = streams[i]->Wait();
    ASSERT_TRUE(result.status.ok()) << i << ": " << result.status.error_message();
    ASSERT_THAT(Kinds(result.messages), ElementsAre("start:200", ::testing::_, "finished:ok"));
    EXPECT_EQ(Output(result.messages), absl::StrCat("body", i));
  }
  EXPECT_TRUE(runner.tracker().AwaitActive(0, kWait));
  EXPECT_EQ(runner.tracker().counters().requests_handled, static_cast<uint64_t>(kStreams));
}

TEST(EngageGrpcTest, DrainNacksNewCallsWhileCallsInFlightFinish) {
  TestRunner runner;
  FakeAgent::Script script = FakeAgent::Echo();
  script.stall = true;
  runner.agent().SetScript(script);
  auto stub = runner.Stub();
  AsyncEngage in_flight(*stub, {TryMsg(CallJson("old")), FrameMsg("old body", true)});
  ASSERT_TRUE(runner.agent().WaitForStalled(1, kWait));

  runner.tracker().StartDraining();
  SetServing(runner.server(), false);
  EngageResult refused = RunEngage(*stub, LbMessages(CallJson("new"), "x"));
  runner.agent().Release();
  EngageResult finished = in_flight.Wait();

  ASSERT_TRUE(refused.status.ok());
  EXPECT_THAT(Kinds(refused.messages), ElementsAre("finished:503"));
  EXPECT_EQ(refused.messages[0].finished().details(), "new");
  ASSERT_TRUE(finished.status.ok());
  EXPECT_THAT(Kinds(finished.messages), ElementsAre("start:200", "data:8", "finished:ok"));
  EXPECT_EQ(runner.agent().calls().size(), 1u);
  EXPECT_TRUE(runner.tracker().AwaitNoCalls(absl::Now() + kWait));
}

TEST(EngageGrpcTest, BackPressureBlocksTheAgentUntilTheClientReads) {
  TestRunnerOptions options;
  options.service.engage_outbox_bytes = 32 << 10;
  TestRunner runner(options);
  FakeAgent::Script script;
  script.body = std::vector<std::string>(400, std::string(10240, 'z'));  // ~4 MB
  runner.agent().SetScript(script);
  auto stub = runner.Stub();

  EngageResult result = RunEngage(*stub, LbMessages(CallJson(), ""));

  ASSERT_TRUE(result.status.ok());
  EXPECT_EQ(Output(result.messages).size(), 400u * 10240);
  EXPECT_EQ(Kinds(result.messages).back(), "finished:ok");
}

TEST(EngageGrpcTest, ServerShutdownEndsStalledStreams) {
  auto runner = std::make_unique<TestRunner>();
  FakeAgent::Script script = FakeAgent::Echo();
  script.stall = true;
  runner->agent().SetScript(script);
  auto stub = runner->Stub();
  AsyncEngage stalled(*stub, {TryMsg(CallJson()), FrameMsg("", true)});
  ASSERT_TRUE(runner->agent().WaitForStalled(1, kWait));

  runner.reset();  // Server::Shutdown with a deadline cancels the stream.

  EngageResult result = stalled.Wait();
  EXPECT_FALSE(result.status.ok());
}

}  // namespace
}  // namespace fnrunner
