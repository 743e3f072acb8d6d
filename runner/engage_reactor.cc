#include "runner/engage_reactor.h"

#include <string>
#include <utility>

#include "proto/grpc_status.h"
#include "runner/outbox_reactor_ops.h"

namespace fnrunner {
namespace {

// The first fn_request_id metadata value (runner-protocol.md §8), "" if absent.
std::string RequestId(const grpc::CallbackServerContext* context) {
  const auto& metadata = context->client_metadata();
  auto it = metadata.find("fn_request_id");
  if (it == metadata.end()) return "";
  return std::string(it->second.data(), it->second.size());
}

}  // namespace

EngageReactor::EngageReactor(grpc::CallbackServerContext* context, EngageServices services,
                             size_t max_outbox_bytes)
    : context_(context),
      outbox_(max_outbox_bytes),
      session_(services, *this, RequestId(context)) {
  session_.Start();
}

void EngageReactor::Send(RunnerMsg msg, bool more_follows) {
  StartOutboxWrite<EngageReactor, RunnerMsg>(*this, outbox_.Push(std::move(msg), more_follows));
}

bool EngageReactor::WaitForRoom() { return outbox_.WaitForRoom(); }

void EngageReactor::ReadNext() {
  if (!outbox_.BeginStartRead()) return;  // The RPC is ending.
  StartRead(&in_);
  // A finish requested while the read was being started is ours to do.
  if (std::optional<absl::Status> finish = outbox_.EndStartRead()) Finish(ToGrpcStatus(*finish));
}

void EngageReactor::End(absl::Status status) {
  StartOutboxStep<EngageReactor, RunnerMsg>(*this, outbox_.FinishWhenFlushed(std::move(status)));
}

void EngageReactor::OnReadDone(bool ok) {
  if (!ok) {
    // A client that cancels ends the reads too, often before OnCancel() runs: that is a
    // cancel, not the protocol failure a half-close before the TryCall is.
    if (context_->IsCancelled()) {
      session_.OnCancelled();
    } else {
      session_.OnInputClosed();
    }
    return;
  }
  // Take the message out first: once the session hands the frame on, an agent thread may
  // start the next read into in_.
  ClientMsg msg;
  msg.Swap(&in_);
  session_.OnMessage(std::move(msg));
}

void EngageReactor::OnWriteDone(bool ok) {
  StartOutboxStep<EngageReactor, RunnerMsg>(*this, outbox_.OnWriteDone(ok));
}

void EngageReactor::OnCancel() { session_.OnCancelled(); }

void EngageReactor::OnDone() {
  // Refuse output first, so that an agent thread blocked in OnResponseData() returns, then
  // detach from the agent (its barrier), then go.
  outbox_.Close();
  session_.Detach();
  delete this;
}

}  // namespace fnrunner
