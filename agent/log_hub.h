#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "drivers/driver.h"

namespace fnrunner {

// One line a function wrote, tagged with where it came from.
struct FunctionLogLine {
  std::string app_id;
  std::string fn_id;
  std::string container_id;
  std::string call_id;                  // "" between calls
  absl::Time time;
  LogStream stream = LogStream::kStdout;
  std::string data;
};

// Fans function log lines out to subscribers (the runner's StreamLogs streams). Thread-safe.
// Subscribers are called on the publishing (driver) thread and must not block: copy the line
// into a bounded queue and return.
class LogHub {
 public:
  using Subscriber = std::function<void(const FunctionLogLine&)>;

  // Unsubscribes when destroyed; after the destructor returns the subscriber is not running
  // and will not be called again.
  class Subscription {
   public:
    Subscription(LogHub& hub, int64_t id) : hub_(&hub), id_(id) {}
    Subscription(const Subscription&) = delete;
    Subscription& operator=(const Subscription&) = delete;
    ~Subscription() { hub_->Unsubscribe(id_); }

   private:
    LogHub* hub_;  // Not owned; the hub outlives its subscriptions.
    int64_t id_;
  };

  std::unique_ptr<Subscription> Subscribe(Subscriber subscriber) ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    const int64_t id = next_id_++;
    subscribers_.emplace(id, std::move(subscriber));
    return std::make_unique<Subscription>(*this, id);
  }

  // Delivers `line` to every subscriber. The lock is held while subscribers run: that is what
  // makes Unsubscribe() a barrier, and subscribers are required not to block.
  void Publish(const FunctionLogLine& line) ABSL_LOCKS_EXCLUDED(mu_) {
    absl::ReaderMutexLock lock(&mu_);
    for (const auto& [id, subscriber] : subscribers_) subscriber(line);
  }

  bool HasSubscribers() ABSL_LOCKS_EXCLUDED(mu_) {
    absl::ReaderMutexLock lock(&mu_);
    return !subscribers_.empty();
  }

 private:
  void Unsubscribe(int64_t id) ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    subscribers_.erase(id);
  }

  absl::Mutex mu_;
  int64_t next_id_ ABSL_GUARDED_BY(mu_) = 0;
  absl::flat_hash_map<int64_t, Subscriber> subscribers_ ABSL_GUARDED_BY(mu_);
};

}  // namespace fnrunner
