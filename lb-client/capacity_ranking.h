#pragma once

// The decision of the capacity-aware placer, as a pure function of the runners' capacity
// snapshots, so it can be tested on synthetic data.

#include <cstdint>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"
#include "proto/capacity.pb.h"

namespace fnrunner {

// Why a runner is a candidate, in order of preference.
enum class Tier {
  kWarm,     // has an idle or paused container for the call's slot: no cold start
  kRoom,     // free memory (and CPU) for a new container
  kEvict,    // room once idle containers of other functions are evicted
  kUnknown,  // no fresh capacity data (a stock fn runner, or a stale stream): probe it
};
absl::string_view TierName(Tier tier);

// What the call needs from a runner.
struct CallNeeds {
  std::string slot_key;  // the slot_hash_id we send (lowercase hex); CapacitySnapshot's key
  int64_t memory_bytes = 0;  // (memory + tmpfs) MiB; 0 reserves nothing
  int64_t cpu_mcpus = 0;     // 0 reserves nothing
};

// What the LB has sent a runner that its last snapshot does not show yet.
struct Adjustment {
  int64_t memory_bytes = 0;  // reserved by cold starts we caused
  int64_t cpu_mcpus = 0;
  absl::flat_hash_map<std::string, int> warm_taken;  // per slot: idle containers we used
  bool refused_slot = false;  // it NACKed this call's slot since its last snapshot
};

struct RunnerView {
  absl::string_view address;
  bool healthy = true;
  const capacity::CapacitySnapshot* snapshot = nullptr;  // null or stale: Tier::kUnknown
  Adjustment adjustment;
};

struct Candidate {
  size_t index;  // into the views given to RankRunners
  Tier tier;
};

// Orders the runners that may take the call: warm first (most containers of the slot first,
// so a function concentrates where it already runs), then room (runners already hosting the
// slot first, then rendezvous order of slot and address, so each function has stable home
// runners and different functions spread), then evict (hosting first, then the most
// evictable memory), then unknown (rendezvous order). Left out: unhealthy and draining
// runners, runners that refused the slot since their last snapshot, and full ones (no warm
// container, no room, not enough to evict). Empty means every runner is full: back off.
std::vector<Candidate> RankRunners(const std::vector<RunnerView>& runners, const CallNeeds& needs);

// Rendezvous (highest random weight) score of `address` for `slot_key`: SipHash-2-4, stable
// across processes so every LB replica picks the same homes.
uint64_t RendezvousScore(absl::string_view slot_key, absl::string_view address);

}  // namespace fnrunner
