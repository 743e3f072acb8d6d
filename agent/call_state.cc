#include "agent/call_state.h"

#include <utility>

namespace fnrunner {

CallState::CallState(Call call, std::string slot_key, CallEvents& events, absl::Time created_at)
    : call_(std::move(call)),
      slot_key_(std::move(slot_key)),
      created_at_(created_at),
      events_(events),
      // The body pipe asks the runner for the next frame on the thread that consumed one.
      body_([this] { Deliver([](CallEvents& e) { e.OnBodyWanted(); }, false); }) {}

template <typename Fn>
bool CallState::Deliver(Fn fn, bool finishing) {
  {
    absl::MutexLock lock(&mu_);
    if (detached_ || finished_) return false;
    if (finishing) finished_ = true;
    ++events_in_flight_;
  }
  fn(events_);
  absl::MutexLock lock(&mu_);
  --events_in_flight_;
  return true;
}

void CallState::ExecutionStarted() {
  Deliver([](CallEvents& e) { e.OnExecutionStarted(); }, false);
}

void CallState::OnResponseStart(int status, std::vector<HttpHeaderField> headers) {
  Deliver([&](CallEvents& e) { e.OnResponseStart(status, std::move(headers)); }, false);
}

bool CallState::OnResponseData(absl::string_view data) {
  bool wanted = false;
  const bool delivered = Deliver([&](CallEvents& e) { wanted = e.OnResponseData(data); }, false);
  return delivered && wanted;
}

bool CallState::Finish(CallResult result) {
  return Deliver([&](CallEvents& e) { e.OnFinished(std::move(result)); }, true);
}

bool CallState::finished() const {
  absl::MutexLock lock(&mu_);
  return finished_;
}

void CallState::Detach() {
  absl::MutexLock lock(&mu_);
  detached_ = true;
  // A running event is runner code that returns promptly (the runner makes OnResponseData
  // stop waiting before it detaches), so this wait is short.
  mu_.Await(absl::Condition(this, &CallState::NoEventRunningLocked));
}

void CallState::Cancel() {
  std::function<void()> abort;
  {
    absl::MutexLock lock(&mu_);
    if (cancelled_) return;
    cancelled_ = true;
    abort = abort_;
    abort_running_ = abort != nullptr;
  }
  body_.Abort();
  if (abort) {
    abort();
    absl::MutexLock lock(&mu_);
    abort_running_ = false;
  }
}

bool CallState::cancelled() const {
  absl::MutexLock lock(&mu_);
  return cancelled_;
}

void CallState::SetAbort(std::function<void()> abort) {
  bool run_now = false;
  {
    absl::MutexLock lock(&mu_);
    mu_.Await(absl::Condition(this, &CallState::NoAbortRunningLocked));
    abort_ = abort;
    run_now = cancelled_ && abort_ != nullptr;
  }
  // Cancelled before the executor registered: it must stop at once. Cancel() already returned,
  // so this thread (the executor's own) is the only one touching its resources.
  if (run_now) abort();
}

void CallState::set_timed_out() {
  absl::MutexLock lock(&mu_);
  timed_out_ = true;
}

bool CallState::timed_out() const {
  absl::MutexLock lock(&mu_);
  return timed_out_;
}

}  // namespace fnrunner
