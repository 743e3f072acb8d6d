#pragma once

// Drives `fnlb bench` load: closed loop (fixed concurrency) or open loop (Poisson arrivals at
// a rate), plus bursts, over a seeded workload. What a call does is the caller's (through a
// placer, or straight to a function socket).

#include <cstdint>
#include <functional>
#include <vector>

#include "absl/time/time.h"
#include "lb-client/bench_stats.h"
#include "lb-client/bench_workload.h"

namespace fnrunner {

struct LoadOptions {
  int concurrency = 8;     // closed loop: workers, each issuing calls back to back
  // Closed loop: how long each worker waits after an answer before its next call (sparse
  // traffic: every call after a think longer than the runner's freeze delay finds its
  // container frozen).
  absl::Duration think = absl::ZeroDuration();
  double rate = 0;         // > 0: open loop, arrivals per second instead
  int max_inflight = 256;  // open loop: worker threads (arrivals queue when all are busy)
  absl::Duration duration = absl::Seconds(10);  // no call starts after this
  absl::Duration warmup = absl::ZeroDuration();  // calls scheduled earlier are not recorded
  std::vector<Burst> bursts;  // with their functions chosen (>= 0)
  uint64_t seed = 1;
};

// Runs one call of `function` and describes it (all but latency, which the driver measures
// from the call's scheduled start, so queueing in the generator counts). Used by one thread.
using CallFn = std::function<CallRecord(int function)>;
// Makes the CallFn of one worker thread (e.g. with its own connection).
using WorkerFactory = std::function<CallFn()>;

struct LoadResult {
  std::vector<CallRecord> records;  // after the warm-up
  absl::Duration elapsed;           // from the end of the warm-up to the last answer
};

// Blocks until every call started has ended. Threads: the workers, one per burst call, and a
// dispatcher; all joined before returning.
LoadResult RunLoad(const LoadOptions& options, const ZipfSampler& zipf,
                   const WorkerFactory& factory);

}  // namespace fnrunner
