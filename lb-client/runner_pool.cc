#include "lb-client/runner_pool.h"

#include <fstream>
#include <sstream>
#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "lb-client/capacity_watch.h"

namespace fnrunner {

struct RunnerPool::Entry {
  uint64_t id = 0;  // never reused, so late callbacks of a removed runner find nothing
  std::shared_ptr<RunnerClient> client;
  bool healthy = true;
  bool probing = false;  // a Status probe is in flight
  std::shared_ptr<const capacity::CapacitySnapshot> capacity;
  absl::Time capacity_received = absl::InfinitePast();
  // The open watch, if any. watch_id tells a late end of an older watch from this one's.
  std::shared_ptr<CapacityWatch> watch;
  bool watching = false;
  uint64_t watch_id = 0;
  absl::Time watch_not_before = absl::InfinitePast();  // after UNIMPLEMENTED
};

RunnerPool::RunnerPool(RunnerPoolOptions options) : options_(std::move(options)) {
  if (options_.tick_interval > absl::ZeroDuration()) ticker_ = std::thread([this] { TickLoop(); });
}

RunnerPool::~RunnerPool() {
  std::vector<std::shared_ptr<CapacityWatch>> watches;
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  if (ticker_.joinable()) ticker_.join();
  {
    absl::MutexLock lock(&mu_);
    for (const auto& entry : entries_) {
      if (entry->watch) watches.push_back(entry->watch);
    }
  }
  // Outside the lock: a cancel may run the watch's end callback at once, which locks.
  for (const auto& watch : watches) watch->Cancel();
  absl::MutexLock lock(&mu_);
  auto idle = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return pending_ == 0; };
  mu_.Await(absl::Condition(&idle));
}

void RunnerPool::TickLoop() {
  absl::MutexLock lock(&mu_);
  while (!mu_.AwaitWithTimeout(absl::Condition(&stopping_), options_.tick_interval)) {
    mu_.Unlock();  // Never tick under our own lock.
    Tick();
    mu_.Lock();
  }
}

absl::Status RunnerPool::Add(const std::string& address) {
  absl::StatusOr<std::unique_ptr<RunnerClient>> client =
      RunnerClient::Create(address, options_.channel);
  if (!client.ok()) return client.status();
  absl::MutexLock lock(&mu_);
  for (const auto& entry : entries_) {
    if (entry->client->address() == address) {
      return absl::AlreadyExistsError(absl::StrCat("runner ", address, " is already in the pool"));
    }
  }
  auto entry = std::make_unique<Entry>();
  entry->id = next_id_++;
  entry->client = std::shared_ptr<RunnerClient>(*std::move(client));
  entries_.push_back(std::move(entry));
  ++version_;
  return absl::OkStatus();
}

absl::Status RunnerPool::Remove(const std::string& address) {
  std::shared_ptr<RunnerClient> client;
  std::shared_ptr<CapacityWatch> watch;
  {
    absl::MutexLock lock(&mu_);
    auto it = entries_.begin();
    while (it != entries_.end() && (*it)->client->address() != address) ++it;
    if (it == entries_.end()) {
      return absl::NotFoundError(absl::StrCat("runner ", address, " is not in the pool"));
    }
    client = std::move((*it)->client);
    watch = std::move((*it)->watch);
    entries_.erase(it);
    ++version_;
  }
  // Outside the lock and in this order: the watch's end callback locks the pool, and the
  // client's destructor waits for its watch to be over.
  if (watch) watch->Cancel();  // Its end callback finds no entry and only counts itself done.
  watch.reset();
  client.reset();
  return absl::OkStatus();
}

std::vector<RunnerState> RunnerPool::Runners() {
  absl::MutexLock lock(&mu_);
  std::vector<RunnerState> out;
  out.reserve(entries_.size());
  for (const auto& entry : entries_) {
    out.push_back(RunnerState{.client = entry->client,
                              .healthy = entry->healthy,
                              .capacity = entry->capacity,
                              .capacity_received = entry->capacity_received});
  }
  return out;
}

uint64_t RunnerPool::version() {
  absl::MutexLock lock(&mu_);
  return version_;
}

uint64_t RunnerPool::AwaitChange(uint64_t seen, absl::Time deadline) {
  absl::MutexLock lock(&mu_);
  auto changed = [this, seen]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return version_ != seen; };
  mu_.AwaitWithDeadline(absl::Condition(&changed), deadline);
  return version_;
}

void RunnerPool::AwaitFirstReports(absl::Time deadline) {
  absl::MutexLock lock(&mu_);
  auto reported = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    for (const auto& entry : entries_) {
      if (entry->probing) return false;
      if (options_.watch_capacity && entry->watching && entry->capacity == nullptr) return false;
    }
    return true;
  };
  mu_.AwaitWithDeadline(absl::Condition(&reported), deadline);
}

void RunnerPool::ReportUnavailable(const std::string& address) {
  absl::MutexLock lock(&mu_);
  for (const auto& entry : entries_) {
    if (entry->client->address() == address && entry->healthy) {
      entry->healthy = false;
      ++version_;
    }
  }
}

RunnerPool::Entry* RunnerPool::FindLocked(uint64_t id) {
  for (const auto& entry : entries_) {
    if (entry->id == id) return entry.get();
  }
  return nullptr;
}

void RunnerPool::Tick() {
  struct Work {
    std::shared_ptr<RunnerClient> client;
    uint64_t id;
    uint64_t watch_id;  // 0: no watch to open
    bool probe;
  };
  std::vector<Work> work;
  {
    absl::MutexLock lock(&mu_);
    if (stopping_) return;
    const absl::Time now = absl::Now();
    for (const auto& entry : entries_) {
      Work w{entry->client, entry->id, 0, false};
      if (!entry->probing) {
        entry->probing = true;
        w.probe = true;
        ++pending_;
      }
      if (options_.watch_capacity && !entry->watching && now >= entry->watch_not_before) {
        entry->watching = true;
        w.watch_id = ++entry->watch_id;
        ++pending_;
      }
      if (w.probe || w.watch_id != 0) work.push_back(std::move(w));
    }
  }
  // gRPC calls start outside the lock: their callbacks lock, and may run inline.
  for (Work& w : work) {
    const uint64_t id = w.id;
    if (w.probe) {
      w.client->StatusAsync(options_.status_timeout,
                            [this, id](absl::StatusOr<RunnerStatus> status) {
                              // A status image that failed counts as down too.
                              OnProbe(id, status.ok() && !status->failed());
                            });
    }
    if (w.watch_id != 0) {
      const uint64_t watch_id = w.watch_id;
      std::shared_ptr<CapacityWatch> watch = w.client->Watch(
          options_.watch_max_duration,
          [this, id](const capacity::CapacitySnapshot& s) { OnSnapshot(id, s); },
          [this, id, watch_id](absl::Status status) { OnWatchEnd(id, watch_id, status); });
      bool current = false;
      {
        absl::MutexLock lock(&mu_);
        Entry* entry = FindLocked(id);
        // Kept only if it is still the runner's current watch: it may have ended already, or
        // the runner may have been removed meanwhile (then it must not run to its deadline).
        current = entry != nullptr && entry->watching && entry->watch_id == watch_id;
        if (current) entry->watch = watch;
      }
      if (!current) watch->Cancel();
    }
  }
}

void RunnerPool::OnProbe(uint64_t id, bool ok) {
  {
    absl::MutexLock lock(&mu_);
    if (Entry* entry = FindLocked(id); entry != nullptr) {
      entry->probing = false;
      if (entry->healthy != ok) {
        entry->healthy = ok;
        ++version_;
      }
    }
  }
  OperationDone();
}

void RunnerPool::OnSnapshot(uint64_t id, const capacity::CapacitySnapshot& snapshot) {
  auto copy = std::make_shared<const capacity::CapacitySnapshot>(snapshot);
  absl::MutexLock lock(&mu_);
  if (Entry* entry = FindLocked(id); entry != nullptr) {
    // Keep-alives (same epoch and seq) refresh the age but wake no one: nothing changed.
    const bool changed = entry->capacity == nullptr ||
                         entry->capacity->epoch() != copy->epoch() ||
                         entry->capacity->seq() != copy->seq();
    entry->capacity = std::move(copy);
    entry->capacity_received = absl::Now();
    if (changed) ++version_;
  }
}

void RunnerPool::OnWatchEnd(uint64_t id, uint64_t watch_id, const absl::Status& status) {
  {
    absl::MutexLock lock(&mu_);
    Entry* entry = FindLocked(id);
    if (entry != nullptr && entry->watch_id == watch_id) {
      entry->watching = false;
      entry->watch.reset();
      if (status.code() == absl::StatusCode::kUnimplemented) {
        // A stock fn runner: placers probe it with NACKs instead.
        entry->watch_not_before = absl::Now() + options_.watch_unsupported_retry;
      }
      // Its capacity is unknown until a new watch reports, except after the regular end of a
      // watch's deadline, when the next Tick reopens it at once.
      if (status.code() != absl::StatusCode::kDeadlineExceeded && entry->capacity) {
        entry->capacity.reset();
        entry->capacity_received = absl::InfinitePast();
        ++version_;
      }
    }
  }
  OperationDone();
}

void RunnerPool::OperationDone() {
  absl::MutexLock lock(&mu_);
  --pending_;
}

absl::StatusOr<std::vector<std::string>> ParseRunnerList(absl::string_view text) {
  std::vector<std::string> out;
  absl::flat_hash_set<std::string> seen;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    line = line.substr(0, line.find('#'));
    for (absl::string_view item : absl::StrSplit(line, absl::ByAnyChar(", \t\r"),
                                                 absl::SkipEmpty())) {
      std::string address(item);
      if (absl::Status valid = ValidateRunnerAddress(address); !valid.ok()) return valid;
      if (!seen.insert(address).second) {
        return absl::InvalidArgumentError(absl::StrCat("runner ", address, " is listed twice"));
      }
      out.push_back(std::move(address));
    }
  }
  return out;
}

absl::StatusOr<std::vector<std::string>> ReadRunnerFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read runner file ", path));
  std::stringstream text;
  text << in.rdbuf();
  return ParseRunnerList(text.str());
}

}  // namespace fnrunner
