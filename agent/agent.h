#pragma once

// The hot-slot agent's public face: what the runner (gRPC service) uses to run calls.
// Everything here is independent of gRPC; runner/ adapts it to the Engage stream.

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace fnrunner {

struct Call;  // agent/call.h: a validated fn call model.

struct HttpHeaderField {
  std::string name;
  std::string value;
  friend bool operator==(const HttpHeaderField&, const HttpHeaderField&) = default;
};

// How a call ended, as fn's CallFinished reports it. `error_code` is fn's HTTP-style code
// (503 = "retry on another runner"; 0 = an internal error, as fn sends it).
struct CallResult {
  bool success = false;
  int error_code = 0;
  std::string error_message;
  bool user_error = false;              // the function's fault (metrics tag only)
  absl::Time created_at;                // runner clock
  absl::Time started_at;                // InfinitePast() when execution never started
  absl::Time completed_at;
  absl::Duration scheduler;             // waiting for a slot
  absl::Duration execution;             // running in the function
  absl::Duration image_pull_wait;       // zero unless this call's container pulled
  absl::Duration container_create;      // zero unless this call waited for a new container
  absl::Duration init_start;            // start -> socket ready, for a new container
};

// What the runner learns about one call. Implemented by the runner; called from agent
// threads, never concurrently for one call, and never after OnFinished() or after the
// CallHandle is destroyed.
class CallEvents {
 public:
  virtual ~CallEvents() = default;
  // The agent can take more request body: the runner may read the next frame. Called once
  // after each AppendBody() that the agent has consumed (back-pressure: at most a bounded
  // amount of body is buffered in the agent).
  virtual void OnBodyWanted() = 0;
  // Execution starts (a container was acquired). fn sends its detached 202 ack here.
  virtual void OnExecutionStarted() = 0;
  // The function began a successful response, after the whole request body was delivered.
  // Hop-by-hop headers are already removed.
  virtual void OnResponseStart(int status, std::vector<HttpHeaderField> headers) = 0;
  // A piece of the response body, in order. May block the agent thread until the runner
  // has room (back-pressure); returns false if the call's consumer is gone (stop sending).
  virtual bool OnResponseData(absl::string_view data) = 0;
  // Exactly once, last.
  virtual void OnFinished(CallResult result) = 0;
};

// One submitted call. Owned by the runner. Thread-safe; no method blocks.
class CallHandle {
 public:
  // Destroying the handle detaches it: it returns only when no CallEvents method is running,
  // and none will be called afterwards. If the call has not finished it is cancelled.
  virtual ~CallHandle() = default;
  // Hands the next piece of request body to the call. `last` marks the end of the body
  // (fn's eof frame, which may carry data). The first call may follow Submit() at once; each
  // later one waits for OnBodyWanted().
  virtual void AppendBody(std::string data, bool last) = 0;
  // The caller went away: stop waiting or executing; OnFinished() still follows.
  virtual void Cancel() = 0;
};

// A consistent picture of the agent's capacity and containers, for Status, /metrics and
// capacity-aware placement.
struct AgentSnapshot {
  struct Slot {
    std::string slot_key;               // hex
    int idle = 0;
    int paused = 0;
    int busy = 0;
    int starting = 0;
    int spares = 0;  // pre-started, never used (starting or idle, paused or not)
    int waiting_calls = 0;
  };
  int64_t memory_total_bytes = 0;
  int64_t memory_reserved_bytes = 0;
  int64_t memory_evictable_bytes = 0;   // held by idle/paused containers
  int64_t cpu_total_mcpus = 0;
  int64_t cpu_reserved_mcpus = 0;
  int64_t cpu_evictable_mcpus = 0;
  int64_t calls_waiting = 0;
  int64_t calls_running = 0;
  bool draining = false;
  std::vector<Slot> slots;
};

// Admission decisions and the call lifecycle. Thread-safe.
class Agent {
 public:
  virtual ~Agent() = default;
  // Starts `call`. Never blocks: waiting for a slot and execution happen on agent threads,
  // reported through `events`, which must outlive the returned handle. Every outcome,
  // including refusals (503 when full in non-blocking mode or shutting down), arrives as
  // OnFinished().
  virtual std::unique_ptr<CallHandle> Submit(Call call, CallEvents& events) = 0;
  virtual AgentSnapshot Snapshot() = 0;
  // Drains: from now on Submit() refuses with 503; waiting calls get 503; running calls may
  // finish until `grace` passes, then are cancelled; every container is removed and every
  // reservation released. Blocks until done. Idempotent.
  virtual void Shutdown(absl::Duration grace) = 0;
};

}  // namespace fnrunner
