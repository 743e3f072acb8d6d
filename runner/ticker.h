#pragma once

#include <functional>
#include <thread>
#include <utility>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace fnrunner {

// Runs `tick` every `period` on a thread it owns, until destroyed (the destructor stops and
// joins it). Thread-safe.
class Ticker {
 public:
  Ticker(absl::Duration period, std::function<void()> tick)
      : period_(period), tick_(std::move(tick)), thread_([this] { Loop(); }) {}
  Ticker(const Ticker&) = delete;
  Ticker& operator=(const Ticker&) = delete;
  ~Ticker() {
    {
      absl::MutexLock lock(&mu_);
      stop_ = true;
    }
    thread_.join();
  }

 private:
  void Loop() {
    absl::MutexLock lock(&mu_);
    while (!mu_.AwaitWithTimeout(absl::Condition(&stop_), period_)) {
      mu_.Unlock();  // Never tick under our own lock.
      tick_();
      mu_.Lock();
    }
  }

  const absl::Duration period_;
  const std::function<void()> tick_;
  absl::Mutex mu_;
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;  // Last: starts after everything it uses exists.
};

}  // namespace fnrunner
