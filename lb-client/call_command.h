#pragma once

#include <iosfwd>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "lb-client/call_model.h"
#include "lb-client/cli_args.h"

namespace fnrunner {

// The call described by --image, --memory, --timeout, --idle-timeout, --cpus, --fn-id,
// --app-id, --header NAME:VALUE and --config NAME=VALUE. InvalidArgument for a bad value or
// a missing --image.
absl::StatusOr<LbCall> CallFromFlags(const CliArgs& args);

// `fnlb call`: runs one call through a placer and prints the LB's answer (status, headers,
// body; --json: one JSON object). Reads the body from --body-file, --body or stdin. Returns
// the process exit code: 0 for a 2xx/3xx answer, 1 otherwise, 2 for bad usage.
int RunCallCommand(const std::vector<std::string>& args, std::istream& in, std::ostream& out,
                   std::ostream& err);

}  // namespace fnrunner
