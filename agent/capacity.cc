#include "agent/capacity.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "base/status_macros.h"

namespace fnrunner {
namespace {

constexpr uint64_t kMinHeadroomBytes = 256 * kBytesPerMb;
constexpr uint64_t kMaxHeadroomBytes = 5 * 1024 * kBytesPerMb;

std::string JoinPath(absl::string_view dir, absl::string_view rel) {
  if (absl::EndsWith(dir, "/")) dir.remove_suffix(1);
  if (absl::StartsWith(rel, "/")) rel.remove_prefix(1);
  return absl::StrCat(dir, "/", rel);
}

// Strict: digits only (no sign, no spaces), and it must fit 64 bits.
std::optional<uint64_t> ParseUint64(absl::string_view text) {
  uint64_t value = 0;
  if (text.empty() || !std::all_of(text.begin(), text.end(), absl::ascii_isdigit) ||
      !absl::SimpleAtoi(text, &value)) {
    return std::nullopt;
  }
  return value;
}

// The file's contents, or nullopt if it does not exist (a controller or cgroup version this
// machine does not have). Any other failure is an error: a limit we cannot read might be the
// one that matters.
absl::StatusOr<std::optional<std::string>> ReadOptionalFile(const std::string& path) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT || errno == ENOTDIR) return std::nullopt;
    return absl::ErrnoToStatus(errno, absl::StrCat("opening ", path));
  }
  std::string contents;
  char buf[4096];
  for (;;) {
    ssize_t n = read(fd, buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      absl::Status status = absl::ErrnoToStatus(errno, absl::StrCat("reading ", path));
      close(fd);
      return status;
    }
    if (n == 0) break;
    contents.append(buf, static_cast<size_t>(n));
  }
  close(fd);
  return contents;
}

absl::Status Malformed(const std::string& path, absl::string_view contents) {
  return absl::FailedPreconditionError(
      absl::StrCat("unexpected contents in ", path, ": \"", absl::CEscape(contents), "\""));
}

// Our cgroup paths, from /proc/self/cgroup ("0::/a/b" for v2, "4:memory:/a" for v1).
struct SelfCgroups {
  std::string v2;
  std::string v1_memory;
  std::string v1_cpu;
};

absl::StatusOr<SelfCgroups> ReadSelfCgroups(const CapacityOptions& options) {
  SelfCgroups paths;
  ASSIGN_OR_RETURN(std::optional<std::string> contents,
                   ReadOptionalFile(JoinPath(options.root, "proc/self/cgroup")));
  if (!contents) return paths;
  for (absl::string_view line : absl::StrSplit(*contents, '\n', absl::SkipEmpty())) {
    std::vector<absl::string_view> parts = absl::StrSplit(line, absl::MaxSplits(':', 2));
    if (parts.size() != 3) continue;
    if (parts[0] == "0" && parts[1].empty()) paths.v2 = std::string(parts[2]);
    for (absl::string_view controller : absl::StrSplit(parts[1], ',')) {
      if (controller == "memory") paths.v1_memory = std::string(parts[2]);
      if (controller == "cpu") paths.v1_cpu = std::string(parts[2]);
    }
  }
  return paths;
}

// The cgroup directories whose limits apply to us under one hierarchy mounted at `mount`:
// the mount point itself (our own cgroup when we run in a cgroup namespace, as in a
// container) and each ancestor of `self` down to `self` (when we do not). Paths that leave
// the namespace ("..") are not followed.
std::vector<std::string> CgroupDirs(const CapacityOptions& options, absl::string_view mount,
                                    absl::string_view self) {
  std::vector<std::string> dirs = {JoinPath(options.root, mount)};
  if (absl::StrContains(self, "..")) return dirs;
  std::string dir = dirs.front();
  for (absl::string_view part : absl::StrSplit(self, '/', absl::SkipEmpty())) {
    dir = JoinPath(dir, part);
    dirs.push_back(dir);
  }
  return dirs;
}

absl::StatusOr<uint64_t> ReadMemAvailable(const CapacityOptions& options) {
  std::string path = JoinPath(options.root, "proc/meminfo");
  ASSIGN_OR_RETURN(std::optional<std::string> contents, ReadOptionalFile(path));
  if (!contents) return absl::FailedPreconditionError(absl::StrCat(path, " does not exist"));
  for (absl::string_view line : absl::StrSplit(*contents, '\n')) {
    if (!absl::StartsWith(line, "MemAvailable:")) continue;
    std::vector<absl::string_view> fields =
        absl::StrSplit(line, absl::ByAnyChar(" \t"), absl::SkipEmpty());
    std::optional<uint64_t> value = fields.size() == 3 ? ParseUint64(fields[1]) : std::nullopt;
    uint64_t unit = 0;
    if (fields.size() == 3 && fields[2] == "kB") unit = 1024;
    if (fields.size() == 3 && fields[2] == "MB") unit = kBytesPerMb;
    if (!value || unit == 0 || *value > UINT64_MAX / unit) return Malformed(path, line);
    return *value * unit;
  }
  return absl::FailedPreconditionError(
      absl::StrCat("no MemAvailable in ", path, " (Linux older than 3.14?)"));
}

// The smallest cgroup memory limit that applies to us, or nullopt if none does.
absl::StatusOr<std::optional<uint64_t>> CgroupMemoryLimit(const CapacityOptions& options) {
  ASSIGN_OR_RETURN(SelfCgroups self, ReadSelfCgroups(options));
  std::optional<uint64_t> limit;
  auto consider = [&](const std::string& path) -> absl::Status {
    ASSIGN_OR_RETURN(std::optional<std::string> contents, ReadOptionalFile(path));
    if (!contents) return absl::OkStatus();
    absl::string_view text = absl::StripAsciiWhitespace(*contents);
    if (text == "max") return absl::OkStatus();  // v2: no limit at this level
    std::optional<uint64_t> value = ParseUint64(text);
    if (!value) return Malformed(path, *contents);
    limit = std::min(limit.value_or(UINT64_MAX), *value);
    return absl::OkStatus();
  };
  for (const std::string& dir : CgroupDirs(options, "sys/fs/cgroup/memory", self.v1_memory)) {
    RETURN_IF_ERROR(consider(JoinPath(dir, "memory.limit_in_bytes")));
  }
  for (const std::string& dir : CgroupDirs(options, "sys/fs/cgroup", self.v2)) {
    RETURN_IF_ERROR(consider(JoinPath(dir, "memory.max")));
  }
  return limit;
}

// quota/period CPUs in mCPU, without overflowing for any 64-bit quota.
uint64_t QuotaMilliCpus(uint64_t quota, uint64_t period) {
  return quota / period * 1000 + quota % period * 1000 / period;
}

// The smallest CFS quota (v1 cpu.cfs_quota_us, v2 cpu.max) that applies to us, in mCPU.
absl::StatusOr<std::optional<uint64_t>> CgroupCpuLimit(const CapacityOptions& options) {
  ASSIGN_OR_RETURN(SelfCgroups self, ReadSelfCgroups(options));
  std::optional<uint64_t> limit;
  auto lower = [&](uint64_t mcpus) { limit = std::min(limit.value_or(UINT64_MAX), mcpus); };
  for (const std::string& dir : CgroupDirs(options, "sys/fs/cgroup/cpu", self.v1_cpu)) {
    std::string quota_path = JoinPath(dir, "cpu.cfs_quota_us");
    std::string period_path = JoinPath(dir, "cpu.cfs_period_us");
    ASSIGN_OR_RETURN(std::optional<std::string> quota_text, ReadOptionalFile(quota_path));
    ASSIGN_OR_RETURN(std::optional<std::string> period_text, ReadOptionalFile(period_path));
    if (!quota_text || !period_text) continue;
    int64_t quota = 0;  // -1 means unlimited
    if (!absl::SimpleAtoi(*quota_text, &quota)) return Malformed(quota_path, *quota_text);
    std::optional<uint64_t> period = ParseUint64(absl::StripAsciiWhitespace(*period_text));
    if (!period) return Malformed(period_path, *period_text);
    if (quota > 0 && *period > 0) lower(QuotaMilliCpus(static_cast<uint64_t>(quota), *period));
  }
  for (const std::string& dir : CgroupDirs(options, "sys/fs/cgroup", self.v2)) {
    std::string path = JoinPath(dir, "cpu.max");
    ASSIGN_OR_RETURN(std::optional<std::string> contents, ReadOptionalFile(path));
    if (!contents) continue;
    std::vector<absl::string_view> fields =
        absl::StrSplit(*contents, absl::ByAnyChar(" \t\n"), absl::SkipEmpty());
    if (fields.size() != 2) return Malformed(path, *contents);
    std::optional<uint64_t> period = ParseUint64(fields[1]);
    std::optional<uint64_t> quota = ParseUint64(fields[0]);
    if (!period || (!quota && fields[0] != "max")) return Malformed(path, *contents);
    if (quota && *period > 0) lower(QuotaMilliCpus(*quota, *period));
  }
  return limit;
}

// Counts "0-3,6,8-9" style CPU lists; nullopt if malformed.
std::optional<uint64_t> CountCpuList(absl::string_view list) {
  uint64_t count = 0;
  for (absl::string_view range : absl::StrSplit(list, ',')) {
    std::vector<absl::string_view> ends = absl::StrSplit(range, absl::MaxSplits('-', 1));
    std::optional<uint64_t> first = ParseUint64(ends[0]);
    std::optional<uint64_t> last = ends.size() == 2 ? ParseUint64(ends[1]) : first;
    if (!first || !last || *last < *first) return std::nullopt;
    count += *last - *first + 1;
  }
  return count;
}

absl::StatusOr<uint64_t> CountOnlineCpus(const CapacityOptions& options) {
  ASSIGN_OR_RETURN(std::optional<std::string> online,
                   ReadOptionalFile(JoinPath(options.root, "sys/devices/system/cpu/online")));
  if (online) {
    if (std::optional<uint64_t> count = CountCpuList(absl::StripAsciiWhitespace(*online))) {
      return *count;
    }
  }
  // Older or unusual kernels: fall back to what fn counts.
  ASSIGN_OR_RETURN(std::optional<std::string> cpuinfo,
                   ReadOptionalFile(JoinPath(options.root, "proc/cpuinfo")));
  if (!cpuinfo) return 0;
  uint64_t count = 0;
  for (absl::string_view line : absl::StrSplit(*cpuinfo, '\n')) {
    std::vector<absl::string_view> fields =
        absl::StrSplit(line, absl::ByAnyChar(" \t"), absl::SkipEmpty());
    if (fields.size() == 3 && fields[0] == "processor" && fields[1] == ":") ++count;
  }
  return count;
}

absl::StatusOr<uint64_t> ParseEnvUint64(
    absl::FunctionRef<std::optional<std::string>(absl::string_view)> getenv,
    absl::string_view name) {
  std::string value = getenv(name).value_or("");
  absl::string_view text = absl::StripAsciiWhitespace(value);
  if (text.empty()) return 0;
  std::optional<uint64_t> parsed = ParseUint64(text);
  if (!parsed) {
    return absl::InvalidArgumentError(
        absl::StrCat(name, "=\"", absl::CEscape(text), "\" is not a non-negative integer"));
  }
  return *parsed;
}

}  // namespace

absl::StatusOr<CapacityOptions> CapacityOptionsFromEnv(
    absl::FunctionRef<std::optional<std::string>(absl::string_view)> getenv) {
  CapacityOptions options;
  ASSIGN_OR_RETURN(options.max_total_memory_bytes,
                   ParseEnvUint64(getenv, "FN_MAX_TOTAL_MEMORY_BYTES"));
  ASSIGN_OR_RETURN(options.max_total_cpu_mcpus, ParseEnvUint64(getenv, "FN_MAX_TOTAL_CPU_MCPUS"));
  return options;
}

absl::StatusOr<uint64_t> TotalMemoryBytes(const CapacityOptions& options) {
  ASSIGN_OR_RETURN(uint64_t available, ReadMemAvailable(options));
  ASSIGN_OR_RETURN(std::optional<uint64_t> cgroup_limit, CgroupMemoryLimit(options));
  if (cgroup_limit) available = std::min(available, *cgroup_limit);
  if (available <= kMinHeadroomBytes) {
    return absl::FailedPreconditionError(absl::StrCat(
        "not enough memory: ", available, " bytes available, need more than ", kMinHeadroomBytes));
  }
  // Headroom for dockerd, the runner itself and everything else on the machine.
  uint64_t headroom = std::clamp(available / 10, kMinHeadroomBytes, kMaxHeadroomBytes);
  uint64_t total = available - headroom;
  if (options.max_total_memory_bytes != 0) {
    total = std::min(total, options.max_total_memory_bytes);
  }
  return total;
}

absl::StatusOr<uint64_t> TotalMilliCpus(const CapacityOptions& options) {
  ASSIGN_OR_RETURN(uint64_t cpus, CountOnlineCpus(options));
  uint64_t total = cpus > UINT64_MAX / 1000 ? UINT64_MAX : cpus * 1000;
  ASSIGN_OR_RETURN(std::optional<uint64_t> cgroup_limit, CgroupCpuLimit(options));
  if (cgroup_limit) total = std::min(total, *cgroup_limit);
  if (options.max_total_cpu_mcpus != 0) total = std::min(total, options.max_total_cpu_mcpus);
  if (total == 0) {
    return absl::FailedPreconditionError(
        "cannot size CPU capacity: no online CPUs found or a CPU quota below 1 mCPU");
  }
  return total;
}

absl::StatusOr<Resources> ComputeCapacity(const CapacityOptions& options) {
  Resources total;
  ASSIGN_OR_RETURN(total.memory_bytes, TotalMemoryBytes(options));
  ASSIGN_OR_RETURN(total.milli_cpus, TotalMilliCpus(options));
  return total;
}

}  // namespace fnrunner
