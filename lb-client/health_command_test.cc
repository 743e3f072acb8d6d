// `fnlb health` and CheckHealth against a real gRPC server running grpc++'s default health
// service, the one fn-runner serves.

#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "grpcpp/generic/async_generic_service.h"
#include "grpcpp/health_check_service_interface.h"
#include "grpcpp/server.h"
#include "grpcpp/server_builder.h"
#include "gtest/gtest.h"
#include "lb-client/health_command.h"
#include "tests/testing/status_matchers.h"

namespace fnrunner {
namespace {

using ::testing::HasSubstr;

// A gRPC server with grpc++'s default health service on 127.0.0.1, as fn-runner serves it.
struct HealthServer {
  HealthServer() {
    grpc::EnableDefaultHealthCheckService(true);
    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
    // A server needs one service of its own to poll its completion queues; any will do.
    builder.RegisterCallbackGenericService(&unused_service);
    server = builder.BuildAndStart();
    address = absl::StrCat("127.0.0.1:", port);
    health = server != nullptr ? server->GetHealthCheckService() : nullptr;
  }
  ~HealthServer() {
    if (server != nullptr) server->Shutdown();
  }

  grpc::CallbackGenericService unused_service;
  std::unique_ptr<grpc::Server> server;
  grpc::HealthCheckServiceInterface* health = nullptr;
  std::string address;
};

class HealthCommandTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_NE(runner_.health, nullptr);
    address_ = runner_.address;
    health_ = runner_.health;
    server_ = runner_.server.get();
    health_->SetServingStatus("RunnerProtocol", true);
    health_->SetServingStatus("Draining", false);
  }

  int Run(std::vector<std::string> args) {
    out_.str("");
    err_.str("");
    return RunHealthCommand(args, out_, err_);
  }

  HealthServer runner_;
  grpc::Server* server_ = nullptr;  // runner_'s
  grpc::HealthCheckServiceInterface* health_ = nullptr;
  std::string address_;
  std::ostringstream out_, err_;
};

TEST_F(HealthCommandTest, CheckHealthReportsEachServicesState) {
  EXPECT_THAT(CheckHealth(address_, {}, "", absl::Seconds(2)), IsOkAndHolds(HealthState::kServing));
  EXPECT_THAT(CheckHealth(address_, {}, "RunnerProtocol", absl::Seconds(2)),
              IsOkAndHolds(HealthState::kServing));
  EXPECT_THAT(CheckHealth(address_, {}, "Draining", absl::Seconds(2)),
              IsOkAndHolds(HealthState::kNotServing));
  EXPECT_THAT(CheckHealth(address_, {}, "NoSuchService", absl::Seconds(2)),
              StatusIs(absl::StatusCode::kNotFound));
}

TEST_F(HealthCommandTest, ExitsZeroWhenEveryRunnerServes) {
  HealthServer other;
  ASSERT_NE(other.server, nullptr);

  EXPECT_EQ(Run({"--runners", absl::StrCat(address_, ",", other.address)}), 0);
  EXPECT_EQ(out_.str(), absl::StrCat(address_, " SERVING\n", other.address, " SERVING\n"));
}

TEST_F(HealthCommandTest, ExitsOneWhenAServiceIsNotServing) {
  EXPECT_EQ(Run({"--runners", address_, "--service", "Draining"}), 1);
  EXPECT_EQ(out_.str(), absl::StrCat(address_, " NOT_SERVING\n"));

  health_->SetServingStatus(false);  // every service, as fn-runner does when it drains
  EXPECT_EQ(Run({"--runners", address_, "--service", "RunnerProtocol"}), 1);
}

TEST_F(HealthCommandTest, ExitsOneWhenARunnerDoesNotAnswer) {
  server_->Shutdown();

  EXPECT_EQ(Run({"--runners", address_, "--timeout", "1"}), 1);
  EXPECT_THAT(out_.str(), HasSubstr(absl::StrCat(address_, " ERROR")));
}

TEST_F(HealthCommandTest, DefaultsToTheLocalRunnerOnFnGrpcPort) {
  const std::string port = address_.substr(address_.rfind(':') + 1);
  ASSERT_EQ(setenv("FN_GRPC_PORT", port.c_str(), 1), 0);

  EXPECT_EQ(Run({}), 0);
  EXPECT_EQ(out_.str(), absl::StrCat("127.0.0.1:", port, " SERVING\n"));
  unsetenv("FN_GRPC_PORT");
}

TEST_F(HealthCommandTest, BadUsageExitsTwo) {
  EXPECT_EQ(Run({"--runners", "no-port"}), 2);
  EXPECT_EQ(Run({"--bogus"}), 2);
  EXPECT_EQ(Run({"--runners", address_, "--timeout", "soon"}), 2);
  EXPECT_THAT(err_.str(), HasSubstr("usage: fnlb health"));
}

}  // namespace
}  // namespace fnrunner
