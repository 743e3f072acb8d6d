#pragma once

// An in-process runner for gRPC tests: FakeAgent and FakeClock under the real RunnerService,
// served on 127.0.0.1:0; plus Engage clients (blocking and callback-based).

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "agent/fake_agent.h"
#include "agent/log_hub.h"
#include "base/fake_clock.h"
#include "grpcpp/grpcpp.h"
#include "prometheus/registry.h"
#include "proto/runner.grpc.pb.h"
#include "runner/engage_tracker.h"
#include "runner/metrics.h"
#include "runner/runner_service.h"
#include "runner/server.h"
#include "runner/status_provider.h"

namespace fnrunner::testing {

struct TestRunnerOptions {
  RunnerServiceOptions service;
  StatusOptions status;
  GrpcServerOptions server;  // listen_address is replaced by 127.0.0.1:0
};

class TestRunner {
 public:
  explicit TestRunner(TestRunnerOptions options = {});
  TestRunner(const TestRunner&) = delete;
  TestRunner& operator=(const TestRunner&) = delete;
  // Shuts the server down (ending open streams), then everything else.
  ~TestRunner();

  FakeClock& clock() { return clock_; }
  FakeAgent& agent() { return agent_; }
  LogHub& logs() { return logs_; }
  EngageTracker& tracker() { return tracker_; }
  prometheus::Registry& registry() { return registry_; }
  grpc::Server& server() { return *server_.server; }
  int port() const { return server_.port; }
  // Log levels ConfigureRunner applied.
  std::vector<std::string> log_levels() ABSL_LOCKS_EXCLUDED(mu_);

  std::shared_ptr<grpc::Channel> InsecureChannel();
  std::unique_ptr<RunnerProtocol::Stub> Stub();

 private:
  FakeClock clock_;
  FakeAgent agent_{clock_};
  LogHub logs_;
  prometheus::Registry registry_;
  RunnerMetrics metrics_{registry_};
  EngageTracker tracker_;
  std::unique_ptr<StatusProvider> status_;
  std::unique_ptr<RunnerService> service_;
  StartedServer server_;
  absl::Mutex mu_;
  std::vector<std::string> log_levels_ ABSL_GUARDED_BY(mu_);
};

// The result of one Engage stream as the client saw it.
struct EngageResult {
  std::vector<RunnerMsg> messages;
  grpc::Status status;
};

// Sends `messages` without waiting (as fn's LB does), never half-closes, reads until the
// server ends the stream. A 30 s deadline bounds it.
EngageResult RunEngage(RunnerProtocol::Stub& stub, const std::vector<ClientMsg>& messages,
                       const std::string& request_id = "");

// "start:200", "data:10240", "finished:ok", "finished:503".
std::vector<std::string> Kinds(const std::vector<RunnerMsg>& messages);
std::string Output(const std::vector<RunnerMsg>& messages);

// One Engage stream on the callback API, for many concurrent streams: writes its messages in
// order, reads until the end, never half-closes. Wait() returns once OnDone ran.
class AsyncEngage final : public grpc::ClientBidiReactor<ClientMsg, RunnerMsg> {
 public:
  AsyncEngage(RunnerProtocol::Stub& stub, std::vector<ClientMsg> messages);
  EngageResult Wait();

 private:
  void OnWriteDone(bool ok) override;
  void OnReadDone(bool ok) override;
  void OnDone(const grpc::Status& status) override;

  grpc::ClientContext context_;
  std::vector<ClientMsg> out_;
  size_t next_ = 0;  // Only the write chain touches it.
  RunnerMsg in_;
  absl::Mutex mu_;
  EngageResult result_ ABSL_GUARDED_BY(mu_);
  absl::Notification done_;
};

}  // namespace fnrunner::testing
