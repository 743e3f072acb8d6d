#include "agent/hot_agent.h"

#include <algorithm>
#include <utility>

#include "absl/random/random.h"
#include "absl/strings/str_format.h"
#include "agent/call.h"
#include "agent/resource_tracker.h"
#include "agent/slot_key.h"
#include "glog/logging.h"

namespace fnrunner {
namespace {

std::string NewContainerName() {
  absl::BitGen gen;
  return absl::StrFormat("fnr-%016x%08x", absl::Uniform<uint64_t>(gen),
                         absl::Uniform<uint32_t>(gen));
}

// True if `have` is at least `need` in both memory and CPU.
bool Covers(const Resources& have, const Resources& need) {
  return have.memory_bytes >= need.memory_bytes && have.milli_cpus >= need.milli_cpus;
}

CallResult ErrorResult(const CallState& call, const FnError& error, absl::Time now) {
  CallResult result;
  result.success = false;
  result.error_code = error.code;
  result.error_message = error.message;
  result.user_error = error.user_error;
  result.created_at = call.created_at();
  result.started_at = absl::InfinitePast();
  result.completed_at = now;
  result.scheduler = now - call.created_at();
  return result;
}

}  // namespace

// The runner's side of one call. Destroying it is the detach barrier (agent/agent.h).
class HotAgent::Handle final : public CallHandle {
 public:
  Handle(HotAgent& agent, std::shared_ptr<CallState> call)
      : agent_(agent), call_(std::move(call)) {}
  ~Handle() override {
    call_->Detach();
    if (!call_->finished()) agent_.CancelCall(call_);
  }
  void AppendBody(std::string data, bool last) override {
    call_->body().Push(std::move(data), last);
  }
  void Cancel() override { agent_.CancelCall(call_); }

 private:
  HotAgent& agent_;
  const std::shared_ptr<CallState> call_;
};

HotAgent::HotAgent(HotAgentOptions options, Driver& driver, FunctionIoFactory& io_factory,
                   ResourceTracker& resources, LogHub& logs, Clock& clock)
    : options_(std::move(options)),
      driver_(driver),
      io_factory_(io_factory),
      resources_(resources),
      logs_(logs),
      clock_(clock) {
  if (options_.tick_interval > absl::ZeroDuration()) {
    scheduler_ = std::thread([this] { SchedulerLoop(); });
  }
}

HotAgent::~HotAgent() {
  Shutdown(absl::ZeroDuration());
  stop_scheduler_.Notify();
  if (scheduler_.joinable()) scheduler_.join();
}

void HotAgent::SchedulerLoop() {
  while (!stop_scheduler_.WaitForNotificationWithTimeout(options_.tick_interval)) Tick();
}

std::unique_ptr<CallHandle> HotAgent::Submit(Call call, CallEvents& events) {
  absl::StatusOr<SlotKey> key = SlotKeyOf(call);
  const absl::Status key_status = key.status();
  auto state = std::make_shared<CallState>(std::move(call), key.ok() ? key->Hex() : "", events,
                                           clock_.Now());
  auto handle = std::make_unique<Handle>(*this, state);
  absl::MutexLock lock(&mu_);
  if (!key_status.ok()) {
    // A malformed slot_hash_id; the runner's admission normally catches it first.
    FailLocked(std::move(state), fn_errors::Internal(std::string(key_status.message())));
  } else if (draining_) {
    FailLocked(std::move(state), fn_errors::ServerBusy());
  } else if (!resources_.IsPossible(state->call().Reservation())) {
    FailLocked(std::move(state), fn_errors::ResourceTooBig());
  } else {
    EnqueueLocked(std::move(state));
  }
  return handle;
}

void HotAgent::EnqueueLocked(std::shared_ptr<CallState> call) {
  std::unique_ptr<SlotQueue>& slot = slots_[call->slot_key()];
  if (slot == nullptr) {
    slot = std::make_unique<SlotQueue>();
    slot->key = call->slot_key();
  }
  if (!slot->idle.empty()) {
    HotContainer* warmest = slot->idle.back();
    slot->idle.pop_back();
    AssignLocked(*warmest, std::move(call));
    return;
  }
  slot->waiters.push_back(std::move(call));
  ++waiting_calls_;
  MaybeLaunchLocked(*slot);
}

// fn's launch policy starts a container while waiting calls outnumber containers already
// starting (idle ones would have been taken), as if busy containers stayed busy. For short
// calls that is far too many: at concurrency 8 over 8 functions a runner held 28-47
// containers for 8 calls in flight, each a cold start competing with the calls for CPU. The
// estimate policy launches only for the waiters the slot's containers will not serve within
// one launch time: a busy container serves launch time / call time (q) calls before a launch
// started now could be ready; a starting container serves at least the call it was launched
// for, and q within a launch time of being ready, about when a new one would be. The call
// time is the slot's average, or for a slot that has not finished a call yet the runner's.
size_t HotAgent::ContainersWantedLocked(SlotQueue& slot) {
  const size_t waiters = slot.waiters.size();
  const int servers = slot.busy + slot.starting;
  const absl::Duration call =
      slot.call_estimate > absl::ZeroDuration() ? slot.call_estimate : call_estimate_;
  slot.launch_deferred = false;
  if (options_.launch_policy != HotAgentOptions::LaunchPolicy::kEstimate || servers == 0 ||
      waiters == 0 || call <= absl::ZeroDuration() || launch_estimate_ <= absl::ZeroDuration()) {
    return waiters;
  }
  absl::Duration unused;
  const int64_t q = std::min<int64_t>(absl::IDivDuration(launch_estimate_, call, &unused), 1 << 20);
  const size_t servable =
      static_cast<size_t>(q * slot.busy + std::max<int64_t>(q, 1) * slot.starting);
  // A call that already waited a launch's time is not being served as expected (a slow
  // call, a stuck function): it gets a container of its own.
  const absl::Time now = clock_.Now();
  size_t overdue = 0;
  for (const std::shared_ptr<CallState>& waiter : slot.waiters) {
    if (now - waiter->created_at() >= launch_estimate_) ++overdue;
  }
  const size_t starting = static_cast<size_t>(slot.starting);
  const size_t wanted =
      std::max(overdue, starting + (waiters > servable ? waiters - servable : 0));
  slot.launch_deferred = wanted < waiters;
  return wanted;
}

void HotAgent::MaybeLaunchLocked(SlotQueue& slot) {
  while (!draining_ && ContainersWantedLocked(slot) > static_cast<size_t>(slot.starting)) {
    // Every waiter of a slot shares what is baked into a container (that is what the slot key
    // hashes), so the oldest waiter serves as the template; fn kept the first call ever.
    const Call& call = slot.waiters.front()->call();
    ReserveResult reserved = resources_.TryReserve(call.Reservation());
    if (reserved.reservation.has_value()) {
      LaunchLocked(slot, call, std::move(reserved.reservation), /*spare=*/false);
      // A call had to wait for a start: this function may keep spares for a while.
      if (options_.spares_per_slot > 0) {
        slot.spares_until = clock_.Now() + options_.spare_window;
        slot.spare_template = call;
      }
      continue;
    }
    // No room now. Capacity that removals in progress will free may already cover it.
    if (Covers(releasing_, reserved.shortfall)) break;
    if (EvictForLocked(slot, reserved.shortfall)) break;
    if (options_.non_blocking) {
      // Refuse at once (fn's retryable 503) the calls that no starting container will serve.
      while (slot.waiters.size() > static_cast<size_t>(slot.starting)) {
        std::shared_ptr<CallState> refused = std::move(slot.waiters.back());
        slot.waiters.pop_back();
        --waiting_calls_;
        FailLocked(std::move(refused), fn_errors::ServerBusy());
      }
    }
    break;  // Blocking mode: the calls wait until a removal frees room (RecheckAllLocked).
  }
  MaybeStartSparesLocked(slot);
}

HotContainer& HotAgent::LaunchLocked(SlotQueue& slot, const Call& template_call,
                                     std::optional<ResourceReservation> reservation, bool spare) {
  auto container = std::make_unique<HotContainer>();
  container->name = NewContainerName();
  container->slot_key = slot.key;
  container->idle_timeout = template_call.idle_timeout;
  container->reserved = template_call.Reservation();
  container->reservation = std::move(reservation);
  container->spare = spare;
  HotContainer* raw = container.get();
  containers_.emplace(raw->name, std::move(container));
  ++slot.starting;
  tasks_.Post([this, raw, template_call] { LaunchTask(raw, template_call); });
  return *raw;
}

// Spares never evict and never wait: they use room nobody else needs now, and go first when
// someone does (EvictForLocked). Calls of other functions waiting for room come first: a
// spare started then would take the room an eviction just made for them.
void HotAgent::MaybeStartSparesLocked(SlotQueue& slot) {
  while (!draining_ && slot.spares < options_.spares_per_slot && slot.spare_template &&
         clock_.Now() < slot.spares_until &&
         waiting_calls_ <= static_cast<int64_t>(slot.waiters.size())) {
    const Resources needed = slot.spare_template->Reservation();
    if (spare_memory_bytes_ + needed.memory_bytes > options_.spare_memory_bytes) return;
    ReserveResult reserved = resources_.TryReserve(needed);
    if (!reserved.reservation.has_value()) return;
    LaunchLocked(slot, *slot.spare_template, std::move(reserved.reservation), /*spare=*/true);
    ++slot.spares;
    spare_memory_bytes_ += needed.memory_bytes;
  }
}

void HotAgent::ForgetSpareLocked(HotContainer& container) {
  if (!container.spare) return;
  container.spare = false;
  spare_memory_bytes_ -= container.reserved.memory_bytes;
  if (auto it = slots_.find(container.slot_key); it != slots_.end()) --it->second->spares;
}

void HotAgent::RecheckAllLocked() {
  for (auto& [key, slot] : slots_) {
    if (slot->waiters.size() > static_cast<size_t>(slot->starting)) MaybeLaunchLocked(*slot);
  }
}

// Evicts idle containers of other slots, least recently used first, if together with what is
// already being released they cover the whole shortfall; otherwise evicts nothing.
bool HotAgent::EvictForLocked(const SlotQueue& slot, const Resources& shortfall) {
  std::vector<HotContainer*> candidates;
  for (auto& [name, c] : containers_) {
    if (c->state == HotContainer::State::kIdle && c->slot_key != slot.key) {
      candidates.push_back(c.get());
    }
  }
  // Spares first (nobody has used them), then the least recently idle.
  std::sort(candidates.begin(), candidates.end(), [](const HotContainer* a, const HotContainer* b) {
    if (a->spare != b->spare) return a->spare;
    return a->idle_since < b->idle_since;
  });
  Resources freed = releasing_;
  size_t needed = 0;
  while (needed < candidates.size() && !Covers(freed, shortfall)) {
    freed.memory_bytes += candidates[needed]->reserved.memory_bytes;
    freed.milli_cpus += candidates[needed]->reserved.milli_cpus;
    ++needed;
  }
  if (!Covers(freed, shortfall) || needed == 0) return false;
  for (size_t i = 0; i < needed; ++i) {
    VLOG(1) << "evicting " << candidates[i]->name << " for slot " << slot.key;
    ++evictions_;
    RetireLocked(*candidates[i]);
  }
  return true;
}

void HotAgent::AssignLocked(HotContainer& container, std::shared_ptr<CallState> call) {
  SlotQueue& slot = *slots_.at(container.slot_key);
  // A call reports a launch's phases only if it waited for that launch: a spare taken from
  // the idle stack was no cold start for it.
  if (container.state == HotContainer::State::kIdle) container.fresh.reset();
  if (container.spare) {
    // A spare serves its first call: it is an ordinary container now. Launches finish in any
    // order, so it may have taken the very call another container is still starting for:
    // that one becomes the spare. Otherwise the slot starts a new spare (window permitting).
    ForgetSpareLocked(container);
    HotContainer* replacement = nullptr;
    for (auto& [name, c] : containers_) {
      if (c.get() != &container && c->slot_key == container.slot_key &&
          c->state == HotContainer::State::kStarting && !c->spare &&
          slot.waiters.size() < static_cast<size_t>(slot.starting)) {
        replacement = c.get();
        break;
      }
    }
    if (replacement != nullptr) {
      replacement->spare = true;
      ++slot.spares;
      spare_memory_bytes_ += replacement->reserved.memory_bytes;
    } else {
      MaybeStartSparesLocked(slot);
    }
  }
  container.state = HotContainer::State::kBusy;
  container.call = call;
  ++slot.busy;
  ++running_calls_;
  // The call's timeout runs from now: the scheduler ends a call whose body never comes.
  // ExecTask() restarts it once the exchange begins.
  container.call_deadline = clock_.Now() + call->call().timeout;
  HotContainer* raw = &container;
  auto exec = [this, raw, call]() mutable {
    tasks_.Post([this, raw, call = std::move(call)]() mutable { ExecTask(raw, std::move(call)); });
  };
  if (container.paused || container.pause_in_flight) {
    exec();  // Thawing takes a while: overlap it with the body's arrival.
    return;
  }
  // Start the exchange with the first body chunk (or the abort that ends the call), not
  // before: an exchange that began first would send the head, sleep until the body came and
  // wake again, and the function too. Every end of a call (cancel, timeout, shutdown) aborts
  // its body, so this always runs.
  call->body().WhenReady(std::move(exec));
}

// A container that can take a call: the oldest waiter gets it, else it goes idle.
void HotAgent::OfferLocked(HotContainer& container) {
  SlotQueue& slot = *slots_.at(container.slot_key);
  container.call = nullptr;
  if (draining_) {
    container.state = HotContainer::State::kIdle;  // RetireLocked expects a queued or idle one.
    RetireLocked(container);
    return;
  }
  if (!slot.waiters.empty()) {
    std::shared_ptr<CallState> next = std::move(slot.waiters.front());
    slot.waiters.pop_front();
    --waiting_calls_;
    AssignLocked(container, std::move(next));
    return;
  }
  container.state = HotContainer::State::kIdle;
  container.idle_since = clock_.Now();
  slot.idle.push_back(&container);
  // An idle container is evictable: calls of other functions waiting for room may now be
  // able to make it (fn's launchers found this by polling every 200 ms).
  if (waiting_calls_ > 0) RecheckAllLocked();
}

// Starts removing a container that is idle (queued or not) or failed to launch.
void HotAgent::RetireLocked(HotContainer& container) {
  if (container.state == HotContainer::State::kRemoving) return;
  ForgetSpareLocked(container);
  if (auto it = slots_.find(container.slot_key); it != slots_.end()) {
    std::vector<HotContainer*>& idle = it->second->idle;
    idle.erase(std::remove(idle.begin(), idle.end(), &container), idle.end());
  }
  container.state = HotContainer::State::kRemoving;
  releasing_.memory_bytes += container.reserved.memory_bytes;
  releasing_.milli_cpus += container.reserved.milli_cpus;
  HotContainer* raw = &container;
  tasks_.Post([this, raw] { RemoveTask(raw); });
}

void HotAgent::FailLocked(std::shared_ptr<CallState> call, FnError error) {
  CallResult result = ErrorResult(*call, error, clock_.Now());
  // Delivered on a task: events never run under mu_, nor inline in Submit().
  tasks_.Post([call = std::move(call), result = std::move(result)]() mutable {
    call->Finish(std::move(result));
  });
}

void HotAgent::DropSlotIfEmptyLocked(const std::string& key) {
  // Deleting an empty queue under the same lock that registers waiters closes fn's race
  // where a call joined a queue that its launcher had just deleted.
  if (auto it = slots_.find(key); it != slots_.end() && it->second->Empty()) slots_.erase(it);
}

void HotAgent::CancelCall(const std::shared_ptr<CallState>& call) {
  call->Cancel();  // Aborts the body and, if executing, the exchange (which then finishes it).
  absl::MutexLock lock(&mu_);
  auto it = slots_.find(call->slot_key());
  if (it == slots_.end()) return;
  std::deque<std::shared_ptr<CallState>>& waiters = it->second->waiters;
  auto pos = std::find(waiters.begin(), waiters.end(), call);
  if (pos == waiters.end()) return;
  waiters.erase(pos);
  --waiting_calls_;
  FailLocked(call, fn_errors::Internal("call cancelled by the client"));
  DropSlotIfEmptyLocked(call->slot_key());
}

void HotAgent::Tick() {
  const absl::Time now = clock_.Now();
  absl::MutexLock lock(&mu_);
  for (auto& [key, slot] : slots_) {
    if (slot->launch_deferred) MaybeLaunchLocked(*slot);
  }
  for (auto& [name, c] : containers_) {
    switch (c->state) {
      case HotContainer::State::kIdle:
        if (now - c->idle_since >= c->idle_timeout) {
          RetireLocked(*c);
        } else if (options_.freeze_idle >= absl::ZeroDuration() && !c->paused &&
                   !c->pause_in_flight && now - c->idle_since >= options_.freeze_idle) {
          c->pause_in_flight = true;
          HotContainer* raw = c.get();
          tasks_.Post([this, raw] { PauseTask(raw); });
        }
        break;
      case HotContainer::State::kStarting:
        if (now >= c->init_deadline && !c->init_timed_out) {
          c->init_timed_out = true;
          c->io->CancelWait();  // Non-blocking; the launch task reports the timeout.
        }
        break;
      case HotContainer::State::kBusy:
        if (now >= c->call_deadline && c->call != nullptr && !c->call->timed_out()) {
          c->call->set_timed_out();
          c->io->AbortExchange();  // Non-blocking; the exec task reports fn's 504.
          c->call->body().Abort();
        }
        break;
      case HotContainer::State::kRemoving:
        break;
    }
  }
}

AgentSnapshot HotAgent::Snapshot() {
  AgentSnapshot snap;
  const ResourceSnapshot usage = resources_.Snapshot();
  snap.memory_total_bytes = static_cast<int64_t>(usage.total.memory_bytes);
  snap.memory_reserved_bytes = static_cast<int64_t>(usage.used.memory_bytes);
  snap.cpu_total_mcpus = static_cast<int64_t>(usage.total.milli_cpus);
  snap.cpu_reserved_mcpus = static_cast<int64_t>(usage.used.milli_cpus);
  absl::MutexLock lock(&mu_);
  snap.calls_waiting = waiting_calls_;
  snap.calls_running = running_calls_;
  snap.draining = draining_;
  absl::flat_hash_map<std::string, AgentSnapshot::Slot> slots;
  for (const auto& [key, slot] : slots_) {
    AgentSnapshot::Slot& s = slots[key];
    s.slot_key = key;
    s.waiting_calls = static_cast<int>(slot->waiters.size());
  }
  for (const auto& [name, c] : containers_) {
    AgentSnapshot::Slot& s = slots[c->slot_key];
    s.slot_key = c->slot_key;
    if (c->spare && c->state != HotContainer::State::kRemoving) {
      ++s.spares;
      if (c->state == HotContainer::State::kIdle) {
        snap.memory_evictable_bytes += static_cast<int64_t>(c->reserved.memory_bytes);
        snap.cpu_evictable_mcpus += static_cast<int64_t>(c->reserved.milli_cpus);
      }
      continue;
    }
    switch (c->state) {
      case HotContainer::State::kStarting:
        ++s.starting;
        break;
      case HotContainer::State::kBusy:
        ++s.busy;
        break;
      case HotContainer::State::kRemoving:
        break;
      case HotContainer::State::kIdle:
        (c->paused ? s.paused : s.idle) += 1;
        snap.memory_evictable_bytes += static_cast<int64_t>(c->reserved.memory_bytes);
        snap.cpu_evictable_mcpus += static_cast<int64_t>(c->reserved.milli_cpus);
        break;
    }
  }
  for (auto& [key, s] : slots) snap.slots.push_back(std::move(s));
  std::sort(snap.slots.begin(), snap.slots.end(),
            [](const auto& a, const auto& b) { return a.slot_key < b.slot_key; });
  return snap;
}

void HotAgent::Shutdown(absl::Duration grace) {
  {
    absl::MutexLock lock(&mu_);
    if (!draining_) {
      draining_ = true;
      for (auto& [key, slot] : slots_) {
        for (std::shared_ptr<CallState>& call : slot->waiters) {
          FailLocked(std::move(call), fn_errors::ServerBusy());
        }
        waiting_calls_ -= static_cast<int64_t>(slot->waiters.size());
        slot->waiters.clear();
      }
      for (auto& [name, c] : containers_) {
        if (c->state == HotContainer::State::kIdle) RetireLocked(*c);
        if (c->state == HotContainer::State::kStarting && c->io != nullptr) c->io->CancelWait();
      }
    }
    // Running calls may finish within the grace period; then they are aborted.
    if (!mu_.AwaitWithTimeout(absl::Condition(this, &HotAgent::NoRunningCallsLocked), grace)) {
      LOG(WARNING) << "shutdown: aborting " << running_calls_ << " running calls";
      for (auto& [name, c] : containers_) {
        if (c->state == HotContainer::State::kBusy) {
          c->io->AbortExchange();
          if (c->call != nullptr) c->call->body().Abort();
        }
      }
      mu_.Await(absl::Condition(this, &HotAgent::NoRunningCallsLocked));
    }
    mu_.Await(absl::Condition(this, &HotAgent::NoContainersLocked));
  }
  tasks_.WaitIdle();
}

}  // namespace fnrunner
