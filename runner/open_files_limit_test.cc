#include "runner/open_files_limit.h"

#include <sys/resource.h>

#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace fnrunner {
namespace {

TEST(OpenFilesLimitTest, RaisesTheSoftLimitToTheHardOne) {
  rlimit original;
  ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &original), 0);
  ASSERT_GT(original.rlim_max, 256u);
  rlimit lowered = original;
  lowered.rlim_cur = 256;
  ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &lowered), 0);

  absl::StatusOr<OpenFilesLimit> raised = RaiseOpenFilesLimit();

  ASSERT_THAT(raised, IsOk());
  EXPECT_EQ(raised->soft_before, 256u);
  EXPECT_EQ(raised->soft, original.rlim_max);
  EXPECT_EQ(raised->hard, original.rlim_max);
  rlimit now;
  ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &now), 0);
  EXPECT_EQ(now.rlim_cur, original.rlim_max);
  setrlimit(RLIMIT_NOFILE, &original);
}

}  // namespace
}  // namespace fnrunner
