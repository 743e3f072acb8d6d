#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "agent/agent.h"
#include "agent/body_pipe.h"
#include "agent/call.h"
#include "agent/function_io.h"

namespace fnrunner {

// One submitted call, shared (std::shared_ptr) by its two real owners: the runner's CallHandle
// and the agent's scheduling state and tasks. It guards delivery to the runner's CallEvents:
// after Detach() returns no event is running or will run. Thread-safe.
class CallState final : public ResponseSink {
 public:
  CallState(Call call, std::string slot_key, CallEvents& events, absl::Time created_at);
  CallState(const CallState&) = delete;
  CallState& operator=(const CallState&) = delete;

  const Call& call() const { return call_; }
  const std::string& slot_key() const { return slot_key_; }
  absl::Time created_at() const { return created_at_; }
  BodyPipe& body() { return body_; }

  // Events toward the runner; each is a no-op after Detach() and after Finish().
  void ExecutionStarted() ABSL_LOCKS_EXCLUDED(mu_);
  void OnResponseStart(int status, std::vector<HttpHeaderField> headers) override
      ABSL_LOCKS_EXCLUDED(mu_);
  bool OnResponseData(absl::string_view data) override ABSL_LOCKS_EXCLUDED(mu_);
  // Delivers the result once; later calls are ignored. Returns true if this call delivered it.
  bool Finish(CallResult result) ABSL_LOCKS_EXCLUDED(mu_);
  bool finished() const ABSL_LOCKS_EXCLUDED(mu_);

  // The runner's handle is going away: waits for a running event to return, then no more.
  void Detach() ABSL_LOCKS_EXCLUDED(mu_);

  // Cancellation by the client. Runs `abort` (registered by whoever is executing the call)
  // outside the lock. Idempotent.
  void Cancel() ABSL_LOCKS_EXCLUDED(mu_);
  bool cancelled() const ABSL_LOCKS_EXCLUDED(mu_);
  // Registers how to stop the execution; runs it at once if already cancelled. Pass nullptr
  // to clear it before the executor's resources go away: clearing waits for an abort that
  // Cancel() is running, so the executor may free what the abort touches once it returns.
  void SetAbort(std::function<void()> abort) ABSL_LOCKS_EXCLUDED(mu_);

  // Execution deadline bookkeeping, read by the agent's Tick().
  void set_timed_out() ABSL_LOCKS_EXCLUDED(mu_);
  bool timed_out() const ABSL_LOCKS_EXCLUDED(mu_);

 private:
  // Runs `fn` against events_ unless detached/finished; the in-flight count is the barrier.
  template <typename Fn>
  bool Deliver(Fn fn, bool finishing) ABSL_LOCKS_EXCLUDED(mu_);
  bool NoEventRunningLocked() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return events_in_flight_ == 0;
  }
  bool NoAbortRunningLocked() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return !abort_running_; }

  const Call call_;
  const std::string slot_key_;
  const absl::Time created_at_;
  CallEvents& events_;  // Valid until Detach() returns (the runner's promise).
  BodyPipe body_;

  mutable absl::Mutex mu_;
  int events_in_flight_ ABSL_GUARDED_BY(mu_) = 0;
  bool detached_ ABSL_GUARDED_BY(mu_) = false;
  bool finished_ ABSL_GUARDED_BY(mu_) = false;
  bool cancelled_ ABSL_GUARDED_BY(mu_) = false;
  bool timed_out_ ABSL_GUARDED_BY(mu_) = false;
  std::function<void()> abort_ ABSL_GUARDED_BY(mu_);
  bool abort_running_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace fnrunner
