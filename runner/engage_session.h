#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "agent/agent.h"
#include "agent/capacity.h"
#include "agent/fn_errors.h"
#include "base/clock.h"
#include "proto/runner.pb.h"

namespace fnrunner {

class EngageTracker;
class RunnerMetrics;

// fn's limits on the wire (runner-protocol.md §2.2, §8).
inline constexpr size_t kMaxDataFrameBytes = 10240;             // fn's MaxDataChunk
inline constexpr size_t kMaxRunnerMsgBytes = (4 << 20) - 1024;  // under the Go LB's 4 MiB

// The gRPC side of one Engage stream as the session sees it: implemented by EngageReactor and
// by a recording fake in tests. Every method may be called from any thread and never blocks,
// except WaitForRoom().
class EngageStream {
 public:
  virtual ~EngageStream() = default;
  // Queues `msg` for writing, in order. Dropped once the stream is ending. `more_follows`:
  // the caller sends another message or ends the stream right away, so this one may wait
  // for it (the last message and the status then leave in one operation). Never for a
  // message whose follower may block.
  virtual void Send(RunnerMsg msg, bool more_follows) = 0;
  // Blocks while too much output waits to be written (response back-pressure). False once
  // the stream is ending: stop producing.
  virtual bool WaitForRoom() = 0;
  // Asks for the next client message: OnMessage() or OnInputClosed() follows. The session
  // keeps at most one read outstanding.
  virtual void ReadNext() = 0;
  // Ends the RPC with `status` after everything queued is written. The first call wins.
  virtual void End(absl::Status status) = 0;
};

struct EngageOptions {
  std::string status_image;           // reserved image ("" = none)
  bool enable_detach = false;         // off: detached calls get 501 as from fn's runner
  std::optional<Resources> capacity;  // machine totals for fn's feasibility check, if known
  uint64_t default_memory_mb = 0;     // FN_DEFAULT_MEMORY_MB: for calls asking for 0
  // Longest wait for a client message the session asked for: the TryCall (then the stream
  // ends with gRPC status 503, which fn's LB retries) or a body frame (the call is cancelled
  // and fails with 504 "Timed out", what fn's function would answer at its own timeout).
  absl::Duration input_timeout = absl::Seconds(60);
};

// Runner-wide services every session uses; all outlive every session.
struct EngageServices {
  const EngageOptions& options;
  Agent& agent;
  EngageTracker& tracker;
  RunnerMetrics& metrics;
  Clock& clock;
};

// The Engage protocol for one stream (runner-protocol.md §2), without gRPC: admission of the
// TryCall with fn's error codes, the request body handed to the agent one frame per
// OnBodyWanted() (back-pressure), the response as one CallResultStart, data frames of at most
// 10 240 bytes and one CallFinished, then the end of the RPC with OK. Protocol violations end
// the RPC with fn's UNKNOWN statuses. Owned by the reactor (or a test). Thread-safe: the
// reactor's reactions, agent threads and the tracker's Tick() call it concurrently.
class EngageSession final : public CallEvents {
 public:
  // `request_id` is the stream's fn_request_id metadata ("" if none), for logs only.
  EngageSession(EngageServices services, EngageStream& stream, std::string request_id);
  EngageSession(const EngageSession&) = delete;
  EngageSession& operator=(const EngageSession&) = delete;
  // Detach()es if that has not happened yet.
  ~EngageSession() override;

  // Asks for the TryCall.
  void Start() ABSL_LOCKS_EXCLUDED(mu_);
  // A read completed with `msg`.
  void OnMessage(ClientMsg msg) ABSL_LOCKS_EXCLUDED(mu_);
  // A read failed: the client half-closed, or the stream broke.
  void OnInputClosed() ABSL_LOCKS_EXCLUDED(mu_);
  // The client cancelled (or its deadline passed): drop the call, end the RPC.
  void OnCancelled() ABSL_LOCKS_EXCLUDED(mu_);
  // The RPC is over. Afterwards no CallEvents method is running or will run, and the tracker
  // no longer knows this session. May block briefly for an agent thread to leave a callback
  // (the stream must already refuse output, so that OnResponseData returns).
  void Detach() ABSL_LOCKS_EXCLUDED(mu_);
  // Enforces options.input_timeout (called by EngageTracker::Tick). While `draining`, a
  // stream still waiting for its TryCall is refused at once, as at its timeout.
  void CheckDeadline(absl::Time now, bool draining) ABSL_LOCKS_EXCLUDED(mu_);

  // CallEvents, called by agent threads.
  void OnBodyWanted() override ABSL_LOCKS_EXCLUDED(mu_);
  void OnExecutionStarted() override ABSL_LOCKS_EXCLUDED(mu_);
  void OnResponseStart(int status, std::vector<HttpHeaderField> headers) override
      ABSL_LOCKS_EXCLUDED(mu_);
  bool OnResponseData(absl::string_view data) override ABSL_LOCKS_EXCLUDED(mu_);
  void OnFinished(CallResult result) override ABSL_LOCKS_EXCLUDED(mu_);

 private:
  enum class State {
    kAwaitTry,  // waiting for the TryCall
    kBody,      // call submitted; request body frames still to come
    kBodyDone,  // eof delivered (or input abandoned); waiting for the result
    kDone,      // CallFinished queued or the RPC ended: nothing more goes out
  };

  void Admit(const TryCall& try_call) ABSL_LOCKS_EXCLUDED(mu_);
  // Ends the RPC with UNKNOWN `message` (fn's protocol failures), cancelling the call.
  void ProtocolFailure(absl::string_view kind, absl::string_view message)
      ABSL_LOCKS_EXCLUDED(mu_);
  RunnerMsg FinishedLocked(const CallResult* result, const std::optional<FnError>& error)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  std::string LogPrefix() ABSL_LOCKS_EXCLUDED(mu_);

  const EngageServices services_;
  EngageStream& stream_;
  const std::string request_id_;

  absl::Mutex mu_;
  State state_ ABSL_GUARDED_BY(mu_) = State::kAwaitTry;
  // The call, once admitted. Set once (after Submit returns, before the first body read) and
  // destroyed only by Detach(), after every reaction and tick is over; so reactions and ticks
  // may use the raw pointer without the lock. Agent threads never use it.
  std::unique_ptr<CallHandle> handle_ ABSL_GUARDED_BY(mu_);
  std::string call_id_ ABSL_GUARDED_BY(mu_);
  std::string image_ ABSL_GUARDED_BY(mu_);
  bool detached_call_ ABSL_GUARDED_BY(mu_) = false;
  absl::Time created_at_ ABSL_GUARDED_BY(mu_);
  bool call_in_flight_ ABSL_GUARDED_BY(mu_) = false;  // submitted, OnFinished not yet seen
  bool result_started_ ABSL_GUARDED_BY(mu_) = false;  // CallResultStart queued
  bool cancelled_ ABSL_GUARDED_BY(mu_) = false;
  bool detaching_ ABSL_GUARDED_BY(mu_) = false;
  // An error found by the runner's I/O side (fn's callErrQueue): wins over the agent's result.
  std::optional<FnError> io_error_ ABSL_GUARDED_BY(mu_);
  // When the outstanding read was requested; nullopt when none is outstanding.
  std::optional<absl::Time> awaiting_input_since_ ABSL_GUARDED_BY(mu_);
};

}  // namespace fnrunner
