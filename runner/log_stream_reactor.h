#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>

#include "absl/synchronization/mutex.h"
#include "agent/log_hub.h"
#include "grpcpp/grpcpp.h"
#include "proto/runner.pb.h"
#include "runner/stream_outbox.h"

namespace fnrunner {

class RunnerMetrics;

// One StreamLogs stream (runner-protocol.md §7), as fn's example streamer speaks it: the
// collector sends `start` first (anything else ends the RPC with UNKNOWN "expected start
// session"), then one `ack` (or `ready`) per batch it wants; every other message ends the RPC
// with UNKNOWN "expected ack", and a half-close ends it with OK. Each ack is answered with one
// LogResponseMsg as soon as lines are available, so at most one unacknowledged batch is in
// flight per ack. Lines come from the LogHub into a queue bounded by `max_queued_lines`;
// when a collector is slow, new lines are dropped and counted
// (fnrunner_log_lines_dropped_total). Created with `new`; deletes itself in OnDone().
class LogStreamReactor final : public grpc::ServerBidiReactor<LogRequestMsg, LogResponseMsg> {
 public:
  LogStreamReactor(LogHub& hub, RunnerMetrics& metrics, size_t max_queued_lines);

 private:
  ~LogStreamReactor() override = default;  // Only OnDone() deletes.

  void OnReadDone(bool ok) override;
  void OnWriteDone(bool ok) override;
  void OnCancel() override;
  void OnDone() override;

  // The LogHub subscriber: runs on a driver thread, never blocks.
  void OnLine(const FunctionLogLine& line) ABSL_LOCKS_EXCLUDED(mu_);
  // Sends a batch if the collector asked for one and lines are waiting.
  void MaybeSend() ABSL_LOCKS_EXCLUDED(mu_);
  void ReadNext();
  void End(absl::Status status);

  LogHub& hub_;
  RunnerMetrics& metrics_;
  const size_t max_queued_lines_;
  StreamOutbox<LogResponseMsg> outbox_;
  LogRequestMsg in_;  // gRPC's between StartRead() and OnReadDone().
  // Only reactions touch these two; OnDone() runs after all of them.
  bool started_ = false;
  std::unique_ptr<LogHub::Subscription> subscription_;

  absl::Mutex mu_;
  std::deque<FunctionLogLine> queue_ ABSL_GUARDED_BY(mu_);
  int64_t credits_ ABSL_GUARDED_BY(mu_) = 0;  // batches asked for and not yet sent
  bool warned_drop_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace fnrunner
