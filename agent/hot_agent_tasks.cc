// HotAgent's blocking work. Each function runs on a TaskRunner thread, owns the container it
// was handed for the duration (the state machine guarantees one task per container at a
// time, except the non-blocking interrupts Tick() and Shutdown() send), and takes mu_ only to
// decide, never across a Docker call or an exchange.

#include <optional>
#include <utility>

#include "absl/strings/str_cat.h"
#include "agent/body_pipe.h"
#include "agent/call.h"
#include "agent/hot_agent.h"
#include "agent/resource_tracker.h"
#include "drivers/driver.h"
#include "glog/logging.h"

namespace fnrunner {
namespace {

ContainerSpec SpecFor(const Call& call, const std::string& name, const std::string& iofs_dir,
                      const std::map<std::string, std::string>& extra_labels) {
  ContainerSpec spec;
  spec.name = name;
  spec.image = call.image;
  for (const auto& [key, value] : call.config) {
    if (key == "FN_LISTENER" || key == "FN_FORMAT") continue;  // forced below, as fn does
    spec.env.push_back(absl::StrCat(key, "=", value));
  }
  spec.env.push_back("FN_LISTENER=unix:/tmp/iofs/lsnr.sock");
  spec.env.push_back("FN_FORMAT=http-stream");
  spec.memory_mb = static_cast<int64_t>(call.memory_mb);
  spec.milli_cpus = static_cast<int64_t>(call.milli_cpus);
  spec.tmpfs_mb = call.tmpfs_size_mb;
  spec.iofs_host_dir = iofs_dir;
  spec.labels = extra_labels;
  spec.labels["fn.app_id"] = call.app_id;
  spec.labels["fn.fn_id"] = call.fn_id;
  spec.syslog_url = call.syslog_url;
  return spec;
}

// fn's error for a failed image pull (agent spec §9).
FnError PullError(const Call& call, const absl::Status& status) {
  if (status.code() == absl::StatusCode::kDeadlineExceeded) return fn_errors::PullTimeout();
  if (status.code() == absl::StatusCode::kUnavailable) return fn_errors::ServerBusy();
  const int code = status.code() == absl::StatusCode::kNotFound           ? 404
                   : status.code() == absl::StatusCode::kPermissionDenied ? 403
                   : status.code() == absl::StatusCode::kUnauthenticated  ? 401
                                                                          : 502;
  return {code, absl::StrCat("Failed to pull image '", call.image, "': ", status.message()), true};
}

// Engine errors while launching: an unreachable engine is worth retrying on another runner
// (503); anything else is fn's raw internal error.
FnError EngineError(absl::string_view what, const absl::Status& status) {
  if (status.code() == absl::StatusCode::kUnavailable) return fn_errors::ServerBusy();
  return fn_errors::Internal(absl::StrCat(what, ": ", status.message()));
}

// A running average that follows change within a few samples; the first sample starts it.
absl::Duration Averaged(absl::Duration average, absl::Duration sample) {
  if (average <= absl::ZeroDuration()) return sample;
  return average * 0.75 + sample * 0.25;
}

}  // namespace

void HotAgent::LaunchTask(HotContainer* c, Call call) {
  LaunchTimings timings;
  std::optional<FnError> failure = [&]() -> std::optional<FnError> {
    absl::StatusOr<std::unique_ptr<FunctionIo>> io = io_factory_.Prepare(c->name);
    if (!io.ok()) return fn_errors::Internal(std::string(io.status().message()));
    auto sink = std::make_unique<ContainerLogSink>(call.app_id, call.fn_id, c->name, logs_, clock_,
                                                   [this, c] { ContainerExited(c); });
    {
      absl::MutexLock lock(&mu_);
      c->io = *std::move(io);
      c->log_sink = std::move(sink);
      if (draining_) return fn_errors::ServerBusy();
    }

    absl::StatusOr<ImageInfo> image = driver_.InspectImage(call.image);
    if (image.status().code() == absl::StatusCode::kNotFound) {
      const absl::Time pull_start = clock_.Now();
      RegistryAuth auth;
      if (auto token = call.extensions.find("FN_REGISTRY_TOKEN"); token != call.extensions.end()) {
        auth.registry_token = token->second;
      }
      absl::Status pulled = driver_.PullImage(call.image, auth);
      timings.image_pull_wait = clock_.Now() - pull_start;
      if (!pulled.ok()) return PullError(call, pulled);
      image = driver_.InspectImage(call.image);
      // Gone again between pull and create: fn answers 503 so the LB tries elsewhere.
      if (image.status().code() == absl::StatusCode::kNotFound) return fn_errors::ServerBusy();
    }
    if (!image.ok()) return EngineError("inspecting image", image.status());

    const absl::Time create_start = clock_.Now();
    absl::StatusOr<ContainerId> id =
        driver_.Create(SpecFor(call, c->name, c->io->HostDir(), options_.container_labels));
    timings.container_create = clock_.Now() - create_start;
    if (id.status().code() == absl::StatusCode::kNotFound) return fn_errors::ServerBusy();
    if (!id.ok()) return EngineError("creating container", id.status());
    {
      absl::MutexLock lock(&mu_);
      c->id = *id;
    }
    if (absl::Status s = driver_.AttachLogs(*id, *c->log_sink); !s.ok()) {
      return EngineError("attaching to container", s);
    }
    const absl::Time start = clock_.Now();
    if (absl::Status s = driver_.Start(*id); !s.ok()) {
      return EngineError("starting container", s);
    }
    {
      absl::MutexLock lock(&mu_);
      c->init_deadline = clock_.Now() + options_.init_timeout;
    }
    absl::Status ready = c->io->WaitReady();
    timings.init_start = clock_.Now() - start;
    if (ready.ok()) return std::nullopt;
    absl::MutexLock lock(&mu_);
    if (c->init_timed_out) return fn_errors::ContainerInitTimeout();
    if (draining_) return fn_errors::ServerBusy();
    // Socket refused by the check, or the container exited before it listened.
    return fn_errors::ContainerInitFail();
  }();

  absl::MutexLock lock(&mu_);
  SlotQueue& slot = *slots_.at(c->slot_key);
  --slot.starting;
  if (failure.has_value()) {
    LOG(WARNING) << "launching " << c->name << " (" << call.image
                 << ") failed: " << failure->message;
    // The launch was for the oldest waiter; it gets the error. Others launch again. A spare
    // was for nobody: no call fails, and the slot starts no more spares for now.
    if (c->spare) {
      slot.spares_until = absl::InfinitePast();
    } else if (!slot.waiters.empty() && !draining_) {
      std::shared_ptr<CallState> failed = std::move(slot.waiters.front());
      slot.waiters.pop_front();
      --waiting_calls_;
      FailLocked(std::move(failed), *failure);
    }
    RetireLocked(*c);
    MaybeLaunchLocked(slot);
    return;
  }
  c->fresh = timings;
  c->ever_ready = true;
  // Pulls happen once per image; what a scale-up waits for is the create and the start.
  launch_estimate_ = Averaged(launch_estimate_, timings.container_create + timings.init_start);
  OfferLocked(*c);
}

void HotAgent::ExecTask(HotContainer* c, std::shared_ptr<CallState> call) {
  std::optional<LaunchTimings> fresh;
  bool unpause = false;
  {
    absl::MutexLock lock(&mu_);
    // A pause started while the container was idle must settle before we can thaw it.
    auto pause_settled = [this, c] {
      mu_.AssertHeld();
      return !c->pause_in_flight;
    };
    mu_.Await(absl::Condition(&pause_settled));
    unpause = c->paused;
    fresh = std::exchange(c->fresh, std::nullopt);
  }
  if (unpause) {
    if (absl::Status s = driver_.Unpause(c->id); !s.ok()) {
      // fn failed the call here; the container is useless but the call is not: queue it
      // again at the front and let a new container serve it.
      LOG(WARNING) << "unpausing " << c->name << " failed: " << s;
      absl::MutexLock lock(&mu_);
      SlotQueue& slot = *slots_.at(c->slot_key);
      --slot.busy;
      --running_calls_;
      c->call = nullptr;
      c->state = HotContainer::State::kIdle;
      RetireLocked(*c);
      slot.waiters.push_front(std::move(call));
      ++waiting_calls_;
      MaybeLaunchLocked(slot);
      return;
    }
  }

  const absl::Time started = clock_.Now();
  {
    absl::MutexLock lock(&mu_);
    c->paused = false;
    c->call_deadline = started + call->call().timeout;
  }
  c->log_sink->SetCall(call->call().id.value);
  FunctionIo* io = c->io.get();
  call->SetAbort([io] { io->AbortExchange(); });
  ExchangeOutcome outcome;
  if (call->cancelled()) {
    outcome.aborted = true;  // Cancelled before the exchange could start.
  } else {
    call->ExecutionStarted();
    outcome = io->Exchange(call->call(), started + call->call().timeout, call->body(), *call);
  }
  call->SetAbort(nullptr);
  // The log tag stays on this call until the next one starts: output reaches us through the
  // engine's attach stream after the exchange, and an idle function writes nothing new.
  const absl::Time completed = clock_.Now();

  CallResult result;
  result.created_at = call->created_at();
  result.started_at = started;
  result.completed_at = completed;
  result.scheduler = started - call->created_at();
  result.execution = completed - started;
  if (fresh.has_value()) {
    result.image_pull_wait = fresh->image_pull_wait;
    result.container_create = fresh->container_create;
    result.init_start = fresh->init_start;
  }
  bool reusable = outcome.container_reusable;
  std::optional<FnError> error = outcome.error;
  if (outcome.aborted) {
    // Whatever the function was doing is cut off mid-exchange: never reuse the container.
    reusable = false;
    if (call->timed_out()) {
      error = fn_errors::CallTimeout();
    } else if (call->cancelled()) {
      error = fn_errors::Internal("call cancelled by the client");
    } else {
      error = fn_errors::Internal("runner shutting down");
    }
  }
  result.success = !error.has_value();
  if (error.has_value()) {
    result.error_code = error->code;
    result.error_message = error->message;
    result.user_error = error->user_error;
  }

  {
    absl::MutexLock lock(&mu_);
    SlotQueue& slot = *slots_.at(c->slot_key);
    --slot.busy;
    --running_calls_;
    if (!outcome.aborted) {
      slot.call_estimate = Averaged(slot.call_estimate, completed - started);
      call_estimate_ = Averaged(call_estimate_, completed - started);
    }
    c->call_deadline = absl::InfiniteFuture();
    if (reusable) {
      OfferLocked(*c);
    } else {
      c->call = nullptr;
      c->state = HotContainer::State::kIdle;
      RetireLocked(*c);
    }
  }
  call->Finish(std::move(result));
}

void HotAgent::PauseTask(HotContainer* c) {
  const absl::Status paused = driver_.Pause(c->id);
  absl::MutexLock lock(&mu_);
  c->pause_in_flight = false;
  if (paused.ok()) {
    c->paused = true;
    return;
  }
  LOG(WARNING) << "pausing " << c->name << " failed: " << paused;
  // Still idle: a container we cannot freeze is not kept (fn does the same).
  if (c->state == HotContainer::State::kIdle) RetireLocked(*c);
}

void HotAgent::RemoveTask(HotContainer* c) {
  // Remove by engine id, or by name when creation never returned one: a create that timed
  // out may still have made the container.
  const ContainerId target = c->id.value.empty() ? ContainerId{c->name} : c->id;
  if (absl::Status s = driver_.Remove(target); !s.ok()) {
    // The orphan sweep at the next start removes what this leaves behind.
    LOG(ERROR) << "removing container " << c->name << " failed: " << s;
  }
  std::unique_ptr<HotContainer> owned;
  {
    absl::MutexLock lock(&mu_);
    auto it = containers_.find(c->name);
    owned = std::move(it->second);
    containers_.erase(it);
  }
  // Outside the lock: closing the FunctionIo deletes the container's iofs directory.
  owned->io.reset();
  owned->log_sink.reset();
  absl::MutexLock lock(&mu_);
  // Only now, with the container gone, is its memory really free.
  owned->reservation.reset();
  releasing_.memory_bytes -= owned->reserved.memory_bytes;
  releasing_.milli_cpus -= owned->reserved.milli_cpus;
  DropSlotIfEmptyLocked(owned->slot_key);
  RecheckAllLocked();
}

// From the driver's log thread: the container's output ended. Must not block.
void HotAgent::ContainerExited(HotContainer* c) {
  absl::MutexLock lock(&mu_);
  switch (c->state) {
    case HotContainer::State::kIdle:
      LOG(WARNING) << "idle container " << c->name << " exited";
      RetireLocked(*c);
      break;
    case HotContainer::State::kStarting:
      if (c->io != nullptr) c->io->CancelWait();  // The launch reports fn's init failure.
      break;
    case HotContainer::State::kBusy:      // The exchange fails and removes it.
    case HotContainer::State::kRemoving:  // Remove() itself closes the stream.
      break;
  }
}

}  // namespace fnrunner
