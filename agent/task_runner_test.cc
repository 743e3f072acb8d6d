#include "agent/task_runner.h"

#include <atomic>
#include <memory>
#include <thread>

#include "absl/container/flat_hash_set.h"
#include "absl/synchronization/blocking_counter.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "gtest/gtest.h"

namespace fnrunner {
namespace {

TEST(TaskRunnerTest, RunsBlockingTasksConcurrently) {
  TaskRunner runner;
  absl::Notification release;
  absl::BlockingCounter both_running(2);

  // Two tasks that each wait for the other to start: this only finishes if they run at once.
  for (int i = 0; i < 2; ++i) {
    runner.Post([&] {
      both_running.DecrementCount();
      release.WaitForNotification();
    });
  }
  both_running.Wait();
  release.Notify();
  runner.WaitIdle();
}

TEST(TaskRunnerTest, DestructorRunsQueuedTasksBeforeJoining) {
  std::atomic<int> ran = 0;
  {
    TaskRunner runner;
    for (int i = 0; i < 50; ++i) runner.Post([&] { ++ran; });
  }

  EXPECT_EQ(ran.load(), 50);
}

TEST(TaskRunnerTest, ReusesIdleThreads) {
  TaskRunner runner;
  absl::Mutex mu;
  absl::flat_hash_set<std::thread::id> threads;

  for (int i = 0; i < 100; ++i) {
    runner.Post([&] {
      absl::MutexLock lock(&mu);
      threads.insert(std::this_thread::get_id());
    });
    runner.WaitIdle();
  }

  absl::MutexLock lock(&mu);
  EXPECT_EQ(threads.size(), 1u);
}

TEST(TaskRunnerTest, WaitIdleForGivesUpWhileATaskRuns) {
  TaskRunner runner;
  absl::Notification release;
  runner.Post([&] { release.WaitForNotification(); });

  EXPECT_FALSE(runner.WaitIdleFor(absl::Milliseconds(20)));
  release.Notify();
  EXPECT_TRUE(runner.WaitIdleFor(absl::Seconds(30)));
}

}  // namespace
}  // namespace fnrunner
