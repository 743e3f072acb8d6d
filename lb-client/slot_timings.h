#pragma once

// What the capacity placer learns from calls it placed: how long each function's calls run and
// how long its cold starts take. Feeds the queue tier: wait for a busy warm container rather
// than start a new one when that is expected to be quicker.

#include <optional>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "proto/runner.pb.h"

namespace fnrunner {

// Exponentially weighted averages (weight 0.2 for a new sample) per slot key, and over all
// slots as the prior for a function with no samples yet. Thread-safe.
class SlotTimings {
 public:
  // Learns from a committed call's CallFinished: its execution time, and, if it was a cold
  // start, the container's create + init + image pull time.
  void Record(const std::string& slot_key, const CallFinished& finished) ABSL_LOCKS_EXCLUDED(mu_);

  struct Estimate {
    std::optional<absl::Duration> execution;
    std::optional<absl::Duration> cold_start;
  };
  // The slot's own averages, each falling back to the all-slots average; nullopt if neither.
  Estimate Get(const std::string& slot_key) ABSL_LOCKS_EXCLUDED(mu_);

 private:
  struct Averages {
    std::optional<double> execution_ms;
    std::optional<double> cold_start_ms;
  };

  absl::Mutex mu_;
  absl::flat_hash_map<std::string, Averages> slots_ ABSL_GUARDED_BY(mu_);
  Averages all_ ABSL_GUARDED_BY(mu_);
};

// The containers of one slot across the fleet, and the calls queued for them.
struct SlotLoad {
  int busy = 0;      // running a call: free again after about one execution time
  int starting = 0;  // being started: free after the rest of a cold start
  int waiting = 0;   // calls already waiting for one of them (runners' and ours)
};

// The expected wait for one of `load`'s containers if this call queues behind the others:
// (waiting + 1) executions shared by the containers, plus half a cold start when only
// starting containers exist. InfiniteDuration() when there is no container to wait for.
absl::Duration ExpectedWarmWait(const SlotLoad& load, absl::Duration execution,
                                absl::Duration cold_start);

}  // namespace fnrunner
