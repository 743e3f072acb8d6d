#pragma once

#include <iosfwd>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "lb-client/runner_client.h"

namespace fnrunner {

// What a runner's grpc.health.v1 service answered for one service name.
enum class HealthState { kServing, kNotServing, kUnknown };

// Calls grpc.health.v1.Health/Check on `address` for `service` ("" = the whole server), with
// a deadline of `timeout`. Blocks. Returns the gRPC error as a Status (Unavailable when nothing
// answers, NotFound for a service the server does not know, DeadlineExceeded).
absl::StatusOr<HealthState> CheckHealth(const std::string& address, const ChannelOptions& channel,
                                        absl::string_view service, absl::Duration timeout);

// `fnlb health`: checks every runner (--runners/--runners-file; default 127.0.0.1 on
// $FN_GRPC_PORT or 9190, so it serves as a container's health check) and prints one line each.
// Returns the exit code: 0 when all are SERVING, 1 otherwise, 2 for bad usage.
int RunHealthCommand(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

}  // namespace fnrunner
