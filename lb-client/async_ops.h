#pragma once

#include <memory>

#include "absl/synchronization/mutex.h"

namespace fnrunner {

// Counts a RunnerClient's background operations (Status probes, Watch streams, each on a
// thread of its own) until each is completely destroyed, so the client, whose stub and
// channel they use, outlives them all. (They once ran on gRPC's callback API, where this also
// kept the last channel reference off gRPC's callback threads: grpc/grpc#32584.) Thread-safe.
class AsyncOps {
 public:
  // One operation's share. Declare it as the operation's first member, so it is destroyed
  // after the grpc::ClientContext (which holds a channel reference).
  class Ticket {
   public:
    explicit Ticket(std::shared_ptr<AsyncOps> ops) : ops_(std::move(ops)) { ops_->Change(+1); }
    Ticket(const Ticket&) = delete;
    Ticket& operator=(const Ticket&) = delete;
    ~Ticket() { ops_->Change(-1); }

   private:
    const std::shared_ptr<AsyncOps> ops_;  // Keeps the counter alive past the client.
  };

  // Blocks until every Ticket is gone.
  void AwaitNone() ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    auto none = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return live_ == 0; };
    mu_.Await(absl::Condition(&none));
  }

 private:
  void Change(int delta) ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    live_ += delta;
  }

  absl::Mutex mu_;
  int live_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace fnrunner
