#pragma once

// Admission by memory and CPU (agent-and-docker-driver.md §2): every hot container holds a
// reservation of its call's memory + tmpfs and CPU for its whole life, idle or busy.

#include <optional>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "agent/capacity.h"

namespace fnrunner {

class ResourceTracker;

// A hold on memory and CPU in a ResourceTracker, returned exactly once: by Release() or by
// the destructor, whichever comes first. Movable, not copyable; a moved-from or default
// reservation holds nothing. Not thread-safe itself (it has one owner); releasing is safe
// against concurrent use of the tracker. Must not outlive its tracker.
class ResourceReservation {
 public:
  ResourceReservation() = default;
  ResourceReservation(ResourceReservation&& other) noexcept;
  ResourceReservation& operator=(ResourceReservation&& other) noexcept;  // releases ours first
  ResourceReservation(const ResourceReservation&) = delete;
  ResourceReservation& operator=(const ResourceReservation&) = delete;
  ~ResourceReservation() { Release(); }

  // Returns the resources to the tracker and wakes every blocked Reserve(). Idempotent.
  void Release();
  bool held() const { return tracker_ != nullptr; }
  // What is held; zero once released.
  Resources amount() const { return held() ? amount_ : Resources{}; }

 private:
  friend class ResourceTracker;
  ResourceReservation(ResourceTracker* tracker, Resources amount)
      : tracker_(tracker), amount_(amount) {}

  ResourceTracker* tracker_ = nullptr;  // null when nothing is held
  Resources amount_;
};

// TryReserve's answer: a reservation, or exactly what was missing (never rounded).
struct ReserveResult {
  std::optional<ResourceReservation> reservation;
  Resources shortfall;  // zero when `reservation` is set
};

struct ResourceSnapshot {
  Resources total;
  Resources used;
  Resources free;
  int waiters = 0;  // Reserve() calls blocked right now
};

// Tracks reservations of memory bytes and mCPU against fixed totals. Thread-safe.
class ResourceTracker {
 public:
  explicit ResourceTracker(Resources total) : total_(total) {}
  ResourceTracker(const ResourceTracker&) = delete;
  ResourceTracker& operator=(const ResourceTracker&) = delete;

  // Whether `request` could ever fit, with nothing else reserved.
  bool IsPossible(const Resources& request) const;

  // Reserves `request` if it fits now; otherwise returns the shortfall: per resource, how
  // much more must be freed (request - free, or 0 where it fits). Never blocks beyond the
  // lock. An impossible request gets a shortfall larger than everything reserved, which no
  // eviction can cover; check IsPossible (or CheckFits) first.
  ReserveResult TryReserve(const Resources& request) ABSL_LOCKS_EXCLUDED(mu_);

  // Blocks until `request` fits or `deadline` passes. Every release wakes all waiters; each
  // re-checks its own request. FailedPrecondition at once if the request can never fit;
  // ResourceExhausted (fn's retryable "server too busy") at the deadline. To give up early
  // (the caller went away), wait in short slices and check between them.
  absl::StatusOr<ResourceReservation> Reserve(const Resources& request, absl::Time deadline)
      ABSL_LOCKS_EXCLUDED(mu_);

  ResourceSnapshot Snapshot() const ABSL_LOCKS_EXCLUDED(mu_);

 private:
  friend class ResourceReservation;

  bool FitsLocked(const Resources& request) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  ResourceReservation TakeLocked(const Resources& request) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Return(const Resources& amount) ABSL_LOCKS_EXCLUDED(mu_);

  const Resources total_;
  mutable absl::Mutex mu_;
  Resources used_ ABSL_GUARDED_BY(mu_);
  int waiters_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace fnrunner
