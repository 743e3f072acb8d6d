#pragma once

#include <cstddef>
#include <functional>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "proto/runner.grpc.pb.h"
#include "runner/engage_session.h"

namespace fnrunner {

class LogHub;
class StatusProvider;

struct RunnerServiceOptions {
  EngageOptions engage;
  size_t engage_outbox_bytes = 128 << 10;  // response bytes buffered per stream
  size_t log_stream_queue_lines = 10000;   // per StreamLogs collector
};

// fn's RunnerProtocol service on the gRPC callback API: Engage (one EngageReactor per
// stream), Status and Status2 (StatusProvider), ConfigureRunner, StreamLogs (one
// LogStreamReactor per collector). Handlers only create reactors or hand work over; nothing
// here blocks. Thread-safe.
class RunnerService final : public RunnerProtocol::CallbackService {
 public:
  // Applies a log level ("debug", "info", "warn", "error"); InvalidArgument otherwise.
  using LogLevelSetter = std::function<absl::Status(absl::string_view level)>;

  // Everything referenced must outlive the server that runs this service.
  RunnerService(RunnerServiceOptions options, Agent& agent, EngageTracker& tracker,
                RunnerMetrics& metrics, StatusProvider& status, LogHub& logs, Clock& clock,
                LogLevelSetter set_log_level);

  grpc::ServerBidiReactor<ClientMsg, RunnerMsg>* Engage(
      grpc::CallbackServerContext* context) override;
  grpc::ServerUnaryReactor* Status(grpc::CallbackServerContext* context,
                                   const google::protobuf::Empty* request,
                                   RunnerStatus* response) override;
  grpc::ServerUnaryReactor* Status2(grpc::CallbackServerContext* context,
                                    const google::protobuf::Struct* request,
                                    RunnerStatus* response) override;
  // Applies the keys the runner understands (FN_LOG_LEVEL or log_level); logs and ignores
  // the others. InvalidArgument for a bad value of a known key.
  grpc::ServerUnaryReactor* ConfigureRunner(grpc::CallbackServerContext* context,
                                            const ConfigMsg* request,
                                            ConfigStatus* response) override;
  grpc::ServerBidiReactor<LogRequestMsg, LogResponseMsg>* StreamLogs(
      grpc::CallbackServerContext* context) override;

 private:
  grpc::ServerUnaryReactor* AnswerStatus(grpc::CallbackServerContext* context,
                                         std::string request_json, RunnerStatus* response);

  const RunnerServiceOptions options_;
  const EngageServices engage_services_;
  StatusProvider& status_;
  LogHub& logs_;
  RunnerMetrics& metrics_;
  const LogLevelSetter set_log_level_;
};

}  // namespace fnrunner
