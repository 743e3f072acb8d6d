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

// One RunnerCapacity.Watch stream on the gRPC callback API: reads snapshots until the stream
// ends and hands each to a callback. Shared by its owner (to Cancel) and by gRPC while the
// stream is open (a self-reference dropped in OnDone), so neither outlives the other's use.
// Thread-safe.
class CapacityWatch final : public grpc::ClientReadReactor<capacity::CapacitySnapshot> {
 public:
  using OnSnapshot = std::function<void(const capacity::CapacitySnapshot&)>;
  using OnEnd = std::function<void(absl::Status)>;

  // Starts the stream with `deadline`. `on_snapshot` runs for each snapshot, in order, on a
  // gRPC thread; `on_end` runs once when the stream is over (OK never: a Watch stream ends
  // only by error, deadline or cancel), after the last `on_snapshot`.
  // `ops` counts the watch until it is destroyed (lb-client/async_ops.h).
  static std::shared_ptr<CapacityWatch> Start(capacity::RunnerCapacity::Stub& stub,
                                              std::shared_ptr<AsyncOps> ops,
                                              absl::Time deadline, OnSnapshot on_snapshot,
                                              OnEnd on_end);

  // Ends the stream early; `on_end` follows (CANCELLED). Idempotent, safe after the end.
  void Cancel() { context_.TryCancel(); }

  // Blocks until `on_end` has returned or `timeout` passed.
  bool AwaitEnd(absl::Duration timeout) ABSL_LOCKS_EXCLUDED(mu_);

  CapacityWatch(std::shared_ptr<AsyncOps> ops, OnSnapshot on_snapshot, OnEnd on_end)
      : ticket_(std::move(ops)), on_snapshot_(std::move(on_snapshot)), on_end_(std::move(on_end)) {}

 private:
  void OnReadDone(bool ok) override;
  void OnDone(const grpc::Status& status) override;

  const AsyncOps::Ticket ticket_;  // First: released after the context.
  const OnSnapshot on_snapshot_;
  const OnEnd on_end_;
  grpc::ClientContext context_;
  capacity::WatchRequest request_;
  capacity::CapacitySnapshot in_;  // gRPC's between StartRead() and OnReadDone().
  std::shared_ptr<CapacityWatch> self_;  // set by Start(), dropped (last) in OnDone
  absl::Mutex mu_;
  bool ended_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace fnrunner
