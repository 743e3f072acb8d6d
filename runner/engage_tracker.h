#pragma once

#include <cstdint>

#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace fnrunner {

class EngageSession;

// What the runner knows about all its Engage streams: fn's Status counters, the calls in
// flight (what a drain waits for), the draining flag, and the live sessions whose input
// deadlines Tick() checks. Thread-safe.
class EngageTracker {
 public:
  struct Counters {
    int32_t active = 0;              // streams between start and end (fn's `active`)
    uint64_t requests_received = 0;  // streams started
    uint64_t requests_handled = 0;   // streams ended; like fn, NACKed ones included
    int64_t calls_in_flight = 0;     // calls handed to the agent and not finished
    bool draining = false;
  };

  EngageTracker() = default;
  EngageTracker(const EngageTracker&) = delete;
  EngageTracker& operator=(const EngageTracker&) = delete;

  // A stream starts / ends. Remove() first does what StopTicking() does.
  void Add(EngageSession* session) ABSL_LOCKS_EXCLUDED(mu_);
  void Remove(EngageSession* session) ABSL_LOCKS_EXCLUDED(mu_);
  // Waits until no Tick() is inside `session`; afterwards Tick() never touches it again, but
  // the stream still counts as active until Remove().
  void StopTicking(EngageSession* session) ABSL_LOCKS_EXCLUDED(mu_);

  void CallStarted() ABSL_LOCKS_EXCLUDED(mu_);
  void CallEnded() ABSL_LOCKS_EXCLUDED(mu_);

  // From now on new calls are NACKed (503). Irreversible.
  void StartDraining() ABSL_LOCKS_EXCLUDED(mu_);
  bool draining() ABSL_LOCKS_EXCLUDED(mu_);

  // Blocks until no call is in flight or `deadline` passes (real time). True if none is left.
  bool AwaitNoCalls(absl::Time deadline) ABSL_LOCKS_EXCLUDED(mu_);
  // Blocks until exactly `n` streams are live or `timeout` passes. True if they are.
  bool AwaitActive(int32_t n, absl::Duration timeout) ABSL_LOCKS_EXCLUDED(mu_);

  // Lets every live session check its input deadline against `now`. Called periodically by
  // one thread; sessions are called without the lock held.
  void Tick(absl::Time now) ABSL_LOCKS_EXCLUDED(mu_);

  Counters counters() ABSL_LOCKS_EXCLUDED(mu_);

 private:
  absl::Mutex mu_;
  // Live sessions and how many Tick() calls are inside each (StopTicking waits for zero, then
  // marks the session -1: not ticked any more).
  absl::flat_hash_map<EngageSession*, int> live_ ABSL_GUARDED_BY(mu_);
  Counters counters_ ABSL_GUARDED_BY(mu_);
  bool draining_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace fnrunner
