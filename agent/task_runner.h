#pragma once

#include <functional>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace fnrunner {

// Runs blocking tasks (Docker calls, waiting for a container's socket, a call's exchange with
// its function) on threads it owns, so gRPC threads only hand work over. Threads are reused:
// an idle thread takes the next task, a new one starts only when all are busy. Thread-safe.
// The destructor waits for every task to return, then joins every thread.
class TaskRunner {
 public:
  TaskRunner() = default;
  TaskRunner(const TaskRunner&) = delete;
  TaskRunner& operator=(const TaskRunner&) = delete;
  ~TaskRunner();

  // Queues `task`. Never blocks. Tasks posted after the destructor began are dropped.
  void Post(std::function<void()> task) ABSL_LOCKS_EXCLUDED(mu_);
  // Blocks until no task is queued or running.
  void WaitIdle() ABSL_LOCKS_EXCLUDED(mu_);
  // WaitIdle() for at most `timeout`; false if tasks were still queued or running then.
  bool WaitIdleFor(absl::Duration timeout) ABSL_LOCKS_EXCLUDED(mu_);

 private:
  void WorkerLoop() ABSL_LOCKS_EXCLUDED(mu_);
  bool IdleLocked() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return queue_.empty() && running_tasks_ == 0;
  }
  bool HasWorkOrStoppingLocked() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return stopping_ || !queue_.empty();
  }

  mutable absl::Mutex mu_;
  std::vector<std::function<void()>> queue_ ABSL_GUARDED_BY(mu_);  // LIFO is fine: no ordering
  std::vector<std::thread> threads_ ABSL_GUARDED_BY(mu_);
  int idle_threads_ ABSL_GUARDED_BY(mu_) = 0;
  int running_tasks_ ABSL_GUARDED_BY(mu_) = 0;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace fnrunner
