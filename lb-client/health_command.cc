#include "lb-client/health_command.h"

#include <cstdlib>
#include <iostream>
#include <memory>

#include "absl/strings/str_cat.h"
#include "base/status_macros.h"
#include "grpcpp/client_context.h"
#include "lb-client/cli_setup.h"
#include "proto/grpc_status.h"
#include "proto/health.grpc.pb.h"

namespace fnrunner {
namespace {

constexpr char kUsage[] = R"(usage: fnlb health [--runners HOST:PORT[,...]] [flags]
Asks each runner's grpc.health.v1 service whether it is SERVING; prints one line per runner.
Exit code 0 when every runner is SERVING, 1 otherwise, 2 for bad usage.
  --service NAME    the service to ask about (default "": the whole server; fn-runner also
                    answers "RunnerProtocol")
  --timeout S       deadline per runner in seconds (default 2)
Without --runners: 127.0.0.1 on $FN_GRPC_PORT (default 9190), the runner next to this tool.
)";

const char* StateName(HealthState state) {
  switch (state) {
    case HealthState::kServing:
      return "SERVING";
    case HealthState::kNotServing:
      return "NOT_SERVING";
    case HealthState::kUnknown:
      break;
  }
  return "UNKNOWN";
}

absl::StatusOr<std::vector<std::string>> HealthTargets(const CliArgs& args) {
  if (args.Has("runners") || args.Has("runners-file")) return RunnerAddresses(args);
  const char* port = std::getenv("FN_GRPC_PORT");
  std::string address = absl::StrCat("127.0.0.1:", port != nullptr && *port ? port : "9190");
  RETURN_IF_ERROR(ValidateRunnerAddress(address));
  return std::vector<std::string>{address};
}

}  // namespace

absl::StatusOr<HealthState> CheckHealth(const std::string& address, const ChannelOptions& channel,
                                        absl::string_view service, absl::Duration timeout) {
  RETURN_IF_ERROR(ValidateRunnerAddress(address));
  std::unique_ptr<grpc::health::v1::Health::Stub> stub =
      grpc::health::v1::Health::NewStub(MakeRunnerChannel(address, channel));
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + timeout));
  grpc::health::v1::HealthCheckRequest request;
  request.set_service(std::string(service));
  grpc::health::v1::HealthCheckResponse response;
  grpc::Status status = stub->Check(&context, request, &response);
  if (!status.ok()) return ToAbslStatus(status);
  switch (response.status()) {
    case grpc::health::v1::HealthCheckResponse::SERVING:
      return HealthState::kServing;
    case grpc::health::v1::HealthCheckResponse::NOT_SERVING:
      return HealthState::kNotServing;
    default:
      return HealthState::kUnknown;
  }
}

int RunHealthCommand(const std::vector<std::string>& argv, std::ostream& out, std::ostream& err) {
  absl::flat_hash_set<std::string> value_flags = CommonValueFlags();
  value_flags.insert({"service", "timeout"});
  absl::StatusOr<CliArgs> args = CliArgs::Parse(argv, value_flags, CommonBoolFlags());
  if (args.ok() && args->Has("help")) {
    out << kUsage << CommonFlagsHelp();
    return 0;
  }
  absl::StatusOr<std::vector<std::string>> targets =
      args.ok() ? HealthTargets(*args) : args.status();
  absl::StatusOr<ChannelOptions> channel = args.ok() ? ChannelOptionsFrom(*args) : args.status();
  absl::StatusOr<absl::Duration> timeout =
      args.ok() ? args->GetSeconds("timeout", absl::Seconds(2)) : args.status();
  for (const absl::Status& status : {targets.status(), channel.status(), timeout.status()}) {
    if (!status.ok()) {
      err << "fnlb health: " << status.message() << "\n" << kUsage;
      return 2;
    }
  }
  const std::string service = args->GetOr("service", "");
  bool all_serving = true;
  for (const std::string& address : *targets) {
    absl::StatusOr<HealthState> state = CheckHealth(address, *channel, service, *timeout);
    if (state.ok()) {
      out << address << " " << StateName(*state) << "\n";
      all_serving = all_serving && *state == HealthState::kServing;
    } else {
      out << address << " ERROR " << state.status().ToString() << "\n";
      all_serving = false;
    }
  }
  return all_serving ? 0 : 1;
}

}  // namespace fnrunner
