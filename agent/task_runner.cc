#include "agent/task_runner.h"

#include <utility>

namespace fnrunner {

TaskRunner::~TaskRunner() {
  std::vector<std::thread> threads;
  {
    absl::MutexLock lock(&mu_);
    // Let queued tasks run: they may be the ones that release resources or finish calls.
    mu_.Await(absl::Condition(this, &TaskRunner::IdleLocked));
    stopping_ = true;
    threads.swap(threads_);
  }
  for (std::thread& t : threads) t.join();
}

void TaskRunner::Post(std::function<void()> task) {
  absl::MutexLock lock(&mu_);
  if (stopping_) return;
  queue_.push_back(std::move(task));
  if (idle_threads_ > static_cast<int>(queue_.size()) - 1) return;  // An idle worker takes it.
  threads_.emplace_back([this] { WorkerLoop(); });
}

void TaskRunner::WaitIdle() {
  absl::MutexLock lock(&mu_);
  mu_.Await(absl::Condition(this, &TaskRunner::IdleLocked));
}

bool TaskRunner::WaitIdleFor(absl::Duration timeout) {
  absl::MutexLock lock(&mu_);
  return mu_.AwaitWithTimeout(absl::Condition(this, &TaskRunner::IdleLocked), timeout);
}

void TaskRunner::WorkerLoop() {
  bool finished_a_task = false;
  while (true) {
    std::function<void()> task;
    {
      absl::MutexLock lock(&mu_);
      // Finishing a task and becoming idle happen in one critical section, so Post() never
      // sees a worker that is neither running nor idle and starts a needless thread.
      if (finished_a_task) --running_tasks_;
      ++idle_threads_;
      mu_.Await(absl::Condition(this, &TaskRunner::HasWorkOrStoppingLocked));
      --idle_threads_;
      if (queue_.empty()) return;  // Stopping and nothing left to do.
      task = std::move(queue_.back());
      queue_.pop_back();
      ++running_tasks_;
    }
    task();
    task = nullptr;  // Captures are destroyed outside the lock too.
    finished_a_task = true;
  }
}

}  // namespace fnrunner
