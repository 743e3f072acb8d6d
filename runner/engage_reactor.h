#pragma once

#include <cstddef>

#include "grpcpp/grpcpp.h"
#include "proto/runner.pb.h"
#include "runner/engage_session.h"
#include "runner/stream_outbox.h"

namespace fnrunner {

// One Engage stream on the gRPC callback API (STYLE §10). It only moves messages: reads go to
// the EngageSession, whose output it writes through a StreamOutbox (one write in flight, the
// finish after the last write). Created with `new` by RunnerService::Engage; deletes itself in
// OnDone(), the one `new` without an owner. Reactions run concurrently and never block.
class EngageReactor final : public grpc::ServerBidiReactor<ClientMsg, RunnerMsg>,
                            private EngageStream {
 public:
  // `max_outbox_bytes` bounds the response data waiting to be written (back-pressure).
  EngageReactor(grpc::CallbackServerContext* context, EngageServices services,
                size_t max_outbox_bytes);

 private:
  ~EngageReactor() override = default;  // Only OnDone() deletes.

  // EngageStream, called by the session from any thread.
  void Send(RunnerMsg msg, bool more_follows) override;
  bool WaitForRoom() override;
  void ReadNext() override;
  void End(absl::Status status) override;

  // Reactions.
  void OnReadDone(bool ok) override;
  void OnWriteDone(bool ok) override;
  void OnCancel() override;
  void OnDone() override;

  grpc::CallbackServerContext* const context_;  // gRPC's; valid until OnDone()
  StreamOutbox<RunnerMsg> outbox_;
  ClientMsg in_;  // gRPC's between StartRead() and OnReadDone().
  // Last: constructed after (and destroyed before) what it uses.
  EngageSession session_;
};

}  // namespace fnrunner
