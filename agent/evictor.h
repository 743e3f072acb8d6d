#pragma once

// Chooses idle hot containers of other functions to remove when a launch does not fit
// (agent-and-docker-driver.md §3), without fn's bugs (§10.9-12): least recently idle first,
// exact shortfalls, and a container is either claimed for a call or evicted, never both.

#include <cstdint>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "agent/capacity.h"
#include "agent/slot_key.h"
#include "base/clock.h"
#include "base/ids.h"

namespace fnrunner {

struct EvictedContainer {
  ContainerId id;
  SlotKey slot_key;
  Resources held;
  friend bool operator==(const EvictedContainer&, const EvictedContainer&) = default;
};

struct EvictorSnapshot {
  int registered = 0;
  int idle = 0;
  Resources evictable;  // held by idle containers
};

// Registry of live hot containers, each idle (evictable) or busy. Thread-safe; no method
// blocks beyond its lock.
//
// Protocol. The *owner* of a container (the code running its lifecycle):
//  * Register()s it once it holds its ResourceReservation (it starts busy), MarkIdle()s it
//    whenever it waits for a call, and Remove()s it when it goes away for its own reasons.
//  * Calls TryClaim() before handing an idle container a call, and before retiring it itself
//    (idle timeout): OK means the owner has it exclusively again. NotFound means PlanEviction
//    already took it: do not use it; it is being evicted.
// A *launcher* whose TryReserve came back short calls PlanEviction(its slot key, shortfall).
// Empty means nothing can be freed (fn's 503 in non-blocking mode). Otherwise each returned
// container is already out of the registry, so no call can claim it and no other launcher can
// count it. Have each one stopped and removed, and release its ResourceReservation BEFORE
// signalling that it is gone (fn signalled first, so a re-check could still find no room);
// when every one has signalled, TryReserve again.
class Evictor {
 public:
  explicit Evictor(Clock& clock) : clock_(clock) {}
  Evictor(const Evictor&) = delete;
  Evictor& operator=(const Evictor&) = delete;

  // Adds a busy container holding `held`. AlreadyExists if `id` is registered.
  absl::Status Register(const ContainerId& id, const SlotKey& slot_key, const Resources& held)
      ABSL_LOCKS_EXCLUDED(mu_);
  // Busy -> idle, idle since now; an idle container keeps its time. NotFound if `id` is not
  // registered, including after it was evicted: it must not come back.
  absl::Status MarkIdle(const ContainerId& id) ABSL_LOCKS_EXCLUDED(mu_);
  // Idle -> busy. NotFound if evicted or never registered; FailedPrecondition if busy (it is
  // already claimed).
  absl::Status TryClaim(const ContainerId& id) ABSL_LOCKS_EXCLUDED(mu_);
  // Forgets `id`. Idempotent.
  void Remove(const ContainerId& id) ABSL_LOCKS_EXCLUDED(mu_);

  // Idle containers of slot keys other than `requester` (a function's own idle container
  // would serve it directly), least recently idle first, that together cover all of
  // `shortfall`; those that would free nothing still missing are skipped. All or nothing: the
  // chosen ones are removed from the registry and returned, or nothing is. Like fn's, the
  // result may free more than needed. Empty for a zero shortfall.
  std::vector<EvictedContainer> PlanEviction(const SlotKey& requester, const Resources& shortfall)
      ABSL_LOCKS_EXCLUDED(mu_);

  EvictorSnapshot Snapshot() const ABSL_LOCKS_EXCLUDED(mu_);

 private:
  struct Entry {
    SlotKey slot_key;
    Resources held;
    bool idle = false;
    absl::Time idle_since;
    uint64_t idle_order = 0;  // breaks ties between equal idle_since times
  };

  Clock& clock_;
  mutable absl::Mutex mu_;
  absl::flat_hash_map<ContainerId, Entry> entries_ ABSL_GUARDED_BY(mu_);
  uint64_t next_idle_order_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace fnrunner
