#include "runner/capacity_service.h"

#include <algorithm>
#include <optional>
#include <utility>
#include <vector>

#include "absl/random/random.h"
#include "absl/strings/str_format.h"
#include "google/protobuf/util/message_differencer.h"
#include "runner/ticker.h"

namespace fnrunner {

using capacity::CapacitySnapshot;

// One Watch stream (STYLE §10 for a write-only stream). Self-deleting, the one `new` without
// an owner: it is deleted when gRPC is done with it (OnDone) and no push holds it. Reactions
// and Offer() run concurrently and never block.
class CapacityService::WatchReactor final
    : public grpc::ServerWriteReactor<CapacitySnapshot> {
 public:
  explicit WatchReactor(CapacityService& service) : service_(service) {}

  // Writes `snapshot` next, replacing one that waits behind the write in flight. Older
  // snapshots than the newest offered (a smaller seq) are dropped, so two racing pushes cannot
  // reorder what the watcher sees. Does nothing once the stream is ending.
  void Offer(const CapacitySnapshot& snapshot) ABSL_LOCKS_EXCLUDED(mu_) {
    const CapacitySnapshot* start = nullptr;
    {
      absl::MutexLock lock(&mu_);
      if (ending_ || snapshot.seq() < newest_seq_) return;
      newest_seq_ = snapshot.seq();
      if (writing_) {
        next_ = snapshot;
        return;
      }
      writing_ = true;
      current_ = snapshot;
      start = &current_;
    }
    StartWrite(start);
  }

  // Ends the stream with `status` as soon as no write is in flight (the runner is shutting
  // down). Does nothing if it is already ending.
  void FinishSoon(grpc::Status status) ABSL_LOCKS_EXCLUDED(mu_) {
    std::optional<grpc::Status> finish;
    {
      absl::MutexLock lock(&mu_);
      if (ending_) return;
      ending_ = true;
      finish_status_ = std::move(status);
      next_.reset();
      if (!writing_) finish = TakeFinishLocked();
    }
    if (finish) Finish(*std::move(finish));
  }

  // Only while the service's mu_ is held and this reactor is in its watcher set.
  void Ref() ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    ++refs_;
  }
  void Unref() ABSL_LOCKS_EXCLUDED(mu_) {
    bool last = false;
    {
      absl::MutexLock lock(&mu_);
      last = --refs_ == 0;
    }
    if (last) delete this;
  }

 private:
  ~WatchReactor() override = default;  // Only Unref() deletes.

  void OnWriteDone(bool ok) override ABSL_LOCKS_EXCLUDED(mu_) {
    const CapacitySnapshot* start = nullptr;
    std::optional<grpc::Status> finish;
    {
      absl::MutexLock lock(&mu_);
      writing_ = false;
      // A failed write means the stream is broken; OnCancel usually follows, but finish here
      // too so no path depends on it.
      if (!ok) ending_ = true;
      if (!ending_ && next_) {
        current_ = *std::move(next_);
        next_.reset();
        writing_ = true;
        start = &current_;
      } else if (ending_) {
        finish = TakeFinishLocked();
      }
    }
    if (start != nullptr) {
      StartWrite(start);
    } else if (finish) {
      Finish(*std::move(finish));  // The last use of `this`: OnDone may run at once.
    }
  }

  void OnCancel() override ABSL_LOCKS_EXCLUDED(mu_) {
    std::optional<grpc::Status> finish;
    {
      absl::MutexLock lock(&mu_);
      ending_ = true;
      next_.reset();
      // With a write in flight, OnWriteDone finishes.
      if (!writing_) finish = TakeFinishLocked();
    }
    if (finish) Finish(*std::move(finish));
  }

  void OnDone() override {
    // After this no push can take a new reference; pushes in progress hold theirs.
    service_.RemoveWatcher(this);
    Unref();
  }

  // The status to Finish() with now, once: FinishSoon's, else CANCELLED (the client is gone
  // and ignores it).
  std::optional<grpc::Status> TakeFinishLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (finish_called_) return std::nullopt;
    finish_called_ = true;
    return finish_status_.value_or(grpc::Status::CANCELLED);
  }

  CapacityService& service_;
  absl::Mutex mu_;
  CapacitySnapshot current_;  // gRPC's between StartWrite() and OnWriteDone().
  std::optional<CapacitySnapshot> next_ ABSL_GUARDED_BY(mu_);
  uint64_t newest_seq_ ABSL_GUARDED_BY(mu_) = 0;
  bool writing_ ABSL_GUARDED_BY(mu_) = false;  // At most one write in flight.
  bool ending_ ABSL_GUARDED_BY(mu_) = false;   // Cancelled or broken: write nothing more.
  bool finish_called_ ABSL_GUARDED_BY(mu_) = false;
  std::optional<grpc::Status> finish_status_ ABSL_GUARDED_BY(mu_);
  int refs_ ABSL_GUARDED_BY(mu_) = 1;  // gRPC's (dropped in OnDone) + one per push in progress
};

CapacitySnapshot CapacityContent(const AgentSnapshot& s) {
  CapacitySnapshot out;
  out.set_draining(s.draining);
  out.set_memory_total_bytes(s.memory_total_bytes);
  out.set_memory_reserved_bytes(s.memory_reserved_bytes);
  out.set_memory_evictable_bytes(s.memory_evictable_bytes);
  out.set_cpu_total_mcpus(s.cpu_total_mcpus);
  out.set_cpu_reserved_mcpus(s.cpu_reserved_mcpus);
  out.set_cpu_evictable_mcpus(s.cpu_evictable_mcpus);
  out.set_calls_running(s.calls_running);
  out.set_calls_waiting(s.calls_waiting);
  std::vector<const AgentSnapshot::Slot*> slots;
  slots.reserve(s.slots.size());
  for (const AgentSnapshot::Slot& slot : s.slots) slots.push_back(&slot);
  // Sorted, so the same state always compares equal whatever order the agent listed it in.
  std::sort(slots.begin(), slots.end(),
            [](const auto* a, const auto* b) { return a->slot_key < b->slot_key; });
  for (const AgentSnapshot::Slot* slot : slots) {
    capacity::SlotCapacity* out_slot = out.add_slots();
    out_slot->set_slot_key(slot->slot_key);
    out_slot->set_idle(slot->idle);
    out_slot->set_paused(slot->paused);
    out_slot->set_busy(slot->busy);
    out_slot->set_starting(slot->starting);
    out_slot->set_waiting_calls(slot->waiting_calls);
    out_slot->set_spares(slot->spares);
  }
  return out;
}

namespace {

constexpr char kShuttingDown[] = "runner shutting down";

std::string NewEpoch() {
  absl::BitGen gen;
  return absl::StrFormat("%016x", absl::Uniform<uint64_t>(gen));
}

}  // namespace

CapacityService::CapacityService(CapacityServiceOptions options, Agent& agent, Clock& clock)
    : options_(std::move(options)), agent_(agent), clock_(clock), epoch_(NewEpoch()) {
  if (options_.poll_interval > absl::ZeroDuration()) {
    ticker_ = std::make_unique<Ticker>(options_.poll_interval, [this] { Tick(); });
  }
}

CapacityService::~CapacityService() { ticker_.reset(); }

void CapacityService::Tick() { Refresh(/*keepalive=*/true); }

CapacitySnapshot CapacityService::Refresh(bool keepalive) {
  std::vector<WatchReactor*> targets;
  CapacitySnapshot snapshot;
  {
    absl::MutexLock poll_lock(&poll_mu_);
    CapacitySnapshot content = CapacityContent(agent_.Snapshot());
    const absl::Time now = clock_.Now();
    absl::MutexLock lock(&mu_);
    // Compare content only: the identity, seq and time fields of latest_ are not in `content`.
    CapacitySnapshot previous = latest_;
    previous.clear_runner_id();
    previous.clear_epoch();
    previous.clear_seq();
    previous.clear_taken_at_unix_nanos();
    const bool changed = latest_.seq() == 0 ||
                         !google::protobuf::util::MessageDifferencer::Equals(previous, content);
    if (changed) {
      const uint64_t seq = latest_.seq() + 1;
      latest_ = std::move(content);
      latest_.set_runner_id(options_.runner_id);
      latest_.set_epoch(epoch_);
      latest_.set_seq(seq);
    }
    latest_.set_taken_at_unix_nanos(absl::ToUnixNanos(now));
    if (changed || (keepalive && now - last_push_ >= options_.keepalive_interval)) {
      last_push_ = now;
      targets.reserve(watchers_.size());
      for (WatchReactor* watcher : watchers_) {
        watcher->Ref();
        targets.push_back(watcher);
      }
    }
    snapshot = latest_;
  }
  // Outside every lock: a write may complete (and run reactions) inline.
  for (WatchReactor* watcher : targets) {
    watcher->Offer(snapshot);
    watcher->Unref();
  }
  return snapshot;
}

void CapacityService::Shutdown() {
  std::vector<WatchReactor*> targets;
  {
    absl::MutexLock lock(&mu_);
    shut_down_ = true;
    for (WatchReactor* watcher : watchers_) {
      watcher->Ref();
      targets.push_back(watcher);
    }
  }
  for (WatchReactor* watcher : targets) {
    watcher->FinishSoon(grpc::Status(grpc::StatusCode::UNAVAILABLE, kShuttingDown));
    watcher->Unref();
  }
}

void CapacityService::RemoveWatcher(WatchReactor* watcher) {
  absl::MutexLock lock(&mu_);
  watchers_.erase(watcher);
}

int CapacityService::watchers() {
  absl::MutexLock lock(&mu_);
  return static_cast<int>(watchers_.size());
}

bool CapacityService::AwaitWatchers(int n, absl::Duration timeout) {
  absl::MutexLock lock(&mu_);
  auto reached = [this, n]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return static_cast<int>(watchers_.size()) == n;
  };
  return mu_.AwaitWithTimeout(absl::Condition(&reached), timeout);
}

grpc::ServerWriteReactor<CapacitySnapshot>* CapacityService::Watch(
    grpc::CallbackServerContext* /*context*/, const capacity::WatchRequest* /*request*/) {
  auto* reactor = new WatchReactor(*this);
  // A fresh snapshot for the newcomer. Pushes that start after the insertion below reach it
  // too; Offer() drops whichever of them and `first` is older.
  Refresh(/*keepalive=*/false);
  CapacitySnapshot first;
  bool refused = false;
  {
    absl::MutexLock lock(&mu_);
    refused = shut_down_;
    if (!refused) {
      watchers_.insert(reactor);
      first = latest_;
      // Held across the Offer below: the stream could end (and OnDone run) before it.
      reactor->Ref();
    }
  }
  if (refused) {
    // Not a watcher: OnDone's RemoveWatcher finds nothing, its Unref deletes the reactor.
    reactor->FinishSoon(grpc::Status(grpc::StatusCode::UNAVAILABLE, kShuttingDown));
    return reactor;
  }
  reactor->Offer(first);
  reactor->Unref();
  return reactor;
}

grpc::ServerUnaryReactor* CapacityService::Get(grpc::CallbackServerContext* context,
                                               const capacity::GetRequest* /*request*/,
                                               CapacitySnapshot* response) {
  *response = Refresh(/*keepalive=*/false);
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

}  // namespace fnrunner
