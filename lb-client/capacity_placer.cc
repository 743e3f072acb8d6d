#include "lb-client/capacity_placer.h"

#include <algorithm>
#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/random/random.h"
#include "absl/strings/str_cat.h"

namespace fnrunner {
namespace {

// Claims older than this are dropped even without a newer snapshot (the runner's data is
// stale by then and it ranks as unknown anyway).
constexpr absl::Duration kClaimMaxAge = absl::Seconds(10);

std::string SnapshotTag(const capacity::CapacitySnapshot& snapshot) {
  return absl::StrCat(snapshot.epoch(), "/", snapshot.seq());
}

CallNeeds NeedsOf(const CallRequest& request) {
  const int64_t mib = int64_t{1} << 20;
  return CallNeeds{
      .slot_key = request.slot_hash_id,
      .memory_bytes = static_cast<int64_t>(request.call.memory_mb + request.call.tmpfs_size_mb) * mib,
      .cpu_mcpus = static_cast<int64_t>(request.call.milli_cpus)};
}

}  // namespace

CapacityPlacer::CapacityPlacer(RunnerPool& pool, CapacityPlacerOptions options)
    : pool_(pool),
      options_(options),
      jitter_(options.seed != 0 ? options.seed : absl::Uniform<uint64_t>(absl::BitGen())) {}

std::vector<RunnerView> CapacityPlacer::Views(const std::vector<RunnerState>& runners,
                                              const CallNeeds& needs, absl::Time now) {
  std::vector<RunnerView> views;
  views.reserve(runners.size());
  absl::MutexLock lock(&mu_);
  for (const RunnerState& runner : runners) {
    RunnerView view;
    view.address = runner.client->address();
    view.healthy = runner.healthy;
    const bool fresh = runner.capacity != nullptr &&
                       now - runner.capacity_received <= options_.stale_after;
    if (fresh) view.snapshot = runner.capacity.get();
    auto it = ledgers_.find(view.address);
    if (it != ledgers_.end()) {
      Ledger& ledger = it->second;
      // Claims a snapshot received long enough after them already shows are dropped.
      const absl::Time shown_before = runner.capacity_received - options_.ledger_grace;
      const std::string tag = runner.capacity ? SnapshotTag(*runner.capacity) : "";
      std::erase_if(ledger.claims, [&](const Claim& c) {
        const bool changed_since = c.at < runner.capacity_received && tag != c.snapshot_tag;
        return changed_since || c.at <= shown_before || c.ended < runner.capacity_received ||
               now - c.at > kClaimMaxAge;
      });
      for (const Claim& c : ledger.claims) {
        if (c.warm) {
          ++view.adjustment.warm_taken[c.slot_key];
        } else {
          view.adjustment.memory_bytes += c.memory_bytes;
          view.adjustment.cpu_mcpus += c.cpu_mcpus;
        }
      }
      // A refusal holds while the runner's snapshot is the one it refused under.
      if (auto refused = ledger.refused.find(needs.slot_key); refused != ledger.refused.end()) {
        if (view.snapshot != nullptr && SnapshotTag(*view.snapshot) == refused->second) {
          view.adjustment.refused_slot = true;
        } else {
          ledger.refused.erase(refused);
        }
      }
    }
    views.push_back(std::move(view));
  }
  return views;
}

uint64_t CapacityPlacer::AddClaim(const std::string& address, Claim claim) {
  absl::MutexLock lock(&mu_);
  claim.id = next_claim_++;
  ledgers_[address].claims.push_back(std::move(claim));
  return next_claim_ - 1;
}

void CapacityPlacer::DropClaim(const std::string& address, uint64_t id) {
  absl::MutexLock lock(&mu_);
  auto it = ledgers_.find(address);
  if (it == ledgers_.end()) return;
  std::erase_if(it->second.claims, [id](const Claim& c) { return c.id == id; });
}

void CapacityPlacer::EndClaim(const std::string& address, uint64_t id, absl::Time ended) {
  absl::MutexLock lock(&mu_);
  auto it = ledgers_.find(address);
  if (it == ledgers_.end()) return;
  for (Claim& c : it->second.claims) {
    if (c.id == id) c.ended = ended;
  }
}

void CapacityPlacer::RecordRefusal(const std::string& address, const std::string& slot_key,
                                   const capacity::CapacitySnapshot& snapshot) {
  absl::MutexLock lock(&mu_);
  ledgers_[address].refused[slot_key] = SnapshotTag(snapshot);
}

absl::Duration CapacityPlacer::Jitter(absl::Duration d) {
  absl::MutexLock lock(&mu_);
  std::uniform_real_distribution<double> half_to_one(0.5, 1.0);
  return d * half_to_one(jitter_);
}

SlotLoad CapacityPlacer::LoadOf(const std::vector<RunnerView>& views,
                                 const std::string& slot_key) {
  SlotLoad load;
  for (const RunnerView& view : views) {
    if (view.snapshot == nullptr) continue;
    for (const capacity::SlotCapacity& slot : view.snapshot->slots()) {
      if (slot.slot_key() != slot_key) continue;
      load.busy += slot.busy();
      load.starting += slot.starting();
      load.waiting += slot.waiting_calls();
    }
  }
  absl::MutexLock lock(&mu_);
  for (const auto& [address, ledger] : ledgers_) {
    for (const Claim& c : ledger.claims) {
      // Our cold starts still under way; the runner may not report them yet.
      if (!c.warm && c.slot_key == slot_key && c.ended == absl::InfiniteFuture()) ++load.starting;
    }
  }
  if (auto it = queued_.find(slot_key); it != queued_.end()) load.waiting += it->second;
  return load;
}

absl::Duration CapacityPlacer::QueueWait(const std::vector<RunnerView>& views,
                                         const CallNeeds& needs) {
  const SlotTimings::Estimate estimate = timings_.Get(needs.slot_key);
  if (!estimate.execution || !estimate.cold_start) return absl::ZeroDuration();
  const absl::Duration expected =
      ExpectedWarmWait(LoadOf(views, needs.slot_key), *estimate.execution, *estimate.cold_start);
  if (expected >= *estimate.cold_start * options_.queue_factor) return absl::ZeroDuration();
  return std::min(options_.max_queue_wait, expected * 2 + absl::Milliseconds(50));
}

void CapacityPlacer::ChangeQueued(const std::string& slot_key, int delta) {
  absl::MutexLock lock(&mu_);
  if ((queued_[slot_key] += delta) == 0) queued_.erase(slot_key);
}

PlacementResult CapacityPlacer::Place(const CallRequest& request, ResponseSink& sink,
                                      absl::Time deadline) {
  PlacementResult result;
  const absl::Time start = absl::Now();
  const absl::Time search_end = std::min(deadline, start + options_.budget);
  const CallNeeds needs = NeedsOf(request);
  absl::flat_hash_set<std::string> tried;  // this round
  int round_attempts = 0;
  absl::Duration backoff = options_.backoff_initial;
  bool empty_pool = false;
  // The queue tier, at most once per call: until `queue_end` it waits for a warm container.
  bool queued = false;
  bool in_queue = false;  // counted in queued_, which other calls' estimates see
  absl::Time queue_end = absl::InfinitePast();
  struct QueueExit {  // Leaves the count on every way out of this function.
    CapacityPlacer& placer;
    const std::string& slot;
    bool& in_queue;
    ~QueueExit() {
      if (in_queue) placer.ChangeQueued(slot, -1);
    }
  } queue_exit{*this, needs.slot_key, in_queue};
  while (true) {
    const uint64_t version = pool_.version();
    const std::vector<RunnerState> runners = pool_.Runners();
    empty_pool = runners.empty();
    const absl::Time now = absl::Now();
    const std::vector<RunnerView> views = Views(runners, needs, now);
    std::vector<Candidate> candidates = RankRunners(views, needs);
    std::erase_if(candidates,
                  [&](const Candidate& c) { return tried.contains(views[c.index].address); });

    if (candidates.empty() || round_attempts >= options_.max_attempts_per_round) {
      if (now >= search_end) break;
      const absl::Time pause_end = std::min(search_end, now + Jitter(backoff));
      backoff = std::min(backoff * 2, options_.backoff_max);
      if (round_attempts == 0) {
        // Every runner reports full (or is down): nothing is sent until a snapshot changes.
        pool_.AwaitChange(version, pause_end);
      } else {
        // A round of attempts failed: a real pause, so NACKing runners (those without
        // capacity data especially) are not probed at the rate the pool changes. It is
        // deliberate back-off, not a wait for an event.
        absl::SleepFor(pause_end - absl::Now());
      }
      tried.clear();
      round_attempts = 0;
      if (absl::Now() >= search_end) break;
      continue;
    }

    const bool would_start = candidates.front().tier == Tier::kRoom ||
                             candidates.front().tier == Tier::kEvict;
    if (would_start && options_.queue_for_warm && !queued && !needs.slot_key.empty()) {
      if (const absl::Duration wait = QueueWait(views, needs); wait > absl::ZeroDuration()) {
        queued = in_queue = true;
        queue_end = std::min(search_end, now + wait);
        ChangeQueued(needs.slot_key, +1);
      }
    }
    if (would_start && now < queue_end) {
      // Queued: a snapshot change (a container of the slot free again) ends the wait early.
      pool_.AwaitChange(version, queue_end);
      continue;
    }
    if (in_queue) {
      ChangeQueued(needs.slot_key, -1);
      in_queue = false;
    }

    const Candidate chosen = candidates.front();
    const RunnerState& runner = runners[chosen.index];
    const std::string& address = runner.client->address();
    const uint64_t claim = AddClaim(
        address, Claim{.id = 0,
                       .at = now,
                       .ended = absl::InfiniteFuture(),
                       .slot_key = needs.slot_key,
                       .warm = chosen.tier == Tier::kWarm,
                       .memory_bytes = needs.memory_bytes,
                       .cpu_mcpus = needs.cpu_mcpus,
                       .snapshot_tag = views[chosen.index].snapshot != nullptr
                                           ? SnapshotTag(*views[chosen.index].snapshot)
                                           : ""});
    tried.insert(address);
    ++round_attempts;
    const int nacks_before = result.nacks;
    if (TryRunner(pool_, runner, request, sink, deadline, start, result)) {
      if (result.finished) timings_.Record(needs.slot_key, *result.finished);
      if (chosen.tier == Tier::kWarm) {
        // The call is over, so the runner has its container back: nothing left to count.
        DropClaim(address, claim);
      } else {
        // A new container now holds memory; count it until a later snapshot shows it.
        EndClaim(address, claim, absl::Now());
      }
      result.tier = std::string(TierName(chosen.tier));
      return result;
    }
    DropClaim(address, claim);
    if (result.nacks > nacks_before && views[chosen.index].snapshot != nullptr) {
      RecordRefusal(address, needs.slot_key, *views[chosen.index].snapshot);
    }
    if (absl::Now() >= search_end) break;
  }
  result.placer_latency = absl::Now() - start;
  result.status = empty_pool ? absl::FailedPreconditionError("no runners in the pool")
                             : absl::ResourceExhaustedError(kServerTooBusy);
  return result;
}

}  // namespace fnrunner
