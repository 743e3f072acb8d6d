#pragma once

// The one place where absl::Status and grpc::Status meet. Both use the same numeric codes
// (0..16), and fn additionally uses the non-canonical code 503 as its "retry elsewhere"
// signal on the wire, which must survive the round trip unchanged.

#include <string>

#include "absl/status/status.h"
#include "grpcpp/support/status.h"

namespace fnrunner {

// raw_code(), not code(): absl maps non-canonical codes such as 503 to kUnknown in code().
inline grpc::Status ToGrpcStatus(const absl::Status& status) {
  return grpc::Status(static_cast<grpc::StatusCode>(status.raw_code()),
                      std::string(status.message()));
}

inline absl::Status ToAbslStatus(const grpc::Status& status) {
  return absl::Status(static_cast<absl::StatusCode>(status.error_code()), status.error_message());
}

}  // namespace fnrunner
