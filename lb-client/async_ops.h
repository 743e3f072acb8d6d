#pragma once

#include <memory>

#include "absl/synchronization/mutex.h"

namespace fnrunner {

// Counts a RunnerClient's callback-API operations (Status probes, Watch streams) until each
// is completely destroyed, so the client can outlive them all. Why: the last reference to a
// grpc::Channel must not be dropped on a gRPC callback thread. With gRPC's callback
// "alternative" completion queue (used when iomgr does not run in the background, as here)
// the channel's destructor then joins the very thread it runs on and the queue is freed under
// it (grpc/grpc#32584: a crash in grpc_cq_internal_unref). Thread-safe.
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
