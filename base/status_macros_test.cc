#include "base/status_macros.h"

#include <string>

#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace fnrunner {
namespace {

absl::StatusOr<int> Half(int n) {
  if (n % 2 != 0) return absl::InvalidArgumentError("odd");
  return n / 2;
}

absl::StatusOr<int> Quarter(int n) {
  ASSIGN_OR_RETURN(int half, Half(n));
  ASSIGN_OR_RETURN(int quarter, Half(half));
  return quarter;
}

absl::Status CheckQuarter(int n) {
  RETURN_IF_ERROR(Quarter(n));
  RETURN_IF_ERROR(absl::OkStatus());
  return absl::OkStatus();
}

TEST(StatusMacrosTest, AssignOrReturnPassesValuesThrough) {
  EXPECT_THAT(Quarter(8), IsOkAndHolds(2));
}

TEST(StatusMacrosTest, AssignOrReturnPropagatesTheFirstError) {
  EXPECT_THAT(Quarter(6), StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(StatusMacrosTest, ReturnIfErrorAcceptsStatusAndStatusOr) {
  EXPECT_THAT(CheckQuarter(4), IsOk());
  EXPECT_THAT(CheckQuarter(3), StatusIs(absl::StatusCode::kInvalidArgument));
}

}  // namespace
}  // namespace fnrunner
