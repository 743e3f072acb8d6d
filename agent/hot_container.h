#pragma once

// The agent's bookkeeping for containers and slot queues. Plain data: every field is guarded
// by HotAgent::mu_ (the agent's only scheduling lock), which is why nothing here locks.

#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "agent/call_state.h"
#include "agent/container_log_sink.h"
#include "agent/function_io.h"
#include "agent/resource_tracker.h"
#include "base/ids.h"

namespace fnrunner {

// How long the phases of one container's launch took; reported on the first call it serves.
struct LaunchTimings {
  absl::Duration image_pull_wait;
  absl::Duration container_create;
  absl::Duration init_start;
};

struct HotContainer {
  enum class State {
    kStarting,  // launch task running: iofs, image, create, start, wait for the socket
    kIdle,      // in its slot's idle stack (maybe paused); evictable
    kBusy,      // running one call
    kRemoving,  // removal task owns it; leaves containers_ when done
  };

  std::string name;  // unique; the engine's container name
  std::string slot_key;
  State state = State::kStarting;
  ContainerId id;               // empty until created
  absl::Duration idle_timeout;  // from the call that launched it
  Resources reserved;           // memory + tmpfs, and CPU, for its whole life

  bool paused = false;
  bool pause_in_flight = false;
  // Started ahead of any call (HotAgentOptions::spares_per_slot) and has served none yet.
  bool spare = false;
  absl::Time idle_since;
  absl::Time init_deadline = absl::InfiniteFuture();  // set once the container started
  bool init_timed_out = false;
  absl::Time call_deadline = absl::InfiniteFuture();  // of the running call

  std::shared_ptr<CallState> call;     // the call it runs (kBusy) or was launched for
  std::optional<LaunchTimings> fresh;  // set until its first call takes the timings
  bool ever_ready = false;

  std::optional<ResourceReservation> reservation;  // released after the container is removed
  std::unique_ptr<FunctionIo> io;  // set before the launch task creates the container
  std::unique_ptr<ContainerLogSink> log_sink;
};

struct SlotQueue {
  std::string key;
  std::deque<std::shared_ptr<CallState>> waiters;  // FIFO: the oldest call gets a container
  std::vector<HotContainer*> idle;                 // the most recently idle at the back
  int starting = 0;
  int busy = 0;
  // Running average of this slot's call durations (zero until a call ended).
  absl::Duration call_estimate;
  // Launches were held back because busy containers should serve the waiters first: Tick()
  // looks again, so a waiter that waits as long as a launch takes still gets one.
  bool launch_deferred = false;
  // Spares: kept while now < spares_until (a call of the slot had to start a container),
  // started from spare_template (that call); `spares` counts them, starting or idle.
  absl::Time spares_until = absl::InfinitePast();
  std::optional<Call> spare_template;
  int spares = 0;

  bool Empty() const { return waiters.empty() && idle.empty() && starting == 0 && busy == 0; }
};

}  // namespace fnrunner
