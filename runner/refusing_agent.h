#pragma once

#include <memory>

#include "absl/synchronization/mutex.h"
#include "agent/agent.h"
#include "agent/call.h"
#include "agent/fn_errors.h"
#include "base/clock.h"

namespace fnrunner {

// An Agent that runs nothing: every call is refused at once with fn's 503 NACK, so fn's LB
// places it on another runner. fn-runner serves with it under --agent=refuse (protocol,
// Status, metrics and drain work; no function ever runs). Thread-safe.
class RefusingAgent final : public Agent {
 public:
  explicit RefusingAgent(Clock& clock) : clock_(clock) {}

  std::unique_ptr<CallHandle> Submit(Call, CallEvents& events) override {
    const FnError busy = fn_errors::ServerBusy();
    CallResult result;
    result.error_code = busy.code;
    result.error_message = busy.message;
    result.created_at = result.completed_at = clock_.Now();
    result.started_at = absl::InfinitePast();
    events.OnFinished(std::move(result));  // The contract allows it before Submit returns.
    return std::make_unique<NoopHandle>();
  }

  AgentSnapshot Snapshot() override {
    absl::MutexLock lock(&mu_);
    AgentSnapshot snapshot;
    snapshot.draining = shut_down_;
    return snapshot;
  }

  void Shutdown(absl::Duration) override {
    absl::MutexLock lock(&mu_);
    shut_down_ = true;
  }

 private:
  class NoopHandle final : public CallHandle {
   public:
    void AppendBody(std::string, bool) override {}
    void Cancel() override {}
  };

  Clock& clock_;
  absl::Mutex mu_;
  bool shut_down_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace fnrunner
