// Guards the wire contract with fn's LB: method paths and field numbers. The golden bytes are
// hand-encoded from ../shared/spec/runner-protocol.md §1, so renumbering a field, changing a
// type or adding a `package` fails here before it can fail against a real fn LB.

#include <memory>
#include <string>
#include <vector>

#include "absl/synchronization/notification.h"
#include "gmock/gmock.h"
#include "google/protobuf/descriptor.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "proto/runner.grpc.pb.h"
#include "proto/runner.pb.h"

namespace fnrunner {
namespace {

std::string Bytes(std::initializer_list<unsigned char> bytes) {
  return std::string(bytes.begin(), bytes.end());
}

TEST(RunnerProtoTest, ServiceMethodsHaveFnsWirePaths) {
  const google::protobuf::ServiceDescriptor* service =
      google::protobuf::DescriptorPool::generated_pool()->FindServiceByName("RunnerProtocol");
  ASSERT_NE(service, nullptr);
  std::vector<std::string> paths;
  for (int i = 0; i < service->method_count(); ++i) {
    paths.push_back("/" + service->full_name() + "/" + service->method(i)->name());
  }

  EXPECT_THAT(paths, ::testing::UnorderedElementsAre(
                         "/RunnerProtocol/Engage", "/RunnerProtocol/Status",
                         "/RunnerProtocol/Status2", "/RunnerProtocol/ConfigureRunner",
                         "/RunnerProtocol/StreamLogs"));
  EXPECT_TRUE(service->FindMethodByName("Engage")->client_streaming());
  EXPECT_TRUE(service->FindMethodByName("Engage")->server_streaming());
  EXPECT_TRUE(service->FindMethodByName("StreamLogs")->client_streaming());
  EXPECT_EQ(service->FindMethodByName("Status")->input_type()->full_name(),
            "google.protobuf.Empty");
  EXPECT_EQ(service->FindMethodByName("Status2")->input_type()->full_name(),
            "google.protobuf.Struct");
}

TEST(RunnerProtoTest, MessagesHaveNoPackage) {
  EXPECT_EQ(ClientMsg::descriptor()->full_name(), "ClientMsg");
  EXPECT_EQ(LogResponseMsg::Container::Request::Line::descriptor()->full_name(),
            "LogResponseMsg.Container.Request.Line");
}

TEST(RunnerProtoTest, DecodesGoldenTryCall) {
  // ClientMsg{try(1){models_call_json(1):"{}", slot_hash_id(2):"ab", extensions(3):{k:v}}}
  const std::string wire = Bytes({0x0a, 0x10,                           // try, 16 bytes
                                  0x0a, 0x02, '{', '}',                 // models_call_json
                                  0x12, 0x02, 'a', 'b',                 // slot_hash_id
                                  0x1a, 0x06, 0x0a, 0x01, 'k', 0x12, 0x01, 'v'});  // map entry
  ClientMsg msg;

  ASSERT_TRUE(msg.ParseFromString(wire));

  ASSERT_EQ(msg.body_case(), ClientMsg::kTry);
  EXPECT_EQ(msg.try_().models_call_json(), "{}");
  EXPECT_EQ(msg.try_().slot_hash_id(), "ab");
  EXPECT_EQ(msg.try_().extensions().at("k"), "v");
  EXPECT_EQ(msg.SerializeAsString(), wire);
}

TEST(RunnerProtoTest, DecodesGoldenDataFrame) {
  // ClientMsg{data(2){data(1):"hi", eof(2):true}}
  const std::string wire = Bytes({0x12, 0x06, 0x0a, 0x02, 'h', 'i', 0x10, 0x01});
  ClientMsg msg;

  ASSERT_TRUE(msg.ParseFromString(wire));

  ASSERT_EQ(msg.body_case(), ClientMsg::kData);
  EXPECT_EQ(msg.data().data(), "hi");
  EXPECT_TRUE(msg.data().eof());
  EXPECT_EQ(msg.SerializeAsString(), wire);
}

TEST(RunnerProtoTest, DecodesGoldenCallResultStartWithOneofField100) {
  // RunnerMsg{result_start(1){http(100){status_code(1):200, headers(2):[{A:b}]}}}
  // Field 100, wire type 2 has tag varint 802 = 0xa2 0x06.
  const std::string wire = Bytes({0x0a, 0x0e,                           // result_start
                                  0xa2, 0x06, 0x0b,                     // http, 11 bytes
                                  0x08, 0xc8, 0x01,                     // status_code 200
                                  0x12, 0x06, 0x0a, 0x01, 'A', 0x12, 0x01, 'b'});  // header
  RunnerMsg msg;

  ASSERT_TRUE(msg.ParseFromString(wire));

  ASSERT_EQ(msg.body_case(), RunnerMsg::kResultStart);
  ASSERT_EQ(msg.result_start().meta_case(), CallResultStart::kHttp);
  EXPECT_EQ(msg.result_start().http().status_code(), 200);
  ASSERT_EQ(msg.result_start().http().headers_size(), 1);
  EXPECT_EQ(msg.result_start().http().headers(0).key(), "A");
  EXPECT_EQ(msg.result_start().http().headers(0).value(), "b");
  EXPECT_EQ(msg.SerializeAsString(), wire);
}

TEST(RunnerProtoTest, DecodesGoldenCallFinishedWithEveryField) {
  const std::string wire = Bytes({0x1a, 0x26,              // finished(3), 38 bytes
                                  0x08, 0x01,              // success(1) true
                                  0x12, 0x02, 'i', 'd',    // details(2)
                                  0x18, 0xf7, 0x03,        // errorCode(3) 503
                                  0x22, 0x01, 'x',         // errorStr(4)
                                  0x2a, 0x01, 'c',         // createdAt(5)
                                  0x32, 0x01, 's',         // startedAt(6)
                                  0x3a, 0x01, 'd',         // completedAt(7)
                                  0x40, 0x05,              // schedulerDuration(8)
                                  0x48, 0x07,              // executionDuration(9)
                                  0x50, 0x01,              // errorUser(10)
                                  0x5a, 0x01, 'i',         // image(11)
                                  0x60, 0x01,              // imagePullWaitDuration(12)
                                  0x68, 0x02,              // ctrPrepDuration(13)
                                  0x70, 0x03,              // ctrCreateDuration(14)
                                  0x78, 0x04});            // initStartTime(15)
  RunnerMsg msg;

  ASSERT_TRUE(msg.ParseFromString(wire));

  ASSERT_EQ(msg.body_case(), RunnerMsg::kFinished);
  const CallFinished& f = msg.finished();
  EXPECT_TRUE(f.success());
  EXPECT_EQ(f.details(), "id");
  EXPECT_EQ(f.errorcode(), 503);
  EXPECT_EQ(f.errorstr(), "x");
  EXPECT_EQ(f.createdat(), "c");
  EXPECT_EQ(f.startedat(), "s");
  EXPECT_EQ(f.completedat(), "d");
  EXPECT_EQ(f.schedulerduration(), 5);
  EXPECT_EQ(f.executionduration(), 7);
  EXPECT_TRUE(f.erroruser());
  EXPECT_EQ(f.image(), "i");
  EXPECT_EQ(f.imagepullwaitduration(), 1);
  EXPECT_EQ(f.ctrprepduration(), 2);
  EXPECT_EQ(f.ctrcreateduration(), 3);
  EXPECT_EQ(f.initstarttime(), 4);
  EXPECT_EQ(msg.SerializeAsString(), wire);
}

TEST(RunnerProtoTest, DecodesGoldenRunnerStatus) {
  const std::string wire = Bytes({0x10, 0x03,                                   // active(2)
                                  0x92, 0x01, 0x06, 0x0a, 0x01, 'a', 0x12, 0x01, 'b',  // custom(18)
                                  0xb0, 0x01, 0x09});                           // initStart(22)
  RunnerStatus status;

  ASSERT_TRUE(status.ParseFromString(wire));

  EXPECT_EQ(status.active(), 3);
  EXPECT_EQ(status.customstatus().at("a"), "b");
  EXPECT_EQ(status.initstarttime(), 9);
}

// Serves Status on a real in-process server and calls it by its literal HTTP/2 path, the way
// fn's Go LB does. Fails if the service is registered under any other name.
class FixedStatusService final : public RunnerProtocol::CallbackService {
  grpc::ServerUnaryReactor* Status(grpc::CallbackServerContext* context,
                                   const google::protobuf::Empty*,
                                   RunnerStatus* response) override {
    response->set_active(7);
    grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
    reactor->Finish(grpc::Status::OK);
    return reactor;
  }
};

TEST(RunnerProtoTest, StatusAnswersOnLiteralWirePath) {
  FixedStatusService service;
  int port = 0;
  std::unique_ptr<grpc::Server> server =
      grpc::ServerBuilder()
          .AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port)
          .RegisterService(&service)
          .BuildAndStart();
  ASSERT_NE(server, nullptr);
  auto channel = grpc::CreateChannel("127.0.0.1:" + std::to_string(port),
                                     grpc::InsecureChannelCredentials());
  grpc::GenericStub stub(channel);
  grpc::Slice empty_message("");  // google.protobuf.Empty encodes as zero bytes.
  grpc::ByteBuffer request(&empty_message, 1);
  grpc::ByteBuffer response;
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  absl::Notification done;
  grpc::Status status;

  stub.UnaryCall(&context, "/RunnerProtocol/Status", grpc::StubOptions(), &request, &response,
                 [&](grpc::Status s) {
                   status = std::move(s);
                   done.Notify();
                 });
  done.WaitForNotification();

  ASSERT_TRUE(status.ok()) << status.error_message();
  std::vector<grpc::Slice> slices;
  ASSERT_TRUE(response.Dump(&slices).ok());
  std::string bytes;
  for (const grpc::Slice& s : slices) {
    bytes.append(reinterpret_cast<const char*>(s.begin()), s.size());
  }
  RunnerStatus decoded;
  ASSERT_TRUE(decoded.ParseFromString(bytes));
  EXPECT_EQ(decoded.active(), 7);
  server->Shutdown();
}

}  // namespace
}  // namespace fnrunner
