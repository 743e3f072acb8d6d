#include "runner/runner_service.h"

#include <string>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "glog/logging.h"
#include "google/protobuf/util/json_util.h"
#include "proto/grpc_status.h"
#include "runner/engage_reactor.h"
#include "runner/log_stream_reactor.h"
#include "runner/status_provider.h"

namespace fnrunner {

RunnerService::RunnerService(RunnerServiceOptions options, Agent& agent, EngageTracker& tracker,
                             RunnerMetrics& metrics, StatusProvider& status, LogHub& logs,
                             Clock& clock, LogLevelSetter set_log_level)
    : options_(std::move(options)),
      engage_services_{options_.engage, agent, tracker, metrics, clock},
      status_(status),
      logs_(logs),
      metrics_(metrics),
      set_log_level_(std::move(set_log_level)) {}

grpc::ServerBidiReactor<ClientMsg, RunnerMsg>* RunnerService::Engage(
    grpc::CallbackServerContext* context) {
  return new EngageReactor(context, engage_services_, options_.engage_outbox_bytes);
}

grpc::ServerUnaryReactor* RunnerService::AnswerStatus(grpc::CallbackServerContext* context,
                                                      std::string request_json,
                                                      RunnerStatus* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  // The reactor and `response` stay valid until Finish(), even if the client gives up.
  status_.Get(std::move(request_json), [reactor, response](RunnerStatus status) {
    *response = std::move(status);
    reactor->Finish(grpc::Status::OK);
  });
  return reactor;
}

grpc::ServerUnaryReactor* RunnerService::Status(grpc::CallbackServerContext* context,
                                                const google::protobuf::Empty*,
                                                RunnerStatus* response) {
  return AnswerStatus(context, "{}", response);
}

grpc::ServerUnaryReactor* RunnerService::Status2(grpc::CallbackServerContext* context,
                                                 const google::protobuf::Struct* request,
                                                 RunnerStatus* response) {
  std::string json;
  // Protobuf 3.21 has its own Status type: convert by hand.
  if (auto s = google::protobuf::util::MessageToJsonString(*request, &json); !s.ok()) {
    grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
    reactor->Finish(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, s.ToString()));
    return reactor;
  }
  return AnswerStatus(context, std::move(json), response);
}

grpc::ServerUnaryReactor* RunnerService::ConfigureRunner(grpc::CallbackServerContext* context,
                                                         const ConfigMsg* request,
                                                         ConfigStatus*) {
  absl::Status result;
  std::vector<std::string> ignored;
  for (const auto& [key, value] : request->config()) {
    if (key == "FN_LOG_LEVEL" || absl::AsciiStrToLower(key) == "log_level") {
      if (absl::Status s = set_log_level_(value); !s.ok()) {
        result = absl::InvalidArgumentError(absl::StrCat(key, ": ", s.message()));
      } else {
        LOG(INFO) << "ConfigureRunner: log level set to " << value;
      }
    } else {
      ignored.push_back(absl::StrCat(key, "=", value));
    }
  }
  if (!ignored.empty()) {
    LOG(WARNING) << "ConfigureRunner: ignoring unknown keys {" << absl::StrJoin(ignored, ", ")
                 << "}";
  }
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  reactor->Finish(ToGrpcStatus(result));
  return reactor;
}

grpc::ServerBidiReactor<LogRequestMsg, LogResponseMsg>* RunnerService::StreamLogs(
    grpc::CallbackServerContext*) {
  return new LogStreamReactor(logs_, metrics_, options_.log_stream_queue_lines);
}

}  // namespace fnrunner
