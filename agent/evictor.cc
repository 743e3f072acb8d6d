#include "agent/evictor.h"

#include <algorithm>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"

namespace fnrunner {

absl::Status Evictor::Register(const ContainerId& id, const SlotKey& slot_key,
                               const Resources& held) {
  absl::MutexLock lock(&mu_);
  auto [it, inserted] = entries_.try_emplace(id, Entry{.slot_key = slot_key,
                                                       .held = held,
                                                       .idle = false,
                                                       .idle_since = absl::InfinitePast(),
                                                       .idle_order = 0});
  if (!inserted) {
    return absl::AlreadyExistsError(absl::StrCat("container ", id.value, " is already registered"));
  }
  return absl::OkStatus();
}

absl::Status Evictor::MarkIdle(const ContainerId& id) {
  // Read the clock before locking: Clock::Now() may take its own lock.
  absl::Time now = clock_.Now();
  absl::MutexLock lock(&mu_);
  auto it = entries_.find(id);
  if (it == entries_.end()) {
    return absl::NotFoundError(absl::StrCat("container ", id.value, " was evicted or removed"));
  }
  Entry& entry = it->second;
  if (!entry.idle) {
    entry.idle = true;
    entry.idle_since = now;
    entry.idle_order = next_idle_order_++;
  }
  return absl::OkStatus();
}

absl::Status Evictor::TryClaim(const ContainerId& id) {
  absl::MutexLock lock(&mu_);
  auto it = entries_.find(id);
  if (it == entries_.end()) {
    return absl::NotFoundError(absl::StrCat("container ", id.value, " was evicted or removed"));
  }
  if (!it->second.idle) {
    return absl::FailedPreconditionError(absl::StrCat("container ", id.value, " is busy"));
  }
  it->second.idle = false;
  return absl::OkStatus();
}

void Evictor::Remove(const ContainerId& id) {
  absl::MutexLock lock(&mu_);
  entries_.erase(id);
}

std::vector<EvictedContainer> Evictor::PlanEviction(const SlotKey& requester,
                                                    const Resources& shortfall) {
  if (shortfall.memory_bytes == 0 && shortfall.milli_cpus == 0) return {};
  absl::MutexLock lock(&mu_);

  using Candidate = std::pair<const ContainerId*, const Entry*>;
  std::vector<Candidate> candidates;
  for (const auto& [id, entry] : entries_) {
    if (entry.idle && entry.slot_key != requester) candidates.emplace_back(&id, &entry);
  }
  std::sort(candidates.begin(), candidates.end(), [](const Candidate& a, const Candidate& b) {
    return std::tie(a.second->idle_since, a.second->idle_order) <
           std::tie(b.second->idle_since, b.second->idle_order);
  });

  Resources missing = shortfall;
  std::vector<EvictedContainer> chosen;
  for (const auto& [id, entry] : candidates) {
    if (missing.memory_bytes == 0 && missing.milli_cpus == 0) break;
    bool frees_memory = missing.memory_bytes > 0 && entry->held.memory_bytes > 0;
    bool frees_cpu = missing.milli_cpus > 0 && entry->held.milli_cpus > 0;
    if (!frees_memory && !frees_cpu) continue;  // evicting it would not help
    missing.memory_bytes -= std::min(missing.memory_bytes, entry->held.memory_bytes);
    missing.milli_cpus -= std::min(missing.milli_cpus, entry->held.milli_cpus);
    chosen.push_back(EvictedContainer{*id, entry->slot_key, entry->held});
  }
  if (missing.memory_bytes > 0 || missing.milli_cpus > 0) return {};

  // Erasing only after the walk: `candidates` points into entries_.
  for (const EvictedContainer& evicted : chosen) entries_.erase(evicted.id);
  return chosen;
}

EvictorSnapshot Evictor::Snapshot() const {
  absl::MutexLock lock(&mu_);
  EvictorSnapshot snapshot;
  snapshot.registered = static_cast<int>(entries_.size());
  for (const auto& [id, entry] : entries_) {
    if (!entry.idle) continue;
    ++snapshot.idle;
    snapshot.evictable.memory_bytes += entry.held.memory_bytes;
    snapshot.evictable.milli_cpus += entry.held.milli_cpus;
  }
  return snapshot;
}

}  // namespace fnrunner
