#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "agent/agent.h"
#include "agent/call.h"
#include "agent/fn_errors.h"
#include "base/clock.h"

namespace fnrunner {

// A scripted Agent for runner tests. Each submitted call runs on its own thread (owned by the
// call, joined when its handle is destroyed) and follows the Script chosen for it: announce
// execution start, read the request body frame by frame (OnBodyWanted after each frame but the
// last), optionally stall until Release() or cancellation, answer, finish. Records every call
// and the body it received. Thread-safe.
class FakeAgent final : public Agent {
 public:
  struct Script {
    bool execution_start = true;  // call OnExecutionStarted() first
    bool read_body = true;        // consume the whole request body before answering
    bool stall = false;           // then wait for Release() or cancellation
    bool respond = true;          // call OnResponseStart() and OnResponseData()
    int status = 200;
    std::vector<HttpHeaderField> headers;
    std::vector<std::string> body;  // response pieces, one OnResponseData() each
    bool echo = false;              // answer with the request body (one piece) instead
    std::optional<FnError> error;   // finish with this error, after any response
  };
  // Answers 200 with the request body.
  static Script Echo();
  // Refuses with fn's 503 before execution, without reading the body.
  static Script Nack();

  explicit FakeAgent(Clock& clock = Clock::Real());
  FakeAgent(const FakeAgent&) = delete;
  FakeAgent& operator=(const FakeAgent&) = delete;
  // Cancels and joins calls whose handles are still alive (a test bug, but never a hang).
  ~FakeAgent() override;

  // The script for calls submitted from now on; per image if set for it, else the default.
  void SetScript(Script script) ABSL_LOCKS_EXCLUDED(mu_);
  void SetScriptForImage(const std::string& image, Script script) ABSL_LOCKS_EXCLUDED(mu_);
  void SetSnapshot(AgentSnapshot snapshot) ABSL_LOCKS_EXCLUDED(mu_);
  // Lets stalled calls, and calls that stall later, proceed.
  void Release() ABSL_LOCKS_EXCLUDED(mu_);

  std::unique_ptr<CallHandle> Submit(Call call, CallEvents& events) override
      ABSL_LOCKS_EXCLUDED(mu_);
  AgentSnapshot Snapshot() override ABSL_LOCKS_EXCLUDED(mu_);
  // Refuses (503) every later Submit and cancels stalled calls. Records the grace.
  void Shutdown(absl::Duration grace) override ABSL_LOCKS_EXCLUDED(mu_);

  struct CallRecord {
    Call call;
    std::string body;            // request body received so far
    bool body_complete = false;  // the last chunk arrived
    bool cancelled = false;      // Cancel() or handle destroyed before the end
    bool finished = false;       // OnFinished() was delivered
  };
  std::vector<CallRecord> calls() ABSL_LOCKS_EXCLUDED(mu_);
  // Block until the count reaches `n` (true) or `timeout` passes (false).
  bool WaitForCalls(size_t n, absl::Duration timeout) ABSL_LOCKS_EXCLUDED(mu_);
  bool WaitForStalled(size_t n, absl::Duration timeout) ABSL_LOCKS_EXCLUDED(mu_);
  bool WaitForEnded(size_t n, absl::Duration timeout) ABSL_LOCKS_EXCLUDED(mu_);
  // Counts OnBodyWanted() calls that have returned, over all calls.
  bool WaitForBodyWanted(size_t n, absl::Duration timeout) ABSL_LOCKS_EXCLUDED(mu_);
  std::optional<absl::Duration> shutdown_grace() ABSL_LOCKS_EXCLUDED(mu_);

 private:
  class FakeCall;
  class Handle;

  void CallEnded() ABSL_LOCKS_EXCLUDED(mu_);
  void StallChanged(int delta) ABSL_LOCKS_EXCLUDED(mu_);
  void BodyWanted() ABSL_LOCKS_EXCLUDED(mu_);

  Clock& clock_;
  absl::Mutex mu_;
  Script default_script_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, Script> image_scripts_ ABSL_GUARDED_BY(mu_);
  AgentSnapshot snapshot_ ABSL_GUARDED_BY(mu_);
  bool released_ ABSL_GUARDED_BY(mu_) = false;
  std::optional<absl::Duration> shutdown_grace_ ABSL_GUARDED_BY(mu_);
  int stalled_ ABSL_GUARDED_BY(mu_) = 0;
  int ended_ ABSL_GUARDED_BY(mu_) = 0;  // calls whose thread is done
  int body_wanted_ ABSL_GUARDED_BY(mu_) = 0;
  std::vector<std::shared_ptr<FakeCall>> calls_ ABSL_GUARDED_BY(mu_);
};

}  // namespace fnrunner
