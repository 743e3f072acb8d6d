// Status, Status2, ConfigureRunner, StreamLogs and health over a real in-process server.

#include <chrono>
#include <string>
#include <vector>

#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "google/protobuf/struct.pb.h"
#include "grpcpp/generic/generic_stub.h"
#include "gtest/gtest.h"
#include "prometheus/text_serializer.h"
#include "runner/grpc_test_util.h"
#include "runner/test_util.h"

namespace fnrunner {
namespace {

using ::fnrunner::testing::CallJson;
using ::fnrunner::testing::FrameMsg;
using ::fnrunner::testing::RunEngage;
using ::fnrunner::testing::TestRunner;
using ::fnrunner::testing::TestRunnerOptions;
using ::fnrunner::testing::TryMsg;
using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::Key;

std::chrono::system_clock::time_point Deadline() {
  return std::chrono::system_clock::now() + std::chrono::seconds(20);
}

RunnerStatus GetStatus(RunnerProtocol::Stub& stub) {
  grpc::ClientContext context;
  context.set_deadline(Deadline());
  RunnerStatus status;
  EXPECT_TRUE(stub.Status(&context, google::protobuf::Empty(), &status).ok());
  return status;
}

TEST(StatusGrpcTest, CountsEngageStreams) {
  TestRunner runner;
  runner.agent().SetScript(FakeAgent::Nack());
  auto stub = runner.Stub();
  RunEngage(*stub, {TryMsg(CallJson()), FrameMsg("", true)});
  RunEngage(*stub, {FrameMsg("", true)});  // a protocol failure
  ASSERT_TRUE(runner.tracker().AwaitActive(0, absl::Seconds(20)));

  RunnerStatus status = GetStatus(*stub);

  EXPECT_EQ(status.active(), 0);
  EXPECT_EQ(status.requestsreceived(), 2u);
  EXPECT_EQ(status.requestshandled(), 2u);  // fn counts NACKs and failures too
  EXPECT_FALSE(status.failed());
  EXPECT_EQ(status.id(), "");
  EXPECT_THAT(status.customstatus(), Contains(Key("fnrunner.calls.running")));
}

TEST(StatusGrpcTest, Status2RunsTheImageWithItsInputAndCaches) {
  TestRunnerOptions options;
  options.status.image = "fn/status:1";
  TestRunner runner(options);
  auto stub = runner.Stub();
  google::protobuf::Struct input;
  (*input.mutable_fields())["fake-member-1"].set_string_value("fake-value-1");

  grpc::ClientContext c1;
  c1.set_deadline(Deadline());
  RunnerStatus first;
  ASSERT_TRUE(stub->Status2(&c1, input, &first).ok());
  grpc::ClientContext c2;
  c2.set_deadline(Deadline());
  RunnerStatus second;
  ASSERT_TRUE(stub->Status(&c2, google::protobuf::Empty(), &second).ok());

  EXPECT_EQ(first.details(), R"({"fake-member-1":"fake-value-1"})");
  EXPECT_FALSE(first.cached());
  EXPECT_EQ(second.id(), first.id());
  EXPECT_TRUE(second.cached());
  EXPECT_EQ(runner.agent().calls().size(), 1u);
  const std::string metrics =
      prometheus::TextSerializer().Serialize(runner.registry().Collect());
  EXPECT_NE(metrics.find(R"(fn_status_call{cached="true",network="true",success="true"} 1)"),
            std::string::npos)
      << metrics;
}

TEST(StatusGrpcTest, ImageCallIsRefusedForUsers) {
  TestRunnerOptions options;
  options.status.image = "fn/status:1";
  options.service.engage.status_image = "fn/status:1";
  TestRunner runner(options);
  auto stub = runner.Stub();

  auto result = RunEngage(*stub, {TryMsg(CallJson("c", "fn/status:1")), FrameMsg("", true)});

  ASSERT_EQ(result.messages.size(), 1u);
  EXPECT_EQ(result.messages[0].finished().errorcode(), 400);
  EXPECT_EQ(result.messages[0].finished().errorstr(), "Invalid Fn image");
}

TEST(ConfigureRunnerGrpcTest, AppliesLogLevelAndIgnoresUnknownKeys) {
  TestRunner runner;
  auto stub = runner.Stub();
  ConfigMsg config;
  (*config.mutable_config())["log_level"] = "debug";
  (*config.mutable_config())["something.else"] = "x";
  grpc::ClientContext context;
  ConfigStatus reply;

  grpc::Status status = stub->ConfigureRunner(&context, config, &reply);

  EXPECT_TRUE(status.ok());
  EXPECT_THAT(runner.log_levels(), ElementsAre("debug"));
}

TEST(ConfigureRunnerGrpcTest, BadValueOfAKnownKeyIsInvalidArgument) {
  TestRunner runner;
  auto stub = runner.Stub();
  ConfigMsg config;
  (*config.mutable_config())["FN_LOG_LEVEL"] = "loud";
  grpc::ClientContext context;
  ConfigStatus reply;

  EXPECT_EQ(stub->ConfigureRunner(&context, config, &reply).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
}

LogRequestMsg Start() {
  LogRequestMsg msg;
  (*msg.mutable_start()->mutable_config())["collector"] = "test";
  return msg;
}

LogRequestMsg Ack() {
  LogRequestMsg msg;
  msg.mutable_ack();
  return msg;
}

FunctionLogLine Line(std::string call_id, std::string data,
                     LogStream stream = LogStream::kStdout) {
  return FunctionLogLine{"app1", "fn1", "ctr1", std::move(call_id),
                         absl::FromUnixMillis(1588759872345), stream, std::move(data)};
}

// The hub has no notification for new subscribers: this observes it (bounded).
bool WaitForSubscriber(LogHub& hub) {
  const absl::Time deadline = absl::Now() + absl::Seconds(20);
  while (!hub.HasSubscribers()) {
    if (absl::Now() > deadline) return false;
    absl::SleepFor(absl::Milliseconds(1));
  }
  return true;
}

TEST(StreamLogsGrpcTest, DeliversOneBatchPerAck) {
  TestRunner runner;
  auto stub = runner.Stub();
  grpc::ClientContext context;
  context.set_deadline(Deadline());
  auto stream = stub->StreamLogs(&context);
  ASSERT_TRUE(stream->Write(Start()));
  ASSERT_TRUE(WaitForSubscriber(runner.logs()));

  runner.logs().Publish(Line("call-1", "hello"));
  runner.logs().Publish(Line("call-1", "oops", LogStream::kStderr));
  runner.logs().Publish(Line("call-2", "next"));
  ASSERT_TRUE(stream->Write(Ack()));
  LogResponseMsg batch;
  ASSERT_TRUE(stream->Read(&batch));

  ASSERT_EQ(batch.data_size(), 1);
  const auto& container = batch.data(0);
  EXPECT_EQ(container.applicationid(), "app1");
  EXPECT_EQ(container.functionid(), "fn1");
  EXPECT_EQ(container.containerid(), "ctr1");
  ASSERT_EQ(container.data_size(), 2);
  EXPECT_EQ(container.data(0).requestid(), "call-1");
  ASSERT_EQ(container.data(0).data_size(), 2);
  EXPECT_EQ(container.data(0).data(0).data(), "hello");
  EXPECT_EQ(container.data(0).data(0).timestamp(), 1588759872345);
  EXPECT_EQ(container.data(0).data(1).source(),
            LogResponseMsg::Container::Request::Line::STDERR);
  EXPECT_EQ(container.data(1).requestid(), "call-2");

  runner.logs().Publish(Line("call-3", "later"));
  ASSERT_TRUE(stream->Write(Ack()));
  ASSERT_TRUE(stream->Read(&batch));
  EXPECT_EQ(batch.data(0).data(0).data(0).data(), "later");
  ASSERT_TRUE(stream->WritesDone());
  EXPECT_TRUE(stream->Finish().ok());
}

TEST(StreamLogsGrpcTest, FirstMessageMustBeStart) {
  TestRunner runner;
  auto stub = runner.Stub();
  grpc::ClientContext context;
  context.set_deadline(Deadline());
  auto stream = stub->StreamLogs(&context);

  stream->Write(Ack());
  LogResponseMsg ignored;
  EXPECT_FALSE(stream->Read(&ignored));
  grpc::Status status = stream->Finish();

  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNKNOWN);
  EXPECT_EQ(status.error_message(), "expected start session");
}

TEST(StreamLogsGrpcTest, SlowCollectorDropsAndCountsLines) {
  TestRunnerOptions options;
  options.service.log_stream_queue_lines = 2;
  TestRunner runner(options);
  auto stub = runner.Stub();
  grpc::ClientContext context;
  context.set_deadline(Deadline());
  auto stream = stub->StreamLogs(&context);
  ASSERT_TRUE(stream->Write(Start()));
  ASSERT_TRUE(WaitForSubscriber(runner.logs()));

  for (int i = 0; i < 5; ++i) runner.logs().Publish(Line("c", absl::StrCat("line", i)));
  ASSERT_TRUE(stream->Write(Ack()));
  LogResponseMsg batch;
  ASSERT_TRUE(stream->Read(&batch));

  ASSERT_EQ(batch.data(0).data(0).data_size(), 2);
  EXPECT_EQ(batch.data(0).data(0).data(1).data(), "line1");
  const std::string metrics =
      prometheus::TextSerializer().Serialize(runner.registry().Collect());
  EXPECT_NE(metrics.find("fnrunner_log_lines_dropped_total 3\n"), std::string::npos) << metrics;
  context.TryCancel();
}

// grpc.health.v1.Health/Check by its wire path: request {service}, response {status}.
int HealthCheck(TestRunner& runner, const std::string& service) {
  grpc::GenericStub stub(runner.InsecureChannel());
  std::string request;
  if (!service.empty()) {
    request.push_back(0x0a);
    request.push_back(static_cast<char>(service.size()));
    request += service;
  }
  grpc::Slice slice(request);
  grpc::ByteBuffer in(&slice, 1);
  grpc::ByteBuffer out;
  grpc::ClientContext context;
  context.set_deadline(Deadline());
  absl::Notification done;
  grpc::Status status;
  stub.UnaryCall(&context, "/grpc.health.v1.Health/Check", grpc::StubOptions(), &in, &out,
                 [&](grpc::Status s) {
                   status = std::move(s);
                   done.Notify();
                 });
  done.WaitForNotification();
  if (!status.ok()) return -static_cast<int>(status.error_code());
  std::vector<grpc::Slice> slices;
  EXPECT_TRUE(out.Dump(&slices).ok());
  std::string bytes;
  for (const grpc::Slice& s : slices) bytes.append(reinterpret_cast<const char*>(s.begin()), s.size());
  // HealthCheckResponse: field 1, varint. Absent means UNKNOWN (0).
  return bytes.size() == 2 && bytes[0] == 0x08 ? bytes[1] : 0;
}

TEST(HealthGrpcTest, ServingUntilDrain) {
  TestRunner runner;
  constexpr int kServing = 1, kNotServing = 2;
  EXPECT_EQ(HealthCheck(runner, ""), kServing);
  EXPECT_EQ(HealthCheck(runner, "RunnerProtocol"), kServing);

  SetServing(runner.server(), false);

  EXPECT_EQ(HealthCheck(runner, ""), kNotServing);
  EXPECT_EQ(HealthCheck(runner, "RunnerProtocol"), kNotServing);
}

}  // namespace
}  // namespace fnrunner
