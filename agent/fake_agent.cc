#include "agent/fake_agent.h"

#include <deque>
#include <thread>
#include <utility>

namespace fnrunner {

// One submitted call and its thread. Shared by the agent (for inspection) and the handle.
class FakeAgent::FakeCall {
 public:
  FakeCall(FakeAgent& agent, Call call, Script script, CallEvents& events, bool released,
           absl::Time created_at)
      : agent_(agent), events_(events), script_(std::move(script)), created_at_(created_at) {
    record_.call = std::move(call);
    released_ = released;
  }
  FakeCall(const FakeCall&) = delete;
  FakeCall& operator=(const FakeCall&) = delete;

  void Start() ABSL_LOCKS_EXCLUDED(join_mu_) {
    absl::MutexLock lock(&join_mu_);
    thread_ = std::thread([this] { Run(); });
  }

  void AppendBody(std::string data, bool last) ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    chunks_.emplace_back(std::move(data), last);
  }

  void Cancel() ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    if (!record_.finished) record_.cancelled = true;
  }

  void Release() ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    released_ = true;
  }

  // The handle is going away: cancel, then wait for the thread, so that no event runs after.
  void Detach() ABSL_LOCKS_EXCLUDED(mu_, join_mu_) {
    {
      absl::MutexLock lock(&mu_);
      detached_ = true;
      if (!record_.finished) record_.cancelled = true;
    }
    absl::MutexLock lock(&join_mu_);
    if (thread_.joinable()) thread_.join();
  }

  CallRecord record() ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    return record_;
  }

 private:
  bool Stopped() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return record_.cancelled || detached_; }
  bool Gone() ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    return detached_;
  }

  void Run() {
    CallResult result;
    result.created_at = created_at_;
    result.started_at = absl::InfinitePast();
    Execute(result);
    agent_.CallEnded();
  }

  void Execute(CallResult& result) {
    if (script_.execution_start) {
      result.started_at = agent_.clock_.Now();
      if (Gone()) return;
      events_.OnExecutionStarted();
    }
    if (script_.read_body && !ReadBody()) return Finish(result, CancelledError());
    if (script_.stall) {
      agent_.StallChanged(+1);
      bool cancelled;
      {
        absl::MutexLock lock(&mu_);
        auto ready = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
          return released_ || Stopped();
        };
        mu_.Await(absl::Condition(&ready));
        cancelled = Stopped();
      }
      agent_.StallChanged(-1);
      if (cancelled) return Finish(result, CancelledError());
    }
    if (script_.respond) {
      if (Gone()) return;
      events_.OnResponseStart(script_.status, script_.headers);
      std::vector<std::string> pieces = script_.body;
      if (script_.echo) pieces = {record().body};
      for (const std::string& piece : pieces) {
        if (Gone()) return;
        if (!events_.OnResponseData(piece)) return Finish(result, CancelledError());
      }
    }
    Finish(result, script_.error);
  }

  // Takes frames until the last one; OnBodyWanted() after each other one. False if
  // cancelled.
  bool ReadBody() {
    while (true) {
      std::pair<std::string, bool> chunk;
      {
        absl::MutexLock lock(&mu_);
        auto ready = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
          return !chunks_.empty() || Stopped();
        };
        mu_.Await(absl::Condition(&ready));
        if (Stopped()) return false;
        chunk = std::move(chunks_.front());
        chunks_.pop_front();
        record_.body += chunk.first;
        record_.body_complete = chunk.second;
      }
      if (chunk.second) return true;
      if (Gone()) return false;
      events_.OnBodyWanted();
      agent_.BodyWanted();
    }
  }

  static std::optional<FnError> CancelledError() {
    return fn_errors::Internal("call cancelled");
  }

  void Finish(CallResult& result, const std::optional<FnError>& error) {
    const absl::Time now = agent_.clock_.Now();
    result.completed_at = now;
    if (result.started_at != absl::InfinitePast()) {
      result.scheduler = result.started_at - result.created_at;
      result.execution = now - result.started_at;
    }
    result.success = !error.has_value();
    if (error) {
      result.error_code = error->code;
      result.error_message = error->message;
      result.user_error = error->user_error;
    }
    {
      absl::MutexLock lock(&mu_);
      if (detached_) return;  // No event after the handle is gone.
      record_.finished = true;
    }
    events_.OnFinished(std::move(result));
  }

  FakeAgent& agent_;
  CallEvents& events_;
  const Script script_;
  const absl::Time created_at_;
  absl::Mutex mu_;
  CallRecord record_ ABSL_GUARDED_BY(mu_);
  std::deque<std::pair<std::string, bool>> chunks_ ABSL_GUARDED_BY(mu_);
  bool released_ ABSL_GUARDED_BY(mu_) = false;
  bool detached_ ABSL_GUARDED_BY(mu_) = false;
  absl::Mutex join_mu_;
  std::thread thread_ ABSL_GUARDED_BY(join_mu_);
};

class FakeAgent::Handle final : public CallHandle {
 public:
  explicit Handle(std::shared_ptr<FakeCall> call) : call_(std::move(call)) {}
  ~Handle() override { call_->Detach(); }
  void AppendBody(std::string data, bool last) override {
    call_->AppendBody(std::move(data), last);
  }
  void Cancel() override { call_->Cancel(); }

 private:
  std::shared_ptr<FakeCall> call_;
};

FakeAgent::Script FakeAgent::Echo() {
  Script script;
  script.echo = true;
  return script;
}

FakeAgent::Script FakeAgent::Nack() {
  Script script;
  script.execution_start = false;
  script.read_body = false;
  script.respond = false;
  script.error = fn_errors::ServerBusy();
  return script;
}

FakeAgent::FakeAgent(Clock& clock) : clock_(clock) { default_script_ = Echo(); }

FakeAgent::~FakeAgent() {
  std::vector<std::shared_ptr<FakeCall>> calls;
  {
    absl::MutexLock lock(&mu_);
    calls = calls_;
  }
  for (const auto& call : calls) call->Detach();
}

void FakeAgent::SetScript(Script script) {
  absl::MutexLock lock(&mu_);
  default_script_ = std::move(script);
}

void FakeAgent::SetScriptForImage(const std::string& image, Script script) {
  absl::MutexLock lock(&mu_);
  image_scripts_[image] = std::move(script);
}

void FakeAgent::SetSnapshot(AgentSnapshot snapshot) {
  absl::MutexLock lock(&mu_);
  snapshot_ = std::move(snapshot);
}

void FakeAgent::Release() {
  std::vector<std::shared_ptr<FakeCall>> calls;
  {
    absl::MutexLock lock(&mu_);
    released_ = true;
    calls = calls_;
  }
  for (const auto& call : calls) call->Release();
}

std::unique_ptr<CallHandle> FakeAgent::Submit(Call call, CallEvents& events) {
  std::shared_ptr<FakeCall> fake;
  {
    absl::MutexLock lock(&mu_);
    Script script = default_script_;
    if (auto it = image_scripts_.find(call.image); it != image_scripts_.end()) {
      script = it->second;
    }
    if (shutdown_grace_) script = Nack();
    fake = std::make_shared<FakeCall>(*this, std::move(call), std::move(script), events,
                                      released_, clock_.Now());
    calls_.push_back(fake);
  }
  fake->Start();
  return std::make_unique<Handle>(std::move(fake));
}

AgentSnapshot FakeAgent::Snapshot() {
  absl::MutexLock lock(&mu_);
  AgentSnapshot snapshot = snapshot_;
  snapshot.draining = snapshot.draining || shutdown_grace_.has_value();
  return snapshot;
}

void FakeAgent::Shutdown(absl::Duration grace) {
  std::vector<std::shared_ptr<FakeCall>> calls;
  {
    absl::MutexLock lock(&mu_);
    shutdown_grace_ = grace;
    calls = calls_;
  }
  for (const auto& call : calls) call->Cancel();
}

std::vector<FakeAgent::CallRecord> FakeAgent::calls() {
  std::vector<std::shared_ptr<FakeCall>> calls;
  {
    absl::MutexLock lock(&mu_);
    calls = calls_;
  }
  std::vector<CallRecord> records;
  for (const auto& call : calls) records.push_back(call->record());
  return records;
}

bool FakeAgent::WaitForCalls(size_t n, absl::Duration timeout) {
  absl::MutexLock lock(&mu_);
  auto done = [this, n]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return calls_.size() >= n; };
  return mu_.AwaitWithTimeout(absl::Condition(&done), timeout);
}

bool FakeAgent::WaitForStalled(size_t n, absl::Duration timeout) {
  absl::MutexLock lock(&mu_);
  auto done = [this, n]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return stalled_ >= static_cast<int>(n);
  };
  return mu_.AwaitWithTimeout(absl::Condition(&done), timeout);
}

bool FakeAgent::WaitForEnded(size_t n, absl::Duration timeout) {
  absl::MutexLock lock(&mu_);
  auto done = [this, n]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return ended_ >= static_cast<int>(n);
  };
  return mu_.AwaitWithTimeout(absl::Condition(&done), timeout);
}

void FakeAgent::CallEnded() {
  absl::MutexLock lock(&mu_);
  ++ended_;
}

void FakeAgent::BodyWanted() {
  absl::MutexLock lock(&mu_);
  ++body_wanted_;
}

bool FakeAgent::WaitForBodyWanted(size_t n, absl::Duration timeout) {
  absl::MutexLock lock(&mu_);
  auto done = [this, n]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return body_wanted_ >= static_cast<int>(n);
  };
  return mu_.AwaitWithTimeout(absl::Condition(&done), timeout);
}

void FakeAgent::StallChanged(int delta) {
  absl::MutexLock lock(&mu_);
  stalled_ += delta;
}

std::optional<absl::Duration> FakeAgent::shutdown_grace() {
  absl::MutexLock lock(&mu_);
  return shutdown_grace_;
}

}  // namespace fnrunner
