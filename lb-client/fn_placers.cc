// fn's two placers, naive and consistent hash, over one pass loop (placement-and-metrics.md
// §1.4-1.6).

#include <algorithm>
#include <cstdint>
#include <functional>
#include <memory>
#include <utility>
#include <vector>

#include "base/clock.h"
#include "lb-client/placer.h"
#include "lb-client/sip_hash.h"

namespace fnrunner {

bool TryRunner(RunnerPool& pool, const RunnerState& runner, const CallRequest& request,
               ResponseSink& sink, absl::Time deadline, absl::Time placement_start,
               PlacementResult& result) {
  const absl::Time attempt_start = absl::Now();
  ++result.attempts;
  AttemptResult attempt = runner.client->Engage(request, sink, deadline);
  switch (attempt.kind) {
    case AttemptResult::Kind::kNack:
      ++result.nacks;
      return false;
    case AttemptResult::Kind::kNotPlaced:
      ++result.errors;
      pool.ReportUnavailable(runner.client->address());
      return false;
    case AttemptResult::Kind::kPlaced:
      break;
  }
  result.placed = true;
  result.status = std::move(attempt.status);
  result.fn_error_code = attempt.fn_error_code;
  result.finished = std::move(attempt.finished);
  result.runner = runner.client->address();
  result.placer_latency = attempt_start - placement_start;
  return true;
}

namespace {

// The order of runner indexes one pass tries, for `n` runners.
using PassOrder = std::function<std::vector<size_t>(const CallRequest&, size_t n)>;

class PassPlacer final : public Placer {
 public:
  PassPlacer(std::string name, RunnerPool& pool, PlacerOptions options, PassOrder order)
      : name_(std::move(name)), pool_(pool), options_(options), order_(std::move(order)) {}

  absl::string_view name() const override { return name_; }

  PlacementResult Place(const CallRequest& request, ResponseSink& sink,
                        absl::Time deadline) override {
    PlacementResult result;
    const absl::Time start = absl::Now();
    const absl::Time search_end = std::min(deadline, start + options_.placer_timeout);
    bool empty_pool = false;
    while (true) {
      const uint64_t version = pool_.version();
      const std::vector<RunnerState> runners = pool_.Runners();
      empty_pool = runners.empty();
      for (size_t index : order_(request, runners.size())) {
        if (absl::Now() >= search_end) break;
        if (!runners[index].healthy) continue;
        if (TryRunner(pool_, runners[index], request, sink, deadline, start, result)) {
          return result;
        }
      }
      // fn's RetryAllDelay, cut short when the pool changes (a runner back up, say).
      const absl::Time pause_end = std::min(search_end, absl::Now() + options_.retry_all_delay);
      if (absl::Now() >= search_end) break;
      pool_.AwaitChange(version, pause_end);
      if (absl::Now() >= search_end) break;
    }
    result.placer_latency = absl::Now() - start;
    result.status = empty_pool ? absl::FailedPreconditionError("no runners in the pool")
                               : absl::ResourceExhaustedError(kServerTooBusy);
    return result;
  }

 private:
  const std::string name_;
  RunnerPool& pool_;
  const PlacerOptions options_;
  const PassOrder order_;
};

std::vector<size_t> RingFrom(size_t first, size_t n) {
  std::vector<size_t> order(n);
  for (size_t k = 0; k < n; ++k) order[k] = (first + k) % n;
  return order;
}

}  // namespace

std::unique_ptr<Placer> MakeNaivePlacer(RunnerPool& pool, Clock& clock, PlacerOptions options) {
  return std::make_unique<PassPlacer>(
      "naive", pool, options, [&clock](const CallRequest&, size_t n) {
        if (n == 0) return std::vector<size_t>();
        // fn seeds each pass with the wall clock's nanoseconds and increments before use.
        const int64_t nanos = absl::ToUnixNanos(clock.Now()) % 1'000'000'000;
        return RingFrom(static_cast<size_t>(nanos + 1) % n, n);
      });
}

std::unique_ptr<Placer> MakeConsistentHashPlacer(RunnerPool& pool, PlacerOptions options) {
  return std::make_unique<PassPlacer>(
      "ch", pool, options, [](const CallRequest& request, size_t n) {
        if (n == 0) return std::vector<size_t>();
        const uint64_t key = FnChHash(request.call.fn_id);
        return RingFrom(static_cast<size_t>(FnJumpHash(key, static_cast<int>(n))), n);
      });
}

}  // namespace fnrunner
