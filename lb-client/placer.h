#pragma once

// Placers: which runner runs a call. Each Place() runs attempts (RunnerClient::Engage) until
// one commits or the search budget is spent; the NACK rule decides (runner-protocol.md §9.4):
// only a 503 or a connection failure before TryCall left lets a call move to another runner.

#include <memory>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "lb-client/runner_client.h"
#include "lb-client/runner_pool.h"

namespace fnrunner {

class Clock;

// fn's placer configuration (placement-and-metrics.md §1.8), as code-only values in fn.
struct PlacerOptions {
  // Bounds the search, not the call: a committed call runs until it ends or its deadline.
  absl::Duration placer_timeout = absl::Seconds(360);
  absl::Duration retry_all_delay = absl::Milliseconds(10);  // pause after a full pass
};

// fn's text for the placer giving up, and for NACKs.
inline constexpr absl::string_view kServerTooBusy = "Timed out - server too busy";

struct PlacementResult {
  // OK iff an attempt committed and the function succeeded. Otherwise the committed attempt's
  // error (AttemptResult::status), or, if nothing committed, ResourceExhausted kServerTooBusy
  // (fn's 503; also when the request deadline ended the search) or FailedPrecondition for an
  // empty pool.
  absl::Status status;
  bool placed = false;
  int fn_error_code = 0;  // CallFinished.errorCode of a committed failure
  std::optional<CallFinished> finished;
  std::string runner;  // address of the committed attempt
  int attempts = 0;
  int nacks = 0;        // attempts refused with 503
  int errors = 0;       // attempts not placed because of a connection failure
  // fn's placer latency: to the start of the committed attempt, or to giving up.
  absl::Duration placer_latency;
  std::string tier;  // capacity placer: "warm", "room", "evict" or "probe"; fn's placers: ""
};

// Chooses runners for calls. Thread-safe: many calls are placed concurrently.
class Placer {
 public:
  virtual ~Placer() = default;
  virtual absl::string_view name() const = 0;
  // Places `request` and runs it, streaming the committed attempt's response into `sink`.
  // Blocks until the call ended, `deadline` passed (it bounds every attempt, like fn's request
  // context) or the search gave up.
  virtual PlacementResult Place(const CallRequest& request, ResponseSink& sink,
                                absl::Time deadline) = 0;
};

// fn's naive placer (placement-and-metrics.md §1.4). Each pass starts at runner
// (nanoseconds of clock.Now() within its second + 1) mod N and tries every healthy runner
// once in list order; between passes it pauses retry_all_delay (cut short when the pool
// changes). Unlike fn it skips runners the pool marked down instead of paying an attempt.
std::unique_ptr<Placer> MakeNaivePlacer(RunnerPool& pool, Clock& clock, PlacerOptions options);

// fn's consistent-hash placer (§1.5): each pass starts at FnJumpHash(FnChHash(fn_id), N) and
// walks the ring in list order, skipping runners marked down. Same passes and pauses as naive.
// Reproduces fn's skewed jump hash on purpose (lb-client/sip_hash.h says why).
std::unique_ptr<Placer> MakeConsistentHashPlacer(RunnerPool& pool, PlacerOptions options);

// Runs one attempt on `runner` and records it in `result`; true if it committed (then
// `result` holds the outcome). A connection failure marks the runner down in `pool`.
bool TryRunner(RunnerPool& pool, const RunnerState& runner, const CallRequest& request,
               ResponseSink& sink, absl::Time deadline, absl::Time placement_start,
               PlacementResult& result);

}  // namespace fnrunner
