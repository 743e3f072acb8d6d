#pragma once

#include <utility>

#include "grpcpp/grpcpp.h"
#include "proto/grpc_status.h"
#include "runner/stream_outbox.h"

namespace fnrunner {

// Carries out on a gRPC server reactor what a StreamOutbox decided: a write (alone or
// together with the finish), or the finish alone. Either may be the last use of the
// reactor: OnDone may run (and delete it) as soon as the finish is started.
template <typename Reactor, typename Msg>
void StartOutboxWrite(Reactor& reactor, const typename StreamOutbox<Msg>::Write& write) {
  if (!write) return;
  if (write.finish) {
    reactor.StartWriteAndFinish(write.msg, grpc::WriteOptions(), ToGrpcStatus(*write.finish));
  } else {
    reactor.StartWrite(write.msg);
  }
}

template <typename Reactor, typename Msg>
void StartOutboxStep(Reactor& reactor, const typename StreamOutbox<Msg>::AfterWrite& after) {
  if (after.write) {
    StartOutboxWrite<Reactor, Msg>(reactor, after.write);
  } else if (after.finish) {
    reactor.Finish(ToGrpcStatus(*after.finish));
  }
}

}  // namespace fnrunner
