#include "proto/grpc_status.h"

#include "gtest/gtest.h"

namespace fnrunner {
namespace {

TEST(GrpcStatusTest, CanonicalCodesRoundTrip) {
  const absl::Status status = absl::ResourceExhaustedError("no room");

  const grpc::Status grpc_status = ToGrpcStatus(status);

  EXPECT_EQ(grpc_status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_EQ(grpc_status.error_message(), "no room");
  EXPECT_EQ(ToAbslStatus(grpc_status), status);
}

TEST(GrpcStatusTest, FnBusyCode503SurvivesConversion) {
  const grpc::Status busy(static_cast<grpc::StatusCode>(503), "Timed out - server too busy");

  const absl::Status converted = ToAbslStatus(busy);

  EXPECT_EQ(converted.raw_code(), 503);
  EXPECT_EQ(static_cast<int>(ToGrpcStatus(converted).error_code()), 503);
}

}  // namespace
}  // namespace fnrunner
