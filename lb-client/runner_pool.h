#pragma once

// The set of runners an LB places calls on, with their health and latest capacity.

#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "lb-client/runner_client.h"
#include "proto/capacity.pb.h"

namespace fnrunner {

class CapacityWatch;

// One runner as a placer sees it: a copy, consistent at the time it was taken.
struct RunnerState {
  // Shared with attempts in flight, so Remove() need not wait for them.
  std::shared_ptr<RunnerClient> client;
  // False after a failed Status probe or an attempt that failed with UNAVAILABLE, until a
  // Status probe succeeds again. New runners start healthy.
  bool healthy = true;
  // The newest snapshot from RunnerCapacity.Watch and when it arrived (our clock). Null when
  // none arrived yet, the stream failed, or the runner has no capacity service.
  std::shared_ptr<const capacity::CapacitySnapshot> capacity;
  absl::Time capacity_received = absl::InfinitePast();
};

struct RunnerPoolOptions {
  ChannelOptions channel;
  // How often Tick() runs (health probes, watch re-opening). Zero: no thread; call Tick().
  absl::Duration tick_interval = absl::Seconds(1);
  absl::Duration status_timeout = absl::Seconds(2);
  bool watch_capacity = true;  // subscribe to RunnerCapacity.Watch on every runner
  absl::Duration watch_max_duration = absl::Minutes(5);  // the Watch RPC's deadline
  // After UNIMPLEMENTED (a stock fn runner), try Watch again only this much later.
  absl::Duration watch_unsupported_retry = absl::Seconds(30);
};

// A list of runners in the order they were added (fn's ring order), their health from fn's
// Status RPC, polled every tick without blocking (a runner whose Status fails is marked down
// and stays down until it answers), and their capacity from one Watch stream each, reopened
// when it ends. Thread-safe.
class RunnerPool {
 public:
  explicit RunnerPool(RunnerPoolOptions options);
  RunnerPool(const RunnerPool&) = delete;
  RunnerPool& operator=(const RunnerPool&) = delete;
  // Stops ticking, cancels every watch and waits for outstanding probes and watches (each
  // bounded by its deadline).
  ~RunnerPool();

  // Adds `address` (host:port) at the end. InvalidArgument for a malformed address,
  // AlreadyExists if present. Its first probe and watch start at the next Tick().
  absl::Status Add(const std::string& address) ABSL_LOCKS_EXCLUDED(mu_);
  // Removes it; attempts in flight on it finish normally. NotFound if absent.
  absl::Status Remove(const std::string& address) ABSL_LOCKS_EXCLUDED(mu_);

  std::vector<RunnerState> Runners() ABSL_LOCKS_EXCLUDED(mu_);

  // Changes whenever health, capacity or membership changes.
  uint64_t version() ABSL_LOCKS_EXCLUDED(mu_);
  // Blocks until version() != `seen` or `deadline`; returns version().
  uint64_t AwaitChange(uint64_t seen, absl::Time deadline) ABSL_LOCKS_EXCLUDED(mu_);

  // Blocks until every runner's first Status probe has answered and its first Watch has
  // delivered a snapshot or failed, or until `deadline`. For one-shot tools, whose first call
  // should see capacity data. Call after Tick().
  void AwaitFirstReports(absl::Time deadline) ABSL_LOCKS_EXCLUDED(mu_);

  // An attempt on `address` failed at the connection level: mark it down now rather than at
  // the next probe.
  void ReportUnavailable(const std::string& address) ABSL_LOCKS_EXCLUDED(mu_);

  // Starts a Status probe on every runner without one in flight and (re)opens capacity
  // watches. Never blocks on the network.
  void Tick() ABSL_LOCKS_EXCLUDED(mu_);

 private:
  struct Entry;

  Entry* FindLocked(uint64_t id) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void OnProbe(uint64_t id, bool ok) ABSL_LOCKS_EXCLUDED(mu_);
  void OnSnapshot(uint64_t id, const capacity::CapacitySnapshot& snapshot)
      ABSL_LOCKS_EXCLUDED(mu_);
  void OnWatchEnd(uint64_t id, uint64_t watch_id, const absl::Status& status)
      ABSL_LOCKS_EXCLUDED(mu_);
  void OperationDone() ABSL_LOCKS_EXCLUDED(mu_);
  void TickLoop() ABSL_LOCKS_EXCLUDED(mu_);

  const RunnerPoolOptions options_;
  absl::Mutex mu_;
  std::vector<std::unique_ptr<Entry>> entries_ ABSL_GUARDED_BY(mu_);
  uint64_t next_id_ ABSL_GUARDED_BY(mu_) = 1;
  uint64_t version_ ABSL_GUARDED_BY(mu_) = 1;
  int pending_ ABSL_GUARDED_BY(mu_) = 0;  // probes and watches whose callbacks are to come
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::thread ticker_;  // Runs TickLoop() when options_.tick_interval > 0. Last: joined first.
};

// Parses a runner list: host:port entries separated by commas, spaces or newlines; `#` starts
// a comment to the end of its line. InvalidArgument for a malformed or repeated entry.
absl::StatusOr<std::vector<std::string>> ParseRunnerList(absl::string_view text);
// The same for a file's contents. NotFound / PermissionDenied / Internal if unreadable.
absl::StatusOr<std::vector<std::string>> ReadRunnerFile(const std::string& path);

}  // namespace fnrunner
