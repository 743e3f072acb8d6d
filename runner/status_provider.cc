#include "runner/status_provider.h"

#include <sys/stat.h>

#include <utility>

#include "absl/random/random.h"
#include "absl/strings/str_cat.h"
#include "agent/call.h"
#include "glog/logging.h"
#include "runner/engage_tracker.h"
#include "runner/metrics.h"
#include "runner/wire_format.h"

namespace fnrunner {
namespace {

constexpr size_t kMaxStatusBodyBytes = 1 << 20;  // echoed to the caller: keep it modest

// A 26-character, time-ordered id like fn's (Crockford base32 of 48 bits of milliseconds and
// 80 random bits).
std::string NewCallId(absl::Time now, absl::BitGen& gen) {
  static constexpr char kAlphabet[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
  const uint64_t ms = static_cast<uint64_t>(absl::ToUnixMillis(now)) & ((uint64_t{1} << 48) - 1);
  const uint64_t hi = absl::Uniform<uint64_t>(gen) & 0xffff;  // 16 bits
  const uint64_t lo = absl::Uniform<uint64_t>(gen);           // 64 bits
  std::string id(26, '0');
  // 128 bits = ms(48) | hi(16) | lo(64), written as 26 base32 digits (130 bits, top 2 zero).
  for (int i = 25; i >= 0; --i) {
    const int bit = (25 - i) * 5;  // lowest bit of this digit
    uint64_t digit = 0;
    for (int b = 0; b < 5; ++b) {
      const int n = bit + b;
      uint64_t v = 0;
      if (n < 64) {
        v = (lo >> n) & 1;
      } else if (n < 80) {
        v = (hi >> (n - 64)) & 1;
      } else if (n < 128) {
        v = (ms >> (n - 80)) & 1;
      }
      digit |= v << b;
    }
    id[i] = kAlphabet[digit];
  }
  return id;
}

// Collects the status call's response; the worker waits on it.
class StatusCallEvents final : public CallEvents {
 public:
  void OnBodyWanted() override {}  // The whole body goes in one piece.
  void OnExecutionStarted() override {}
  void OnResponseStart(int status, std::vector<HttpHeaderField>) override {
    absl::MutexLock lock(&mu_);
    status_ = status;
  }
  bool OnResponseData(absl::string_view data) override {
    absl::MutexLock lock(&mu_);
    const size_t room = kMaxStatusBodyBytes - std::min(kMaxStatusBodyBytes, body_.size());
    const absl::string_view kept = data.substr(0, room);
    body_.append(kept.data(), kept.size());
    return true;
  }
  void OnFinished(CallResult result) override {
    absl::MutexLock lock(&mu_);
    result_ = std::move(result);
  }

  // Blocks until OnFinished() or `timeout`; true if finished.
  bool Wait(absl::Duration timeout) {
    absl::MutexLock lock(&mu_);
    auto done = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return result_.has_value(); };
    return mu_.AwaitWithTimeout(absl::Condition(&done), timeout);
  }
  // The following after Wait() returned true.
  CallOutcome Outcome() {
    absl::MutexLock lock(&mu_);
    if (result_->success) return ClassifyOutcome(nullptr, false);
    const FnError error{result_->error_code, result_->error_message, result_->user_error};
    return ClassifyOutcome(&error, false);
  }
  absl::Duration Scheduler() {
    absl::MutexLock lock(&mu_);
    return IsSet(result_->started_at) ? result_->scheduler : absl::ZeroDuration();
  }
  absl::Duration Execution() {
    absl::MutexLock lock(&mu_);
    return IsSet(result_->started_at) ? result_->execution : absl::ZeroDuration();
  }
  void Fill(RunnerStatus& status) {
    absl::MutexLock lock(&mu_);
    const CallResult& r = *result_;
    if (!r.success) {
      status.set_failed(true);
      status.set_errorcode(r.error_code);
      status.set_errorstr(r.error_message);
    } else if (status_ >= 400) {
      status.set_failed(true);
      status.set_errorcode(status_);
    }
    status.set_details(body_);
    if (IsSet(r.created_at)) {
      status.set_createdat(FormatFnDate(r.created_at));
      if (IsSet(r.started_at)) {
        status.set_startedat(FormatFnDate(r.started_at));
        status.set_completedat(FormatFnDate(r.completed_at));
        status.set_schedulerduration(absl::ToInt64Nanoseconds(r.scheduler));
        status.set_executionduration(absl::ToInt64Nanoseconds(r.execution));
      }
    }
    status.set_imagepullwaitduration(absl::ToInt64Nanoseconds(r.image_pull_wait));
    status.set_ctrcreateduration(absl::ToInt64Nanoseconds(r.container_create));
    status.set_initstarttime(absl::ToInt64Nanoseconds(r.init_start));
  }

 private:
  absl::Mutex mu_;
  int status_ ABSL_GUARDED_BY(mu_) = 0;
  std::string body_ ABSL_GUARDED_BY(mu_);
  std::optional<CallResult> result_ ABSL_GUARDED_BY(mu_);
};

}  // namespace

std::map<std::string, std::string> CapacitySummary(const AgentSnapshot& s) {
  int64_t starting = 0, idle = 0, paused = 0, busy = 0;
  for (const AgentSnapshot::Slot& slot : s.slots) {
    starting += slot.starting;
    idle += slot.idle;
    paused += slot.paused;
    busy += slot.busy;
  }
  return {
      {"fnrunner.mem.total", absl::StrCat(s.memory_total_bytes)},
      {"fnrunner.mem.reserved", absl::StrCat(s.memory_reserved_bytes)},
      {"fnrunner.mem.evictable", absl::StrCat(s.memory_evictable_bytes)},
      {"fnrunner.cpu.total", absl::StrCat(s.cpu_total_mcpus)},
      {"fnrunner.cpu.reserved", absl::StrCat(s.cpu_reserved_mcpus)},
      {"fnrunner.cpu.evictable", absl::StrCat(s.cpu_evictable_mcpus)},
      {"fnrunner.calls.running", absl::StrCat(s.calls_running)},
      {"fnrunner.calls.waiting", absl::StrCat(s.calls_waiting)},
      {"fnrunner.containers.starting", absl::StrCat(starting)},
      {"fnrunner.containers.idle", absl::StrCat(idle)},
      {"fnrunner.containers.paused", absl::StrCat(paused)},
      {"fnrunner.containers.busy", absl::StrCat(busy)},
      {"fnrunner.draining", s.draining ? "true" : "false"},
  };
}

StatusProvider::StatusProvider(StatusOptions options, Agent& agent, EngageTracker& tracker,
                               RunnerMetrics& metrics, Clock& clock)
    : options_(std::move(options)),
      agent_(agent),
      tracker_(tracker),
      metrics_(metrics),
      clock_(clock) {
  if (!options_.image.empty()) worker_ = std::thread([this] { WorkerLoop(); });
}

StatusProvider::~StatusProvider() {
  {
    absl::MutexLock lock(&mu_);
    stop_ = true;
    // Cancel() never blocks; the worker clears the pointer before destroying the handle.
    if (running_handle_ != nullptr) running_handle_->Cancel();
  }
  if (worker_.joinable()) worker_.join();
  std::vector<Waiter> waiters;
  {
    absl::MutexLock lock(&mu_);
    waiters = std::move(waiters_);
  }
  for (Waiter& waiter : waiters) {
    RunnerStatus status;
    status.set_failed(true);
    status.set_errorstr("runner shutting down");
    waiter.done(Live(std::move(status), /*record_metric=*/false));
  }
}

void StatusProvider::Get(std::string request_json, Done done) {
  if (options_.image.empty()) {
    done(Live(RunnerStatus(), /*record_metric=*/false));
    return;
  }
  std::optional<RunnerStatus> cached;
  {
    absl::MutexLock lock(&mu_);
    if (cache_ && clock_.Now() < expiry_) {
      cached = *cache_;
      cached->set_cached(cache_read_);
      cache_read_ = true;
    } else {
      waiters_.push_back({std::move(done)});
      if (!running_ && !requested_body_) requested_body_ = std::move(request_json);
      return;
    }
  }
  done(Live(*std::move(cached), /*record_metric=*/true));
}

void StatusProvider::WorkerLoop() {
  while (true) {
    std::string body;
    {
      absl::MutexLock lock(&mu_);
      auto wanted = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
        return stop_ || requested_body_.has_value();
      };
      mu_.Await(absl::Condition(&wanted));
      if (stop_) return;
      body = *std::move(requested_body_);
      requested_body_.reset();
      running_ = true;
    }
    RunnerStatus result = RunStatusCall(body);
    std::vector<std::pair<Done, RunnerStatus>> answers;
    {
      absl::MutexLock lock(&mu_);
      running_ = false;
      cache_ = result;
      // fn counts the cache lifetime from the end of the run.
      expiry_ = clock_.Now() + options_.cache_ttl;
      cache_read_ = false;
      for (Waiter& waiter : waiters_) {
        RunnerStatus status = *cache_;
        status.set_cached(cache_read_);
        cache_read_ = true;
        answers.emplace_back(std::move(waiter.done), std::move(status));
      }
      waiters_.clear();
    }
    for (auto& [done, status] : answers) done(Live(std::move(status), /*record_metric=*/true));
  }
}

RunnerStatus StatusProvider::RunStatusCall(const std::string& body) {
  RunnerStatus status;
  if (!options_.barrier_path.empty()) {
    struct stat st;
    if (lstat(options_.barrier_path.c_str(), &st) != 0) status.set_isnetworkdisabled(true);
  }
  absl::BitGen gen;
  Call call;
  call.id = CallId{NewCallId(clock_.Now(), gen)};
  call.image = options_.image;
  call.type = CallType::kSync;
  call.method = "GET";
  call.url = "/";
  call.timeout = options_.call_timeout;
  call.idle_timeout = options_.call_idle_timeout;
  // TODO(runner): run it without network when isNetworkDisabled, once Call can say so.
  status.set_id(call.id.value);
  VLOG(1) << "status call " << call.id.value << " image=" << call.image;

  StatusCallEvents events;
  metrics_.CallSubmitted();
  std::unique_ptr<CallHandle> handle = agent_.Submit(std::move(call), events);
  handle->AppendBody(body, /*last=*/true);
  {
    absl::MutexLock lock(&mu_);
    running_handle_ = handle.get();
    if (stop_) handle->Cancel();
  }
  if (!events.Wait(options_.run_bound)) {
    LOG(WARNING) << "status call " << status.id() << " still running after "
                 << options_.run_bound << "; cancelling it";
    handle->Cancel();
    events.Wait(absl::InfiniteDuration());  // The agent always reports the cancelled call.
  }
  {
    absl::MutexLock lock(&mu_);
    running_handle_ = nullptr;
  }
  handle.reset();
  events.Fill(status);
  metrics_.CallEnded(events.Outcome(), events.Scheduler(), events.Execution());
  return status;
}

RunnerStatus StatusProvider::Live(RunnerStatus status, bool record_metric) {
  const EngageTracker::Counters counters = tracker_.counters();
  status.set_active(counters.active);
  status.set_requestsreceived(counters.requests_received);
  status.set_requestshandled(counters.requests_handled);
  for (auto& [key, value] : CapacitySummary(agent_.Snapshot())) {
    (*status.mutable_customstatus())[key] = value;
  }
  if (record_metric) {
    metrics_.StatusCall(status.cached() ? "true" : "false", status.failed() ? "false" : "true",
                        status.isnetworkdisabled() ? "false" : "true");
  }
  return status;
}

}  // namespace fnrunner
