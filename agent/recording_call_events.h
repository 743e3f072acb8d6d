#pragma once

#include <string>
#include <utility>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "agent/agent.h"

namespace fnrunner {

// Test double for the runner's side of a call: records everything the agent reports.
// Thread-safe; Wait() blocks until OnFinished().
class RecordingCallEvents final : public CallEvents {
 public:
  void OnBodyWanted() override {}
  void OnExecutionStarted() override {
    absl::MutexLock lock(&mu_);
    started_ = true;
  }
  void OnResponseStart(int status, std::vector<HttpHeaderField> headers) override {
    absl::MutexLock lock(&mu_);
    status_ = status;
    headers_ = std::move(headers);
  }
  bool OnResponseData(absl::string_view data) override {
    absl::MutexLock lock(&mu_);
    body_.append(data.data(), data.size());
    return true;
  }
  void OnFinished(CallResult result) override {
    {
      absl::MutexLock lock(&mu_);
      result_ = std::move(result);
    }
    done_.Notify();
  }

  // Blocks until the call finished; the result stays valid as long as this object.
  const CallResult& Wait() {
    done_.WaitForNotification();
    return result_;
  }
  bool finished() const { return done_.HasBeenNotified(); }
  std::string body() const {
    absl::MutexLock lock(&mu_);
    return body_;
  }
  int status() const {
    absl::MutexLock lock(&mu_);
    return status_;
  }
  std::vector<HttpHeaderField> headers() const {
    absl::MutexLock lock(&mu_);
    return headers_;
  }
  bool started() const {
    absl::MutexLock lock(&mu_);
    return started_;
  }

 private:
  absl::Notification done_;
  mutable absl::Mutex mu_;
  CallResult result_;  // written once, before done_ is notified
  std::string body_ ABSL_GUARDED_BY(mu_);
  std::vector<HttpHeaderField> headers_ ABSL_GUARDED_BY(mu_);
  int status_ ABSL_GUARDED_BY(mu_) = 0;
  bool started_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace fnrunner
