#pragma once

// The runner's RunnerCapacity service (proto/capacity.proto): capacity snapshots for
// capacity-aware load balancers, pushed on change.

#include <memory>
#include <string>

#include "absl/container/flat_hash_set.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "agent/agent.h"
#include "base/clock.h"
#include "grpcpp/grpcpp.h"
#include "proto/capacity.grpc.pb.h"

namespace fnrunner {

class Ticker;

struct CapacityServiceOptions {
  std::string runner_id;  // reported as CapacitySnapshot.runner_id (FN_INSTANCE or host:port)
  // How often the agent is polled for changes. Zero: no thread; the owner calls Tick().
  absl::Duration poll_interval = absl::Milliseconds(50);
  // An unchanged snapshot is pushed again at least this often, so watchers can tell a quiet
  // runner from a dead stream.
  absl::Duration keepalive_interval = absl::Seconds(1);
};

// The agent's capacity as a CapacitySnapshot (every field but runner_id, epoch, seq and
// taken_at), slots sorted by key.
capacity::CapacitySnapshot CapacityContent(const AgentSnapshot& snapshot);

// RunnerCapacity on the gRPC callback API. Tick() polls Agent::Snapshot(); a snapshot whose
// content differs from the last one gets the next seq and is pushed to every Watch stream; an
// unchanged one is pushed again once keepalive_interval has passed since the last push. Each
// Watch stream is a self-deleting reactor with one write in flight: a slow watcher skips
// intermediate snapshots and gets the newest (only the newest matters). Get answers the
// current snapshot. Handlers never block: they take the agent's snapshot (a short lock, no I/O)
// and start writes. Thread-safe.
class CapacityService final : public capacity::RunnerCapacity::CallbackService {
 public:
  // `agent` and `clock` must outlive this object. Starts the poll thread if
  // options.poll_interval > 0.
  CapacityService(CapacityServiceOptions options, Agent& agent, Clock& clock);
  CapacityService(const CapacityService&) = delete;
  CapacityService& operator=(const CapacityService&) = delete;
  // Stops the poll thread. The gRPC server must have been shut down first.
  ~CapacityService() override;

  // Polls the agent and pushes as described above. Blocks only on the agent's lock.
  void Tick() ABSL_LOCKS_EXCLUDED(poll_mu_, mu_);

  // Ends every Watch stream with UNAVAILABLE and refuses new ones, so the server's shutdown
  // need not wait for them (a Watch stream never ends by itself). Call it when draining ends,
  // before grpc::Server::Shutdown. Never blocks.
  void Shutdown() ABSL_LOCKS_EXCLUDED(mu_);

  // Open Watch streams.
  int watchers() ABSL_LOCKS_EXCLUDED(mu_);
  // Blocks until watchers() == n (true) or `timeout` passes (false). For tests and drain.
  bool AwaitWatchers(int n, absl::Duration timeout) ABSL_LOCKS_EXCLUDED(mu_);

  grpc::ServerWriteReactor<capacity::CapacitySnapshot>* Watch(
      grpc::CallbackServerContext* context, const capacity::WatchRequest* request) override;
  grpc::ServerUnaryReactor* Get(grpc::CallbackServerContext* context,
                                const capacity::GetRequest* request,
                                capacity::CapacitySnapshot* response) override;

 private:
  class WatchReactor;

  // Takes a snapshot; when it changed, or `keepalive` is set and the interval passed, pushes
  // it to every watcher. Returns it.
  capacity::CapacitySnapshot Refresh(bool keepalive) ABSL_LOCKS_EXCLUDED(poll_mu_, mu_);
  void RemoveWatcher(WatchReactor* watcher) ABSL_LOCKS_EXCLUDED(mu_);

  const CapacityServiceOptions options_;
  Agent& agent_;
  Clock& clock_;
  const std::string epoch_;  // random, fixed for this object's life

  // Serialises Refresh() from agent snapshot to new seq, so seq order is snapshot order.
  // Never held while writing to a stream. Taken before mu_.
  absl::Mutex poll_mu_;
  absl::Mutex mu_;
  capacity::CapacitySnapshot latest_ ABSL_GUARDED_BY(mu_);  // seq 0: none taken yet
  absl::Time last_push_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  bool shut_down_ ABSL_GUARDED_BY(mu_) = false;
  // Open streams. A reactor removes itself in OnDone; a push holds a reference (Ref/Unref) on
  // each reactor it writes to, so none is deleted under it.
  absl::flat_hash_set<WatchReactor*> watchers_ ABSL_GUARDED_BY(mu_);

  std::unique_ptr<Ticker> ticker_;  // Last: stopped first.
};

}  // namespace fnrunner
