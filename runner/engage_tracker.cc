#include "runner/engage_tracker.h"

#include <vector>

#include "runner/engage_session.h"

namespace fnrunner {

void EngageTracker::Add(EngageSession* session) {
  absl::MutexLock lock(&mu_);
  live_.emplace(session, 0);
  ++counters_.active;
  ++counters_.requests_received;
}

void EngageTracker::StopTicking(EngageSession* session) {
  absl::MutexLock lock(&mu_);
  auto unpinned = [this, session]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    auto it = live_.find(session);
    return it == live_.end() || it->second <= 0;
  };
  mu_.Await(absl::Condition(&unpinned));
  if (auto it = live_.find(session); it != live_.end()) it->second = -1;
}

void EngageTracker::Remove(EngageSession* session) {
  StopTicking(session);
  absl::MutexLock lock(&mu_);
  if (live_.erase(session) == 0) return;
  --counters_.active;
  ++counters_.requests_handled;
}

void EngageTracker::CallStarted() {
  absl::MutexLock lock(&mu_);
  ++counters_.calls_in_flight;
}

void EngageTracker::CallEnded() {
  absl::MutexLock lock(&mu_);
  --counters_.calls_in_flight;
}

void EngageTracker::StartDraining() {
  absl::MutexLock lock(&mu_);
  draining_ = true;
}

bool EngageTracker::draining() {
  absl::MutexLock lock(&mu_);
  return draining_;
}

bool EngageTracker::AwaitNoCalls(absl::Time deadline) {
  absl::MutexLock lock(&mu_);
  auto idle = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return counters_.calls_in_flight == 0;
  };
  return mu_.AwaitWithDeadline(absl::Condition(&idle), deadline);
}

bool EngageTracker::AwaitActive(int32_t n, absl::Duration timeout) {
  absl::MutexLock lock(&mu_);
  auto reached = [this, n]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return counters_.active == n; };
  return mu_.AwaitWithTimeout(absl::Condition(&reached), timeout);
}

void EngageTracker::Tick(absl::Time now) {
  std::vector<EngageSession*> sessions;
  bool draining;
  {
    // Pin every live session so that Remove() (from the reactor's OnDone) waits for us.
    absl::MutexLock lock(&mu_);
    draining = draining_;
    sessions.reserve(live_.size());
    for (auto& [session, pins] : live_) {
      if (pins < 0) continue;  // StopTicking() was called.
      ++pins;
      sessions.push_back(session);
    }
  }
  for (EngageSession* session : sessions) session->CheckDeadline(now, draining);
  absl::MutexLock lock(&mu_);
  for (EngageSession* session : sessions) --live_[session];
}

EngageTracker::Counters EngageTracker::counters() {
  absl::MutexLock lock(&mu_);
  Counters counters = counters_;
  counters.draining = draining_;
  return counters;
}

}  // namespace fnrunner
