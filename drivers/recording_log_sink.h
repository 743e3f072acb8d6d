#pragma once

#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "drivers/driver.h"

namespace fnrunner {

// A LogSink for tests: records every line and OnClosed(), and lets the test wait for them.
// Thread-safe.
class RecordingLogSink final : public LogSink {
 public:
  using Line = std::pair<LogStream, std::string>;

  void OnLine(LogStream stream, absl::string_view line) override ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    lines_.emplace_back(stream, std::string(line));
    bytes_ += line.size();
    if (closed_ > 0) ++calls_after_close_;
  }
  void OnClosed() override ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    ++closed_;
  }

  // Waits until at least `count` lines arrived; false after `timeout`.
  bool AwaitLines(size_t count, absl::Duration timeout) ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    auto enough = [this, count]()
                      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return lines_.size() >= count; };
    return mu_.AwaitWithTimeout(absl::Condition(&enough), timeout);
  }
  bool AwaitClosed(absl::Duration timeout) ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    auto closed = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return closed_ > 0; };
    return mu_.AwaitWithTimeout(absl::Condition(&closed), timeout);
  }

  std::vector<Line> lines() ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    return lines_;
  }
  // Lines of one stream, in order.
  std::vector<std::string> lines(LogStream stream) ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    std::vector<std::string> out;
    for (const Line& l : lines_) {
      if (l.first == stream) out.push_back(l.second);
    }
    return out;
  }
  size_t line_count() ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    return lines_.size();
  }
  size_t bytes() ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    return bytes_;
  }
  // Drops the recorded lines (a flood test keeps only counts).
  void ClearLines() ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    lines_.clear();
    lines_.shrink_to_fit();
  }
  int closed_count() ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    return closed_;
  }
  // OnLine() calls after OnClosed(): must stay 0.
  int calls_after_close() ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    return calls_after_close_;
  }

 private:
  absl::Mutex mu_;
  std::vector<Line> lines_ ABSL_GUARDED_BY(mu_);
  size_t bytes_ ABSL_GUARDED_BY(mu_) = 0;
  int closed_ ABSL_GUARDED_BY(mu_) = 0;
  int calls_after_close_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace fnrunner
