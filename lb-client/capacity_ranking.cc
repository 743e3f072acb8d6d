#include "lb-client/capacity_ranking.h"

#include <algorithm>
#include <tuple>

#include "absl/strings/str_cat.h"
#include "lb-client/sip_hash.h"

namespace fnrunner {
namespace {

// An arbitrary fixed key: the scores only need to be stable and well mixed.
constexpr uint64_t kRendezvousK0 = 0x666e2d72756e6e65;  // "fn-runne"
constexpr uint64_t kRendezvousK1 = 0x722d706c61636572;  // "r-placer"

const capacity::SlotCapacity* FindSlot(const capacity::CapacitySnapshot& snapshot,
                                       absl::string_view key) {
  // Runners send slots sorted by key; do not rely on it.
  for (const capacity::SlotCapacity& slot : snapshot.slots()) {
    if (slot.slot_key() == key) return &slot;
  }
  return nullptr;
}

struct Scored {
  Candidate candidate;
  // Sort keys within a tier, compared as a tuple; larger is better.
  int64_t primary = 0;
  int64_t secondary = 0;
  uint64_t rendezvous = 0;
};

}  // namespace

absl::string_view TierName(Tier tier) {
  switch (tier) {
    case Tier::kWarm:
      return "warm";
    case Tier::kRoom:
      return "room";
    case Tier::kEvict:
      return "evict";
    case Tier::kUnknown:
      return "probe";
  }
  return "?";
}

uint64_t RendezvousScore(absl::string_view slot_key, absl::string_view address) {
  return SipHash24(kRendezvousK0, kRendezvousK1, absl::StrCat(slot_key, "\n", address));
}

std::vector<Candidate> RankRunners(const std::vector<RunnerView>& runners,
                                   const CallNeeds& needs) {
  std::vector<Scored> scored;
  for (size_t i = 0; i < runners.size(); ++i) {
    const RunnerView& r = runners[i];
    if (!r.healthy || r.adjustment.refused_slot) continue;
    Scored s{.candidate = {i, Tier::kUnknown},
             .rendezvous = RendezvousScore(needs.slot_key, r.address)};
    if (r.snapshot == nullptr) {
      scored.push_back(s);
      continue;
    }
    const capacity::CapacitySnapshot& snap = *r.snapshot;
    if (snap.draining()) continue;
    const capacity::SlotCapacity* slot = FindSlot(snap, needs.slot_key);
    int warm = 0;
    int containers = 0;
    if (slot != nullptr) {
      // A spare (FN_SPARES) is a frozen container no call has used: warm for this function.
      warm = slot->idle() + slot->paused() + slot->spares();
      if (auto it = r.adjustment.warm_taken.find(needs.slot_key);
          it != r.adjustment.warm_taken.end()) {
        warm -= it->second;
      }
      containers =
          slot->idle() + slot->paused() + slot->spares() + slot->busy() + slot->starting();
    }
    const int64_t free_memory =
        snap.memory_total_bytes() - snap.memory_reserved_bytes() - r.adjustment.memory_bytes;
    const int64_t free_cpu =
        snap.cpu_total_mcpus() - snap.cpu_reserved_mcpus() - r.adjustment.cpu_mcpus;
    const bool cpu_fits = needs.cpu_mcpus == 0 || free_cpu >= needs.cpu_mcpus;
    const bool cpu_fits_evicting =
        needs.cpu_mcpus == 0 || free_cpu + snap.cpu_evictable_mcpus() >= needs.cpu_mcpus;
    if (warm > 0) {
      s.candidate.tier = Tier::kWarm;
      s.primary = containers;
    } else if (free_memory >= needs.memory_bytes && cpu_fits) {
      s.candidate.tier = Tier::kRoom;
      s.primary = containers > 0 ? 1 : 0;
    } else if (free_memory + snap.memory_evictable_bytes() >= needs.memory_bytes &&
               cpu_fits_evicting) {
      s.candidate.tier = Tier::kEvict;
      s.primary = containers > 0 ? 1 : 0;
      s.secondary = snap.memory_evictable_bytes();
    } else {
      continue;  // Full: sending it there would only earn a NACK (or a queue).
    }
    scored.push_back(s);
  }
  std::sort(scored.begin(), scored.end(), [](const Scored& a, const Scored& b) {
    if (a.candidate.tier != b.candidate.tier) return a.candidate.tier < b.candidate.tier;
    return std::tie(a.primary, a.secondary, a.rendezvous) >
           std::tie(b.primary, b.secondary, b.rendezvous);
  });
  std::vector<Candidate> out;
  out.reserve(scored.size());
  for (const Scored& s : scored) out.push_back(s.candidate);
  return out;
}

}  // namespace fnrunner
