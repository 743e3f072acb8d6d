#include "runner/engage_session.h"

#include <algorithm>
#include <string>
#include <utility>
#include <variant>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "glog/logging.h"
#include "runner/call_admission.h"
#include "runner/engage_tracker.h"
#include "runner/metrics.h"
#include "runner/wire_format.h"

namespace fnrunner {
namespace {

constexpr absl::string_view kExpectedTry = "Protocol failure: expected ClientMsg_Try";
constexpr absl::string_view kExpectedData = "Protocol failure: expected ClientMsg_Data";

// gRPC status 503, which fn's LB treats as a NACK (retry elsewhere).
absl::Status GrpcServerBusy() {
  return absl::Status(static_cast<absl::StatusCode>(503), "Timed out - server too busy");
}

}  // namespace

EngageSession::EngageSession(EngageServices services, EngageStream& stream,
                             std::string request_id)
    : services_(services), stream_(stream), request_id_(std::move(request_id)) {
  // The TryCall is awaited from the stream's creation: a tick that sees the session before
  // Start() must already find the clock running, or a stream that never sends could escape
  // the input timeout (it did, in a test under load).
  {
    absl::MutexLock lock(&mu_);
    awaiting_input_since_ = services_.clock.Now();
  }
  services_.tracker.Add(this);
}

EngageSession::~EngageSession() { Detach(); }

std::string EngageSession::LogPrefix() {
  absl::MutexLock lock(&mu_);
  return absl::StrCat("engage rid=", request_id_.empty() ? "-" : request_id_,
                      " call=", call_id_.empty() ? "-" : call_id_, ": ");
}

void EngageSession::Start() { stream_.ReadNext(); }

void EngageSession::OnMessage(ClientMsg msg) {
  State state;
  CallHandle* handle;
  {
    absl::MutexLock lock(&mu_);
    awaiting_input_since_.reset();
    state = state_;
    handle = handle_.get();
  }
  switch (state) {
    case State::kAwaitTry:
      if (!msg.has_try_()) return ProtocolFailure("expected_try", kExpectedTry);
      return Admit(msg.try_());
    case State::kBody: {
      if (!msg.has_data()) return ProtocolFailure("expected_data", kExpectedData);
      DataFrame* frame = msg.mutable_data();
      const bool last = frame->eof();
      {
        absl::MutexLock lock(&mu_);
        if (state_ != State::kBody) return;  // The call ended meanwhile.
        if (last) state_ = State::kBodyDone;
      }
      // The next frame is read after OnBodyWanted(); after eof nothing more is read (fn never
      // reads past eof either).
      handle->AppendBody(std::move(*frame->mutable_data()), last);
      return;
    }
    case State::kBodyDone:
    case State::kDone:
      return;  // A late frame after the input was abandoned or the call ended: ignored.
  }
}

void EngageSession::Admit(const TryCall& try_call) {
  const AdmissionPolicy policy{services_.options.status_image, services_.options.enable_detach,
                               services_.options.capacity, services_.tracker.draining(),
                               services_.options.default_memory_mb};
  std::variant<Call, AdmissionError> admitted = AdmitTryCall(try_call, policy);
  const absl::Time now = services_.clock.Now();
  if (auto* refused = std::get_if<AdmissionError>(&admitted)) {
    RunnerMsg finished;
    {
      absl::MutexLock lock(&mu_);
      state_ = State::kDone;
      if (refused->call) {
        call_id_ = refused->call->id.value;
        image_ = refused->call->image;
        created_at_ = now;
      }
      finished = FinishedLocked(nullptr, refused->error);
    }
    VLOG(1) << LogPrefix() << "refused: " << refused->error.code << " "
            << refused->error.message;
    services_.metrics.CallRefused(refused->error);
    stream_.Send(std::move(finished), /*more_follows=*/true);  // the end
    stream_.End(absl::OkStatus());
    return;
  }
  Call& call = std::get<Call>(admitted);
  {
    absl::MutexLock lock(&mu_);
    state_ = State::kBody;
    call_id_ = call.id.value;
    image_ = call.image;
    detached_call_ = call.type == CallType::kDetached;
    created_at_ = now;
    call_in_flight_ = true;
  }
  VLOG(1) << LogPrefix() << "submitting image=" << call.image;
  services_.tracker.CallStarted();
  services_.metrics.CallSubmitted();
  // The agent may answer (even OnFinished) before Submit returns; the reactor cannot reach
  // OnDone meanwhile, because this runs inside its OnReadDone.
  std::unique_ptr<CallHandle> handle = services_.agent.Submit(std::move(call), *this);
  bool read_first_frame;
  {
    absl::MutexLock lock(&mu_);
    handle_ = std::move(handle);
    read_first_frame = state_ == State::kBody;
    if (read_first_frame) awaiting_input_since_ = services_.clock.Now();
  }
  if (read_first_frame) stream_.ReadNext();
}

void EngageSession::ProtocolFailure(absl::string_view kind, absl::string_view message) {
  CallHandle* cancel = nullptr;
  {
    absl::MutexLock lock(&mu_);
    if (state_ == State::kDone) return;
    state_ = State::kDone;
    awaiting_input_since_.reset();
    if (call_in_flight_) cancel = handle_.get();
  }
  LOG(WARNING) << LogPrefix() << message;
  services_.metrics.ProtocolError(kind);
  // fn aborts the call and sends no CallFinished.
  if (cancel != nullptr) cancel->Cancel();
  stream_.End(absl::UnknownError(message));
}

void EngageSession::OnInputClosed() {
  State state;
  {
    absl::MutexLock lock(&mu_);
    awaiting_input_since_.reset();
    state = state_;
  }
  // A half-close (or a broken stream) before the TryCall or before eof is fn's protocol
  // failure; if the client cancelled, OnCancelled() comes too and the status is moot.
  if (state == State::kAwaitTry) ProtocolFailure("expected_try", kExpectedTry);
  if (state == State::kBody) ProtocolFailure("expected_data", kExpectedData);
}

void EngageSession::OnCancelled() {
  CallHandle* cancel = nullptr;
  {
    absl::MutexLock lock(&mu_);
    cancelled_ = true;
    state_ = State::kDone;
    awaiting_input_since_.reset();
    if (call_in_flight_) cancel = handle_.get();
  }
  VLOG(1) << LogPrefix() << "cancelled by the client";
  if (cancel != nullptr) cancel->Cancel();
  stream_.End(absl::CancelledError("the client cancelled the call"));
}

void EngageSession::CheckDeadline(absl::Time now, bool draining) {
  bool end_stream = false;
  CallHandle* cancel = nullptr;
  {
    absl::MutexLock lock(&mu_);
    if (!awaiting_input_since_) return;
    // A draining runner takes no new call, so a stream still waiting for its TryCall is
    // refused now rather than at its timeout: the LB places the call elsewhere at once, and
    // the stream no longer holds the server's final shutdown.
    const bool refuse_now = draining && state_ == State::kAwaitTry;
    if (!refuse_now && now - *awaiting_input_since_ < services_.options.input_timeout) return;
    awaiting_input_since_.reset();
    if (state_ == State::kAwaitTry) {
      state_ = State::kDone;
      end_stream = true;
    } else if (state_ == State::kBody) {
      // Stop reading; the call fails with 504 once the agent reports it cancelled.
      state_ = State::kBodyDone;
      if (!io_error_) io_error_ = FnError{504, "Timed out", false};
      if (call_in_flight_) cancel = handle_.get();
    }
  }
  if (end_stream) {
    if (draining) {
      VLOG(1) << LogPrefix() << "draining: refusing a stream that sent no TryCall yet";
    } else {
      LOG(WARNING) << LogPrefix() << "no TryCall within " << services_.options.input_timeout;
    }
    stream_.End(GrpcServerBusy());
  } else if (cancel != nullptr) {
    LOG(WARNING) << LogPrefix() << "request body stalled for "
                 << services_.options.input_timeout << " without eof; cancelling the call";
    cancel->Cancel();
  }
}

void EngageSession::Detach() {
  {
    absl::MutexLock lock(&mu_);
    if (detaching_) return;
    detaching_ = true;
  }
  // Order matters: first no tick may enter, then no agent callback (the handle's destructor
  // is the agent's barrier), then the stream counts as ended.
  services_.tracker.StopTicking(this);
  std::unique_ptr<CallHandle> handle;
  {
    absl::MutexLock lock(&mu_);
    handle = std::move(handle_);
  }
  handle.reset();
  bool in_flight;
  {
    absl::MutexLock lock(&mu_);
    in_flight = call_in_flight_;
    call_in_flight_ = false;
  }
  // Destroying the handle cancelled the call and OnFinished will never come.
  if (in_flight) {
    services_.tracker.CallEnded();
    services_.metrics.CallEnded(CallOutcome::kCanceled, absl::ZeroDuration(),
                                absl::ZeroDuration());
  }
  services_.tracker.Remove(this);
}

void EngageSession::OnBodyWanted() {
  {
    absl::MutexLock lock(&mu_);
    if (state_ != State::kBody || detaching_) return;
    awaiting_input_since_ = services_.clock.Now();
  }
  stream_.ReadNext();
}

void EngageSession::OnExecutionStarted() {
  {
    absl::MutexLock lock(&mu_);
    // fn acks a detached call once, when it starts executing.
    if (!detached_call_ || result_started_ || state_ == State::kDone || detaching_) return;
    result_started_ = true;
  }
  stream_.Send(ResultStartMsg(202, {}), /*more_follows=*/false);
}

void EngageSession::OnResponseStart(int status, std::vector<HttpHeaderField> headers) {
  {
    absl::MutexLock lock(&mu_);
    if (detached_call_ || result_started_ || state_ == State::kDone || detaching_) return;
  }
  RunnerMsg start = ResultStartMsg(status, StripHopByHop(std::move(headers)));
  {
    absl::MutexLock lock(&mu_);
    if (start.ByteSizeLong() > kMaxRunnerMsgBytes) {
      // The Go LB cannot receive it. Nothing was sent yet, so fail the call as fn does for
      // oversized headers; OnResponseData() returning false stops the agent.
      if (!io_error_) io_error_ = fn_errors::ResponseHeadersTooBig();
      return;
    }
    result_started_ = true;
  }
  // Agent callbacks for one call never overlap, so no data frame can overtake this.
  stream_.Send(std::move(start), /*more_follows=*/false);
}

bool EngageSession::OnResponseData(absl::string_view data) {
  bool send_start = false;
  {
    absl::MutexLock lock(&mu_);
    if (state_ == State::kDone || detaching_ || io_error_) return false;
    if (detached_call_) return true;  // fn discards a detached call's output.
    // If the agent skipped OnResponseStart: the LB needs a result_start before data.
    send_start = !result_started_;
    result_started_ = true;
  }
  if (send_start) stream_.Send(ResultStartMsg(200, {}), /*more_follows=*/false);
  while (!data.empty()) {
    if (!stream_.WaitForRoom()) return false;
    const size_t n = std::min(data.size(), kMaxDataFrameBytes);
    stream_.Send(DataMsg(data.substr(0, n)), /*more_follows=*/false);
    data.remove_prefix(n);
  }
  return true;
}

void EngageSession::OnFinished(CallResult result) {
  std::optional<RunnerMsg> finished;
  CallOutcome outcome;
  {
    absl::MutexLock lock(&mu_);
    call_in_flight_ = false;
    std::optional<FnError> error = io_error_;
    if (!error && !result.success) {
      error = FnError{result.error_code, result.error_message, result.user_error};
    }
    if (error && error->code == 503 && result_started_) {
      // 503 means "retry elsewhere", but the LB already forwarded our output: never send it
      // after output started (runner-protocol.md §2.4).
      LOG(ERROR) << "engage call=" << call_id_ << ": agent reported 503 after output; sent as 500";
      error->code = 500;
    }
    outcome = ClassifyOutcome(error ? &*error : nullptr, cancelled_);
    if (state_ != State::kDone) finished = FinishedLocked(&result, error);
    state_ = State::kDone;
    awaiting_input_since_.reset();
  }
  services_.tracker.CallEnded();
  const bool started = result.started_at != absl::InfinitePast();
  services_.metrics.CallEnded(outcome, started ? result.scheduler : absl::ZeroDuration(),
                              started ? result.execution : absl::ZeroDuration());
  if (!finished) return;  // The RPC already ended (protocol failure or cancel): no F.
  VLOG(1) << LogPrefix() << "finished success=" << finished->finished().success() << " code="
          << finished->finished().errorcode();
  // The last message and the status leave together.
  stream_.Send(*std::move(finished), /*more_follows=*/true);
  stream_.End(absl::OkStatus());
}

RunnerMsg EngageSession::FinishedLocked(const CallResult* result,
                                        const std::optional<FnError>& error) {
  FinishedFields f;
  f.call_id = call_id_;
  f.image = image_;
  f.created_at = created_at_;
  if (result != nullptr) {
    if (IsSet(result->created_at)) f.created_at = result->created_at;
    f.started_at = result->started_at;
    f.completed_at = result->completed_at;
    f.scheduler = result->scheduler;
    f.execution = result->execution;
    f.image_pull_wait = result->image_pull_wait;
    f.container_create = result->container_create;
    f.init_start = result->init_start;
  }
  f.error = error;
  return FinishedMsg(f, services_.clock.Now());
}

}  // namespace fnrunner
