#include "agent/resource_tracker.h"

#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace fnrunner {

ResourceReservation::ResourceReservation(ResourceReservation&& other) noexcept
    : tracker_(std::exchange(other.tracker_, nullptr)), amount_(other.amount_) {}

ResourceReservation& ResourceReservation::operator=(ResourceReservation&& other) noexcept {
  if (this != &other) {
    Release();
    tracker_ = std::exchange(other.tracker_, nullptr);
    amount_ = other.amount_;
  }
  return *this;
}

void ResourceReservation::Release() {
  // Clearing first makes a second Release (or the destructor after Release) a no-op.
  if (ResourceTracker* tracker = std::exchange(tracker_, nullptr)) tracker->Return(amount_);
}

bool ResourceTracker::IsPossible(const Resources& request) const {
  return request.memory_bytes <= total_.memory_bytes && request.milli_cpus <= total_.milli_cpus;
}

bool ResourceTracker::FitsLocked(const Resources& request) const {
  // used_ never exceeds total_, so these subtractions cannot wrap.
  return request.memory_bytes <= total_.memory_bytes - used_.memory_bytes &&
         request.milli_cpus <= total_.milli_cpus - used_.milli_cpus;
}

ResourceReservation ResourceTracker::TakeLocked(const Resources& request) {
  used_.memory_bytes += request.memory_bytes;
  used_.milli_cpus += request.milli_cpus;
  return ResourceReservation(this, request);
}

void ResourceTracker::Return(const Resources& amount) {
  // Unlocking re-evaluates every blocked Reserve()'s condition: that is the wake-up.
  absl::MutexLock lock(&mu_);
  used_.memory_bytes -= amount.memory_bytes;
  used_.milli_cpus -= amount.milli_cpus;
}

ReserveResult ResourceTracker::TryReserve(const Resources& request) {
  absl::MutexLock lock(&mu_);
  if (FitsLocked(request)) return ReserveResult{TakeLocked(request), Resources{}};
  Resources free{total_.memory_bytes - used_.memory_bytes, total_.milli_cpus - used_.milli_cpus};
  Resources shortfall;
  if (request.memory_bytes > free.memory_bytes) {
    shortfall.memory_bytes = request.memory_bytes - free.memory_bytes;
  }
  if (request.milli_cpus > free.milli_cpus) {
    shortfall.milli_cpus = request.milli_cpus - free.milli_cpus;
  }
  return ReserveResult{std::nullopt, shortfall};
}

absl::StatusOr<ResourceReservation> ResourceTracker::Reserve(const Resources& request,
                                                             absl::Time deadline) {
  if (!IsPossible(request)) {
    return absl::FailedPreconditionError(absl::StrCat("request of ", request.memory_bytes,
                                                      " bytes and ", request.milli_cpus,
                                                      " mCPU exceeds the runner's capacity"));
  }
  absl::MutexLock lock(&mu_);
  ++waiters_;
  auto fits_now = [this, &request]()
                      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return FitsLocked(request); };
  bool fits = mu_.AwaitWithDeadline(absl::Condition(&fits_now), deadline);
  --waiters_;
  if (!fits) {
    return absl::ResourceExhaustedError("timed out waiting for memory/CPU capacity");
  }
  return TakeLocked(request);
}

ResourceSnapshot ResourceTracker::Snapshot() const {
  absl::MutexLock lock(&mu_);
  return ResourceSnapshot{
      .total = total_,
      .used = used_,
      .free = {total_.memory_bytes - used_.memory_bytes, total_.milli_cpus - used_.milli_cpus},
      .waiters = waiters_,
  };
}

}  // namespace fnrunner
