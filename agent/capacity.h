#pragma once

// How much memory and CPU this runner may hand to function containers, computed once at
// startup from /proc, /sys (cgroup v1 and v2) and two configuration clamps.

#include <cstdint>
#include <optional>
#include <string>

#include "absl/functional/function_ref.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace fnrunner {

inline constexpr uint64_t kBytesPerMb = uint64_t{1} << 20;  // fn's "MB" is a MiB.

// An amount of memory and CPU: a capacity, a request, what is in use or what is missing.
struct Resources {
  uint64_t memory_bytes = 0;
  uint64_t milli_cpus = 0;  // 1000 = one core

  friend bool operator==(const Resources&, const Resources&) = default;
};

struct CapacityOptions {
  // Prefix for /proc and /sys; tests point it at a temp dir holding fake files.
  std::string root = "/";
  // FN_MAX_TOTAL_MEMORY_BYTES / FN_MAX_TOTAL_CPU_MCPUS: can only lower the totals; 0 = off.
  uint64_t max_total_memory_bytes = 0;
  uint64_t max_total_cpu_mcpus = 0;
};

// Reads FN_MAX_TOTAL_MEMORY_BYTES and FN_MAX_TOTAL_CPU_MCPUS through `getenv` (which returns
// nullopt for an unset variable). Values are trimmed; empty means 0. InvalidArgument, naming
// the variable, for anything but a non-negative decimal integer that fits 64 bits.
absl::StatusOr<CapacityOptions> CapacityOptionsFromEnv(
    absl::FunctionRef<std::optional<std::string>(absl::string_view)> getenv);

// Memory for functions: MemAvailable from /proc/meminfo, lowered to the smallest cgroup limit
// that applies to this process (v1 memory.limit_in_bytes and v2 memory.max, on our own cgroup
// and its ancestors), minus fn's headroom clamp(avail / 10, 256 MB, 5 GB), then lowered to
// max_total_memory_bytes. FailedPrecondition if MemAvailable is missing, a file is
// malformed, or no more than 256 MB is available before headroom (fn's "Not enough memory");
// the errno's code (with the path) if a file exists but cannot be read.
absl::StatusOr<uint64_t> TotalMemoryBytes(const CapacityOptions& options);

// CPU for functions in mCPU: 1000 x online CPUs (/sys/devices/system/cpu/online, else the
// "processor" lines of /proc/cpuinfo), lowered to the cgroup v1 CFS quota/period and the v2
// cpu.max quota/period of our cgroup and its ancestors, then to max_total_cpu_mcpus.
// FailedPrecondition if no CPU can be counted, the result is 0 or a cgroup file is
// malformed; the errno's code if a file exists but cannot be read.
absl::StatusOr<uint64_t> TotalMilliCpus(const CapacityOptions& options);

// Both of the above.
absl::StatusOr<Resources> ComputeCapacity(const CapacityOptions& options);

}  // namespace fnrunner
