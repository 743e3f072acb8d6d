#include "lb-client/bench_load.h"

#include <algorithm>
#include <deque>
#include <random>
#include <thread>
#include <utility>

#include "absl/synchronization/mutex.h"

namespace fnrunner {
namespace {

// Records calls from many threads.
class Recorder {
 public:
  Recorder(absl::Time start, absl::Duration warmup) : start_(start), warmup_(warmup) {}

  void Add(CallRecord record, absl::Time scheduled, absl::Time ended) ABSL_LOCKS_EXCLUDED(mu_) {
    if (scheduled < start_ + warmup_) return;
    record.latency = ended - scheduled;
    absl::MutexLock lock(&mu_);
    last_end_ = std::max(last_end_, ended);
    records_.push_back(std::move(record));
  }

  LoadResult Take() ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    LoadResult result;
    result.elapsed = std::max(absl::ZeroDuration(), last_end_ - (start_ + warmup_));
    result.records = std::move(records_);
    return result;
  }

 private:
  const absl::Time start_;
  const absl::Duration warmup_;
  absl::Mutex mu_;
  std::vector<CallRecord> records_ ABSL_GUARDED_BY(mu_);
  absl::Time last_end_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
};

void RunOne(const CallFn& call, int function, bool burst, absl::Time scheduled,
            Recorder& recorder) {
  CallRecord record = call(function);
  record.function = function;
  record.burst = burst;
  recorder.Add(std::move(record), scheduled, absl::Now());
}

// Open loop: arrivals queued at their time, taken by a fixed set of workers.
class ArrivalQueue {
 public:
  void Push(int function, absl::Time scheduled) ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    queue_.push_back({function, scheduled});
  }
  void Close() ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    closed_ = true;
  }
  // False once closed and empty.
  bool Pop(int& function, absl::Time& scheduled) ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    auto ready = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return closed_ || !queue_.empty(); };
    mu_.Await(absl::Condition(&ready));
    if (queue_.empty()) return false;
    function = queue_.front().first;
    scheduled = queue_.front().second;
    queue_.pop_front();
    return true;
  }

 private:
  absl::Mutex mu_;
  std::deque<std::pair<int, absl::Time>> queue_ ABSL_GUARDED_BY(mu_);
  bool closed_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace

LoadResult RunLoad(const LoadOptions& options, const ZipfSampler& zipf,
                   const WorkerFactory& factory) {
  const absl::Time start = absl::Now();
  const absl::Time end = start + options.duration;
  Recorder recorder(start, options.warmup);
  // Arrivals happen at their scheduled times: pacing, the one place a load generator sleeps.
  const auto sleep_until = [](absl::Time t) { absl::SleepFor(t - absl::Now()); };
  std::vector<std::thread> threads;

  // Bursts: each fires its calls together, one thread per call.
  std::vector<Burst> bursts = options.bursts;
  std::sort(bursts.begin(), bursts.end(), [](const Burst& a, const Burst& b) { return a.at < b.at; });
  threads.emplace_back([&] {
    std::vector<std::thread> callers;
    for (const Burst& burst : bursts) {
      const absl::Time at = start + burst.at;
      sleep_until(at);
      for (int i = 0; i < burst.calls; ++i) {
        callers.emplace_back([&, at, function = burst.function] {
          RunOne(factory(), function, /*burst=*/true, at, recorder);
        });
      }
    }
    for (std::thread& t : callers) t.join();
  });

  if (options.rate > 0) {
    ArrivalQueue queue;
    for (int w = 0; w < options.max_inflight; ++w) {
      threads.emplace_back([&] {
        const CallFn call = factory();
        int function = 0;
        absl::Time scheduled;
        while (queue.Pop(function, scheduled)) RunOne(call, function, false, scheduled, recorder);
      });
    }
    for (const Arrival& arrival :
         PoissonArrivals(options.rate, options.duration, zipf, options.seed)) {
      const absl::Time at = start + arrival.at;
      sleep_until(at);
      queue.Push(arrival.function, at);
    }
    queue.Close();
  } else {
    for (int w = 0; w < options.concurrency; ++w) {
      threads.emplace_back([&, w] {
        const CallFn call = factory();
        std::mt19937_64 gen(options.seed * 1000003 + static_cast<uint64_t>(w));
        for (absl::Time now = absl::Now(); now < end; now = absl::Now()) {
          RunOne(call, zipf.Sample(gen), false, now, recorder);
          if (options.think > absl::ZeroDuration()) absl::SleepFor(options.think);
        }
      });
    }
  }
  for (std::thread& t : threads) t.join();
  return recorder.Take();
}

}  // namespace fnrunner
