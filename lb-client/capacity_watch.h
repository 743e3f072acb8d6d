#pragma once

#include <functional>
#include <memory>

#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "grpcpp/grpcpp.h"
#include "lb-client/async_ops.h"
#include "proto/capacity.grpc.pb.h"

namespace fnrunner {

// One RunnerCapacity.Watch stream, read by a thread of its own with gRPC's blocking API: it
// reads snapshots until the stream ends and hands each to a callback. Not gRPC's callback API,
// for the reason RunnerClient::StatusAsync gives (runner_client.cc): it would slow every
// Engage on the channel. Shared by its owner (to Cancel) and by its thread. Thread-safe.
class CapacityWatch {
 public:
  using OnSnapshot = std::function<void(const capacity::CapacitySnapshot&)>;
  using OnEnd = std::function<void(absl::Status)>;

  // Starts the stream with `deadline`. `on_snapshot` runs for each snapshot, in order, on the
  // watch's thread; `on_end` runs once when the stream is over (OK never: a Watch stream ends
  // only by error, deadline or cancel), after the last `on_snapshot`. `stub` must outlive the
  // watch; `ops` counts the watch until it is destroyed (lb-client/async_ops.h).
  static std::shared_ptr<CapacityWatch> Start(capacity::RunnerCapacity::Stub& stub,
                                              std::shared_ptr<AsyncOps> ops,
                                              absl::Time deadline, OnSnapshot on_snapshot,
                                              OnEnd on_end);

  // Ends the stream early; `on_end` follows (CANCELLED). Idempotent, safe after the end, and
  // before the thread has started the call (gRPC cancels it as it starts).
  void Cancel() { context_.TryCancel(); }

  // Blocks until `on_end` has returned or `timeout` passed.
  bool AwaitEnd(absl::Duration timeout) ABSL_LOCKS_EXCLUDED(mu_);

  static constexpr char kThreadName[] = "fn-cap-watch";  // the name of the watch's thread

  CapacityWatch(std::shared_ptr<AsyncOps> ops, OnSnapshot on_snapshot, OnEnd on_end)
      : ticket_(std::move(ops)), on_snapshot_(std::move(on_snapshot)), on_end_(std::move(on_end)) {}

 private:
  // The watch's thread: the whole stream, then `on_end`.
  void Run(capacity::RunnerCapacity::Stub& stub);

  const AsyncOps::Ticket ticket_;  // First: released after the context.
  const OnSnapshot on_snapshot_;
  const OnEnd on_end_;
  grpc::ClientContext context_;
  absl::Mutex mu_;
  bool ended_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace fnrunner
