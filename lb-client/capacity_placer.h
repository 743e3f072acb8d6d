#pragma once

#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "lb-client/capacity_ranking.h"
#include "lb-client/placer.h"
#include "lb-client/slot_timings.h"

namespace fnrunner {

struct CapacityPlacerOptions {
  // The search budget: with no runner taking the call by then, 503 (fn's text). Smaller than
  // fn's 360 s on purpose: a client is better served by a prompt 503 than a 6-minute wait.
  absl::Duration budget = absl::Seconds(30);
  // Attempts before pausing; each goes to a different runner.
  int max_attempts_per_round = 3;
  // Pauses between rounds: exponential with jitter (uniform in [d/2, d]).
  absl::Duration backoff_initial = absl::Milliseconds(20);
  absl::Duration backoff_max = absl::Milliseconds(500);
  // A snapshot older than this counts as none (runners push at least once a second).
  absl::Duration stale_after = absl::Seconds(3);
  // A snapshot received this long after we sent a call reflects that call; until then the
  // placer adds its own placements to the snapshot (runners poll their agent every 50 ms).
  absl::Duration ledger_grace = absl::Milliseconds(150);
  uint64_t seed = 0;  // for the jitter; 0 = random
  // The queue tier: when the best runner would have to start a container (room or evict
  // tier) but the function has busy or starting containers in the fleet, wait (at the LB) for
  // one of them if ExpectedWarmWait() is below queue_factor x the expected cold start, at
  // most twice the expected wait (+50 ms) and max_queue_wait, once per call.
  bool queue_for_warm = true;
  double queue_factor = 1.0;
  absl::Duration max_queue_wait = absl::Seconds(2);
};

// Capacity-aware placement ("warm first, then room, then evict"), from the runners'
// RunnerCapacity snapshots (proto/capacity.proto):
//  1. Rank runners with RankRunners(): an idle/paused container for the call's slot first, then
//     room for a new container (hosts of the function first, then the function's rendezvous
//     order, keeping each function on as few runners as its load needs), then room after
//     eviction, then runners without capacity data (probed, as fn's placers do).
//  2. Try the best; while its snapshot does not yet show our placements, count them ourselves
//     (a ledger), so concurrent calls do not all pick the same idle container.
//  3. A NACK marks that runner "refused this slot" until its snapshot changes; try the next.
//  4. Queue tier: rather than start a container while the function has busy ones that will be
//     free sooner than a cold start would take (times learned from CallFinished), wait at the
//     LB for a snapshot showing one idle; a non-blocking runner would otherwise launch a new
//     container or evict another function's (placement-and-metrics.md §2, item 2).
//  5. When every runner reports full, do not send anything: wait for a snapshot to change
//     (or the back-off to pass). After max_attempts_per_round attempts, back off with jitter.
//  6. After the budget, 503.
//
// Slot-key contract: the call's CallRequest::slot_hash_id (SlotHashId(), lowercase hex) is
// what runners report in SlotCapacity.slot_key for the containers such calls use; with an
// empty slot_hash_id no container can be recognised as warm. Thread-safe.
class CapacityPlacer final : public Placer {
 public:
  CapacityPlacer(RunnerPool& pool, CapacityPlacerOptions options);

  absl::string_view name() const override { return "capacity"; }
  PlacementResult Place(const CallRequest& request, ResponseSink& sink,
                        absl::Time deadline) override ABSL_LOCKS_EXCLUDED(mu_);

 private:
  // A call we sent that the runner's snapshot may not show yet. Dropped when a warm call ends
  // (its container is free again), or once a snapshot arrives that differs from the one we
  // decided on (the runner's books changed: most likely by our call), ledger_grace after
  // `at`, or after the call `ended` (the new container is in the runner's books).
  struct Claim {
    uint64_t id;
    absl::Time at;
    absl::Time ended = absl::InfiniteFuture();
    std::string slot_key;
    bool warm;             // took an idle container (else reserved memory and CPU)
    int64_t memory_bytes;
    int64_t cpu_mcpus;
    std::string snapshot_tag;  // epoch/seq of the snapshot we decided on; "" for none
  };
  struct Ledger {
    std::vector<Claim> claims;
    // Slots the runner refused, with the snapshot (epoch and seq) it had then.
    absl::flat_hash_map<std::string, std::string> refused;
  };

  // Views of `runners` with their ledgers applied; prunes what snapshots now show.
  std::vector<RunnerView> Views(const std::vector<RunnerState>& runners, const CallNeeds& needs,
                                absl::Time now) ABSL_LOCKS_EXCLUDED(mu_);
  uint64_t AddClaim(const std::string& address, Claim claim) ABSL_LOCKS_EXCLUDED(mu_);
  void DropClaim(const std::string& address, uint64_t id) ABSL_LOCKS_EXCLUDED(mu_);
  void EndClaim(const std::string& address, uint64_t id, absl::Time ended)
      ABSL_LOCKS_EXCLUDED(mu_);
  void RecordRefusal(const std::string& address, const std::string& slot_key,
                     const capacity::CapacitySnapshot& snapshot) ABSL_LOCKS_EXCLUDED(mu_);
  absl::Duration Jitter(absl::Duration d) ABSL_LOCKS_EXCLUDED(mu_);
  // The slot's containers in `views` plus cold starts we sent that are still running, and the
  // calls waiting for them (runners' and our queued ones).
  SlotLoad LoadOf(const std::vector<RunnerView>& views, const std::string& slot_key)
      ABSL_LOCKS_EXCLUDED(mu_);
  // How long to queue for a warm container of `needs.slot_key`; zero for "do not".
  absl::Duration QueueWait(const std::vector<RunnerView>& views, const CallNeeds& needs)
      ABSL_LOCKS_EXCLUDED(mu_);
  void ChangeQueued(const std::string& slot_key, int delta) ABSL_LOCKS_EXCLUDED(mu_);

  RunnerPool& pool_;
  const CapacityPlacerOptions options_;
  absl::Mutex mu_;
  absl::flat_hash_map<std::string, Ledger> ledgers_ ABSL_GUARDED_BY(mu_);  // by address
  uint64_t next_claim_ ABSL_GUARDED_BY(mu_) = 1;
  absl::flat_hash_map<std::string, int> queued_ ABSL_GUARDED_BY(mu_);  // calls queued, by slot
  SlotTimings timings_;
  std::mt19937_64 jitter_ ABSL_GUARDED_BY(mu_);
};

}  // namespace fnrunner
