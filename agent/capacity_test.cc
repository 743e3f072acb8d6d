#include "agent/capacity.h"

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace fnrunner {
namespace {

constexpr uint64_t kGb = 1024 * kBytesPerMb;

// A fake "/" for one test: write the /proc and /sys files the test needs, nothing else.
class FakeRoot {
 public:
  FakeRoot() {
    const ::testing::TestInfo* info = ::testing::UnitTest::GetInstance()->current_test_info();
    path_ = std::filesystem::path(::testing::TempDir()) /
            absl::StrCat("capacity_", info->test_suite_name(), "_", info->name());
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~FakeRoot() { std::filesystem::remove_all(path_); }

  void Write(const std::string& rel, const std::string& contents) {
    std::filesystem::path file = path_ / rel;
    std::filesystem::create_directories(file.parent_path());
    std::ofstream(file) << contents;
  }
  void MakeDir(const std::string& rel) { std::filesystem::create_directories(path_ / rel); }
  void MemAvailableKb(uint64_t kb) {
    Write("proc/meminfo", absl::StrCat("MemTotal:       99999999 kB\nMemFree:   1 kB\n",
                                       "MemAvailable:   ", kb, " kB\nBuffers: 1 kB\n"));
  }
  CapacityOptions Options() const {
    CapacityOptions options;
    options.root = path_.string();
    return options;
  }

 private:
  std::filesystem::path path_;
};

uint64_t Kb(uint64_t bytes) { return bytes / 1024; }

TEST(CapacityTest, MemoryIsMemAvailableMinusTenPercent) {
  FakeRoot root;
  root.MemAvailableKb(Kb(8 * kGb));

  EXPECT_THAT(TotalMemoryBytes(root.Options()), IsOkAndHolds(8 * kGb - 8 * kGb / 10));
}

TEST(CapacityTest, HeadroomIsAtLeast256Mb) {
  FakeRoot root;
  root.MemAvailableKb(Kb(kGb));

  EXPECT_THAT(TotalMemoryBytes(root.Options()), IsOkAndHolds(kGb - 256 * kBytesPerMb));
}

TEST(CapacityTest, HeadroomIsAtMost5Gb) {
  FakeRoot root;
  root.MemAvailableKb(Kb(100 * kGb));

  EXPECT_THAT(TotalMemoryBytes(root.Options()), IsOkAndHolds(95 * kGb));
}

TEST(CapacityTest, MemAvailableMayBeInMb) {
  FakeRoot root;
  root.Write("proc/meminfo", "MemAvailable: 1024 MB\n");

  EXPECT_THAT(TotalMemoryBytes(root.Options()), IsOkAndHolds(kGb - 256 * kBytesPerMb));
}

TEST(CapacityTest, NoMoreThan256MbIsNotEnoughMemory) {
  FakeRoot root;
  root.MemAvailableKb(Kb(256 * kBytesPerMb));

  EXPECT_THAT(TotalMemoryBytes(root.Options()),
              StatusIs(absl::StatusCode::kFailedPrecondition, ::testing::HasSubstr("memory")));
}

TEST(CapacityTest, MissingMeminfoIsFailedPrecondition) {
  FakeRoot root;

  EXPECT_THAT(TotalMemoryBytes(root.Options()), StatusIs(absl::StatusCode::kFailedPrecondition));
}

TEST(CapacityTest, MissingMemAvailableIsFailedPrecondition) {
  FakeRoot root;
  root.Write("proc/meminfo", "MemTotal: 8000000 kB\nMemFree: 4000000 kB\n");

  EXPECT_THAT(TotalMemoryBytes(root.Options()), StatusIs(absl::StatusCode::kFailedPrecondition,
                                                         ::testing::HasSubstr("MemAvailable")));
}

TEST(CapacityTest, MalformedMemAvailableIsFailedPrecondition) {
  for (const char* line :
       {"MemAvailable: abc kB", "MemAvailable: 12 GB", "MemAvailable: 12", "MemAvailable: -5 kB",
        "MemAvailable: 99999999999999999999 kB", "MemAvailable: 18014398509481984 kB"}) {
    FakeRoot root;
    root.Write("proc/meminfo", absl::StrCat(line, "\n"));

    EXPECT_THAT(TotalMemoryBytes(root.Options()), StatusIs(absl::StatusCode::kFailedPrecondition))
        << line;
  }
}

TEST(CapacityTest, CgroupV1LimitLowersMemory) {
  FakeRoot root;
  root.MemAvailableKb(Kb(8 * kGb));
  root.Write("sys/fs/cgroup/memory/memory.limit_in_bytes", absl::StrCat(2 * kGb, "\n"));

  EXPECT_THAT(TotalMemoryBytes(root.Options()), IsOkAndHolds(2 * kGb - 256 * kBytesPerMb));
}

TEST(CapacityTest, CgroupV1UnlimitedValueChangesNothing) {
  FakeRoot root;
  root.MemAvailableKb(Kb(8 * kGb));
  root.Write("sys/fs/cgroup/memory/memory.limit_in_bytes", "9223372036854771712\n");

  EXPECT_THAT(TotalMemoryBytes(root.Options()), IsOkAndHolds(8 * kGb - 8 * kGb / 10));
}

TEST(CapacityTest, CgroupV2MemoryMaxLowersMemory) {
  FakeRoot root;
  root.MemAvailableKb(Kb(8 * kGb));
  root.Write("sys/fs/cgroup/memory.max", absl::StrCat(2 * kGb, "\n"));

  EXPECT_THAT(TotalMemoryBytes(root.Options()), IsOkAndHolds(2 * kGb - 256 * kBytesPerMb));
}

TEST(CapacityTest, CgroupV2MaxMeansNoLimit) {
  FakeRoot root;
  root.MemAvailableKb(Kb(8 * kGb));
  root.Write("sys/fs/cgroup/memory.max", "max\n");

  EXPECT_THAT(TotalMemoryBytes(root.Options()), IsOkAndHolds(8 * kGb - 8 * kGb / 10));
}

TEST(CapacityTest, CgroupV2LimitOnAncestorOfOwnCgroupApplies) {
  FakeRoot root;
  root.MemAvailableKb(Kb(8 * kGb));
  root.Write("proc/self/cgroup", "0::/system.slice/runner.service\n");
  root.Write("sys/fs/cgroup/system.slice/memory.max", absl::StrCat(2 * kGb, "\n"));
  root.Write("sys/fs/cgroup/system.slice/runner.service/memory.max", "max\n");

  EXPECT_THAT(TotalMemoryBytes(root.Options()), IsOkAndHolds(2 * kGb - 256 * kBytesPerMb));
}

TEST(CapacityTest, CgroupV1LimitOnOwnCgroupApplies) {
  FakeRoot root;
  root.MemAvailableKb(Kb(8 * kGb));
  root.Write("proc/self/cgroup", "5:cpu,cpuacct:/\n4:memory:/docker/abc\n0::/\n");
  root.Write("sys/fs/cgroup/memory/docker/abc/memory.limit_in_bytes", absl::StrCat(2 * kGb));

  EXPECT_THAT(TotalMemoryBytes(root.Options()), IsOkAndHolds(2 * kGb - 256 * kBytesPerMb));
}

TEST(CapacityTest, SmallestOfV1AndV2LimitsWins) {
  FakeRoot root;
  root.MemAvailableKb(Kb(8 * kGb));
  root.Write("sys/fs/cgroup/memory/memory.limit_in_bytes", absl::StrCat(3 * kGb));
  root.Write("sys/fs/cgroup/memory.max", absl::StrCat(2 * kGb));

  EXPECT_THAT(TotalMemoryBytes(root.Options()), IsOkAndHolds(2 * kGb - 256 * kBytesPerMb));
}

TEST(CapacityTest, MalformedCgroupMemoryLimitIsFailedPrecondition) {
  FakeRoot root;
  root.MemAvailableKb(Kb(8 * kGb));
  root.Write("sys/fs/cgroup/memory.max", "lots\n");

  EXPECT_THAT(TotalMemoryBytes(root.Options()),
              StatusIs(absl::StatusCode::kFailedPrecondition, ::testing::HasSubstr("memory.max")));
}

TEST(CapacityTest, UnreadableCgroupFileIsAnError) {
  FakeRoot root;
  root.MemAvailableKb(Kb(8 * kGb));
  root.MakeDir("sys/fs/cgroup/memory.max");  // read() fails with EISDIR

  EXPECT_THAT(TotalMemoryBytes(root.Options()),
              StatusIs(absl::StatusCode::kFailedPrecondition, ::testing::HasSubstr("reading")));
}

TEST(CapacityTest, MaxTotalMemoryLowersTotal) {
  FakeRoot root;
  root.MemAvailableKb(Kb(8 * kGb));
  CapacityOptions options = root.Options();
  options.max_total_memory_bytes = kGb;

  EXPECT_THAT(TotalMemoryBytes(options), IsOkAndHolds(kGb));
}

TEST(CapacityTest, MaxTotalMemoryCannotRaiseTotal) {
  FakeRoot root;
  root.MemAvailableKb(Kb(kGb));
  CapacityOptions options = root.Options();
  options.max_total_memory_bytes = 64 * kGb;

  EXPECT_THAT(TotalMemoryBytes(options), IsOkAndHolds(kGb - 256 * kBytesPerMb));
}

TEST(CapacityTest, CpuIsThousandPerOnlineCpu) {
  FakeRoot root;
  root.Write("sys/devices/system/cpu/online", "0-3,6,8-9\n");

  EXPECT_THAT(TotalMilliCpus(root.Options()), IsOkAndHolds(7000));
}

TEST(CapacityTest, CpuFallsBackToCpuinfo) {
  FakeRoot root;
  root.Write("proc/cpuinfo",
             "processor\t: 0\nmodel name\t: x\n\nprocessor\t: 1\nmodel name\t: x\n\n");

  EXPECT_THAT(TotalMilliCpus(root.Options()), IsOkAndHolds(2000));
}

TEST(CapacityTest, MalformedOnlineListFallsBackToCpuinfo) {
  FakeRoot root;
  root.Write("sys/devices/system/cpu/online", "3-1\n");
  root.Write("proc/cpuinfo", "processor : 0\n");

  EXPECT_THAT(TotalMilliCpus(root.Options()), IsOkAndHolds(1000));
}

TEST(CapacityTest, NoCpusIsFailedPrecondition) {
  FakeRoot root;

  EXPECT_THAT(TotalMilliCpus(root.Options()), StatusIs(absl::StatusCode::kFailedPrecondition));
}

TEST(CapacityTest, CgroupV1QuotaLowersCpu) {
  FakeRoot root;
  root.Write("sys/devices/system/cpu/online", "0-7\n");
  root.Write("sys/fs/cgroup/cpu/cpu.cfs_quota_us", "150000\n");
  root.Write("sys/fs/cgroup/cpu/cpu.cfs_period_us", "100000\n");

  EXPECT_THAT(TotalMilliCpus(root.Options()), IsOkAndHolds(1500));
}

TEST(CapacityTest, CgroupV1NegativeQuotaIsUnlimited) {
  FakeRoot root;
  root.Write("sys/devices/system/cpu/online", "0-1\n");
  root.Write("sys/fs/cgroup/cpu/cpu.cfs_quota_us", "-1\n");
  root.Write("sys/fs/cgroup/cpu/cpu.cfs_period_us", "100000\n");

  EXPECT_THAT(TotalMilliCpus(root.Options()), IsOkAndHolds(2000));
}

TEST(CapacityTest, CgroupV2CpuMaxLowersCpu) {
  FakeRoot root;
  root.Write("sys/devices/system/cpu/online", "0-7\n");
  root.Write("proc/self/cgroup", "0::/kubepods/pod1\n");
  root.Write("sys/fs/cgroup/kubepods/pod1/cpu.max", "50000 100000\n");

  EXPECT_THAT(TotalMilliCpus(root.Options()), IsOkAndHolds(500));
}

TEST(CapacityTest, CgroupV2CpuMaxOfMaxIsUnlimited) {
  FakeRoot root;
  root.Write("sys/devices/system/cpu/online", "0-1\n");
  root.Write("sys/fs/cgroup/cpu.max", "max 100000\n");

  EXPECT_THAT(TotalMilliCpus(root.Options()), IsOkAndHolds(2000));
}

TEST(CapacityTest, MalformedCpuMaxIsFailedPrecondition) {
  for (const char* contents : {"50000\n", "half 100000\n", "50000 max\n", ""}) {
    FakeRoot root;
    root.Write("sys/devices/system/cpu/online", "0-1\n");
    root.Write("sys/fs/cgroup/cpu.max", contents);

    EXPECT_THAT(TotalMilliCpus(root.Options()), StatusIs(absl::StatusCode::kFailedPrecondition))
        << contents;
  }
}

TEST(CapacityTest, QuotaBelowOneMilliCpuIsFailedPrecondition) {
  FakeRoot root;
  root.Write("sys/devices/system/cpu/online", "0-1\n");
  root.Write("sys/fs/cgroup/cpu.max", "50 100000\n");

  EXPECT_THAT(TotalMilliCpus(root.Options()), StatusIs(absl::StatusCode::kFailedPrecondition));
}

TEST(CapacityTest, MaxTotalCpuLowersTotal) {
  FakeRoot root;
  root.Write("sys/devices/system/cpu/online", "0-7\n");
  CapacityOptions options = root.Options();
  options.max_total_cpu_mcpus = 1250;

  EXPECT_THAT(TotalMilliCpus(options), IsOkAndHolds(1250));
}

TEST(CapacityTest, ComputeCapacityReturnsBoth) {
  FakeRoot root;
  root.MemAvailableKb(Kb(kGb));
  root.Write("sys/devices/system/cpu/online", "0\n");

  EXPECT_THAT(ComputeCapacity(root.Options()),
              IsOkAndHolds(Resources{.memory_bytes = kGb - 256 * kBytesPerMb, .milli_cpus = 1000}));
}

TEST(CapacityTest, ComputeCapacityFailsWhenMemoryCannotBeSized) {
  FakeRoot root;
  root.Write("sys/devices/system/cpu/online", "0\n");

  EXPECT_THAT(ComputeCapacity(root.Options()), StatusIs(absl::StatusCode::kFailedPrecondition));
}

struct EnvCase {
  std::optional<std::string> memory;
  std::optional<std::string> cpu;
  absl::StatusCode code;
  uint64_t want_memory;
  uint64_t want_cpu;
};

TEST(CapacityTest, OptionsFromEnv) {
  const EnvCase cases[] = {
      {std::nullopt, std::nullopt, absl::StatusCode::kOk, 0, 0},
      {"", "  ", absl::StatusCode::kOk, 0, 0},
      {" 1073741824\n", "2500", absl::StatusCode::kOk, 1073741824, 2500},
      {"18446744073709551615", std::nullopt, absl::StatusCode::kOk, UINT64_MAX, 0},
      {"18446744073709551616", std::nullopt, absl::StatusCode::kInvalidArgument, 0, 0},
      {"-1", std::nullopt, absl::StatusCode::kInvalidArgument, 0, 0},
      {"+5", std::nullopt, absl::StatusCode::kInvalidArgument, 0, 0},
      {std::nullopt, "2 cores", absl::StatusCode::kInvalidArgument, 0, 0},
      {"1GB", std::nullopt, absl::StatusCode::kInvalidArgument, 0, 0},
  };
  for (const EnvCase& c : cases) {
    std::map<std::string, std::string, std::less<>> env;
    if (c.memory) env["FN_MAX_TOTAL_MEMORY_BYTES"] = *c.memory;
    if (c.cpu) env["FN_MAX_TOTAL_CPU_MCPUS"] = *c.cpu;

    absl::StatusOr<CapacityOptions> options =
        CapacityOptionsFromEnv([&](absl::string_view name) -> std::optional<std::string> {
          auto it = env.find(name);
          if (it == env.end()) return std::nullopt;
          return it->second;
        });

    SCOPED_TRACE(::testing::Message()
                 << c.memory.value_or("<unset>") << " / " << c.cpu.value_or("<unset>"));
    ASSERT_EQ(options.status().code(), c.code) << options.status();
    if (!options.ok()) continue;
    EXPECT_EQ(options->max_total_memory_bytes, c.want_memory);
    EXPECT_EQ(options->max_total_cpu_mcpus, c.want_cpu);
    EXPECT_EQ(options->root, "/");
  }
}

TEST(CapacityTest, EnvErrorNamesTheVariable) {
  absl::StatusOr<CapacityOptions> options =
      CapacityOptionsFromEnv([](absl::string_view name) -> std::optional<std::string> {
        if (name == "FN_MAX_TOTAL_CPU_MCPUS") return "lots";
        return std::nullopt;
      });

  EXPECT_THAT(options, StatusIs(absl::StatusCode::kInvalidArgument,
                                ::testing::HasSubstr("FN_MAX_TOTAL_CPU_MCPUS")));
}

}  // namespace
}  // namespace fnrunner
