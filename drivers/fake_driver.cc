#include "drivers/fake_driver.h"

#include <utility>

#include "absl/strings/str_cat.h"

namespace fnrunner {
namespace {

absl::Status NoSuchContainer(const ContainerId& id) {
  return absl::NotFoundError(absl::StrCat("no such container: ", id.value));
}

}  // namespace

FakeDriver::~FakeDriver() {
  std::vector<LogSink*> to_close;
  {
    absl::MutexLock lock(&mu_);
    for (auto& [id, entry] : containers_) {
      if (LogSink* sink = TakeSinkToCloseLocked(entry)) to_close.push_back(sink);
    }
  }
  for (LogSink* sink : to_close) sink->OnClosed();
}

void FakeDriver::FailOnce(Method method, absl::Status status) {
  absl::MutexLock lock(&mu_);
  knobs_[method].fail_once = std::move(status);
}

void FakeDriver::FailAlways(Method method, absl::Status status) {
  absl::MutexLock lock(&mu_);
  knobs_[method].fail_always = std::move(status);
}

void FakeDriver::ClearFailures(Method method) {
  absl::MutexLock lock(&mu_);
  knobs_[method].fail_once.reset();
  knobs_[method].fail_always.reset();
}

void FakeDriver::Stall(Method method, absl::Notification* release) {
  absl::MutexLock lock(&mu_);
  knobs_[method].stall = release;
}

bool FakeDriver::AwaitStalled(Method method, int count, absl::Duration timeout) {
  absl::MutexLock lock(&mu_);
  auto enough = [this, method, count]()
                    ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return knobs_[method].stalled >= count; };
  return mu_.AwaitWithTimeout(absl::Condition(&enough), timeout);
}

void FakeDriver::AddImage(const std::string& image, ImageInfo info) {
  absl::MutexLock lock(&mu_);
  if (info.id.empty()) info.id = "sha256:" + image;
  images_[image] = std::move(info);
}

void FakeDriver::SetPullable(const std::string& image, ImageInfo info) {
  absl::MutexLock lock(&mu_);
  if (info.id.empty()) info.id = "sha256:" + image;
  pullable_[image] = std::move(info);
}

void FakeDriver::AddOrphan(ContainerSummary orphan) {
  absl::MutexLock lock(&mu_);
  orphans_.push_back(std::move(orphan));
}

void FakeDriver::SetStats(const ContainerId& id, ContainerStats stats) {
  absl::MutexLock lock(&mu_);
  if (auto it = containers_.find(id); it != containers_.end()) {
    it->second.container.stats = stats;
  }
}

absl::Status FakeDriver::Enter(Method method) {
  absl::Notification* stall = nullptr;
  {
    absl::MutexLock lock(&mu_);
    Knobs& knobs = knobs_[method];
    ++knobs.calls;
    stall = knobs.stall;
    if (stall != nullptr) ++knobs.stalled;
  }
  if (stall != nullptr) {
    stall->WaitForNotification();
  }
  absl::MutexLock lock(&mu_);
  Knobs& knobs = knobs_[method];
  if (stall != nullptr) --knobs.stalled;
  if (knobs.fail_once) {
    absl::Status status = *std::move(knobs.fail_once);
    knobs.fail_once.reset();
    return status;
  }
  if (knobs.fail_always) return *knobs.fail_always;
  return absl::OkStatus();
}

LogSink* FakeDriver::TakeSinkToCloseLocked(Entry& entry) {
  if (entry.sink == nullptr || entry.closed) return nullptr;
  entry.closed = true;
  return entry.sink;
}

absl::Status FakeDriver::EmitLog(const ContainerId& id, LogStream stream, absl::string_view line) {
  LogSink* sink = nullptr;
  {
    absl::MutexLock lock(&mu_);
    auto it = containers_.find(id);
    if (it == containers_.end()) return NoSuchContainer(id);
    if (it->second.sink == nullptr || it->second.closed) {
      return absl::FailedPreconditionError(absl::StrCat("no log sink on ", id.value));
    }
    sink = it->second.sink;
    ++it->second.emitting;
  }
  sink->OnLine(stream, line);
  absl::MutexLock lock(&mu_);
  // Remove() waits for emitting == 0 before it erases the entry, so it is still here.
  --containers_.find(id)->second.emitting;
  return absl::OkStatus();
}

absl::Status FakeDriver::SimulateExit(const ContainerId& id, ExitInfo exit) {
  LogSink* to_close = nullptr;
  {
    absl::MutexLock lock(&mu_);
    auto it = containers_.find(id);
    if (it == containers_.end()) return NoSuchContainer(id);
    it->second.container.state = "exited";
    it->second.container.exit = exit;
    to_close = TakeSinkToCloseLocked(it->second);
  }
  if (to_close != nullptr) to_close->OnClosed();
  return absl::OkStatus();
}

std::vector<ContainerSpec> FakeDriver::created_specs() {
  absl::MutexLock lock(&mu_);
  return created_specs_;
}

std::optional<FakeDriver::Container> FakeDriver::container(const ContainerId& id) {
  absl::MutexLock lock(&mu_);
  auto it = containers_.find(id);
  if (it == containers_.end()) return std::nullopt;
  return it->second.container;
}

std::vector<ContainerId> FakeDriver::live_containers() {
  absl::MutexLock lock(&mu_);
  std::vector<ContainerId> out;
  for (const auto& [id, entry] : containers_) out.push_back(id);
  return out;
}

int FakeDriver::calls(Method method) {
  absl::MutexLock lock(&mu_);
  return knobs_[method].calls;
}

std::vector<std::string> FakeDriver::pulled_images() {
  absl::MutexLock lock(&mu_);
  return pulled_;
}

std::vector<std::string> FakeDriver::pull_tokens() {
  absl::MutexLock lock(&mu_);
  return pull_tokens_;
}

absl::StatusOr<ContainerId> FakeDriver::Create(const ContainerSpec& spec) {
  if (absl::Status s = Enter(Method::kCreate); !s.ok()) return s;
  absl::MutexLock lock(&mu_);
  created_specs_.push_back(spec);
  if (!images_.contains(spec.image)) {
    return absl::NotFoundError(absl::StrCat("no such image: ", spec.image));
  }
  for (const auto& [id, entry] : containers_) {
    if (entry.container.spec.name == spec.name) {
      return absl::FailedPreconditionError(absl::StrCat("name in use: ", spec.name));
    }
  }
  ContainerId id{absl::StrCat("fake-", next_id_++)};
  Entry& entry = containers_[id];
  entry.container.id = id;
  entry.container.spec = spec;
  entry.container.state = "created";
  return id;
}

absl::Status FakeDriver::AttachLogs(const ContainerId& id, LogSink& sink) {
  if (absl::Status s = Enter(Method::kAttachLogs); !s.ok()) return s;
  absl::MutexLock lock(&mu_);
  auto it = containers_.find(id);
  if (it == containers_.end()) return NoSuchContainer(id);
  if (it->second.sink != nullptr) {
    return absl::AlreadyExistsError(absl::StrCat("logs already attached: ", id.value));
  }
  it->second.sink = &sink;
  it->second.container.logs_attached = true;
  return absl::OkStatus();
}

absl::Status FakeDriver::Start(const ContainerId& id) {
  if (absl::Status s = Enter(Method::kStart); !s.ok()) return s;
  absl::MutexLock lock(&mu_);
  auto it = containers_.find(id);
  if (it == containers_.end()) return NoSuchContainer(id);
  std::string& state = it->second.container.state;
  if (state == "running" || state == "paused") return absl::OkStatus();  // engine: 304
  if (state == "exited") return absl::FailedPreconditionError("container exited");
  state = "running";
  return absl::OkStatus();
}

absl::StatusOr<ExitInfo> FakeDriver::Wait(const ContainerId& id, absl::Duration timeout) {
  if (absl::Status s = Enter(Method::kWait); !s.ok()) return s;
  absl::MutexLock lock(&mu_);
  if (!containers_.contains(id)) return NoSuchContainer(id);
  auto exited = [this, &id]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    auto it = containers_.find(id);
    return it == containers_.end() || it->second.container.state == "exited";
  };
  if (!mu_.AwaitWithTimeout(absl::Condition(&exited), timeout)) {
    return absl::DeadlineExceededError(absl::StrCat("container ", id.value, " still running"));
  }
  auto it = containers_.find(id);
  // Removed while we waited: the engine reports the kill's exit code.
  if (it == containers_.end()) return ExitInfo{137, false};
  return it->second.container.exit;
}

absl::Status FakeDriver::Pause(const ContainerId& id) {
  if (absl::Status s = Enter(Method::kPause); !s.ok()) return s;
  absl::MutexLock lock(&mu_);
  auto it = containers_.find(id);
  if (it == containers_.end()) return NoSuchContainer(id);
  std::string& state = it->second.container.state;
  if (state == "paused") return absl::OkStatus();
  if (state != "running") return absl::FailedPreconditionError("container is not running");
  state = "paused";
  return absl::OkStatus();
}

absl::Status FakeDriver::Unpause(const ContainerId& id) {
  if (absl::Status s = Enter(Method::kUnpause); !s.ok()) return s;
  absl::MutexLock lock(&mu_);
  auto it = containers_.find(id);
  if (it == containers_.end()) return NoSuchContainer(id);
  std::string& state = it->second.container.state;
  if (state == "running") return absl::OkStatus();
  if (state != "paused") return absl::FailedPreconditionError("container is not paused");
  state = "running";
  return absl::OkStatus();
}

absl::StatusOr<ContainerStats> FakeDriver::Stats(const ContainerId& id) {
  if (absl::Status s = Enter(Method::kStats); !s.ok()) return s;
  absl::MutexLock lock(&mu_);
  auto it = containers_.find(id);
  if (it == containers_.end()) return NoSuchContainer(id);
  return it->second.container.stats;
}

absl::Status FakeDriver::Remove(const ContainerId& id) {
  if (absl::Status s = Enter(Method::kRemove); !s.ok()) return s;
  LogSink* to_close = nullptr;
  {
    absl::MutexLock lock(&mu_);
    auto it = containers_.find(id);
    if (it == containers_.end()) return absl::OkStatus();  // already gone
    auto quiet = [this, &id]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return containers_.find(id)->second.emitting == 0;
    };
    mu_.Await(absl::Condition(&quiet));
    it = containers_.find(id);
    to_close = TakeSinkToCloseLocked(it->second);
    containers_.erase(it);
  }
  if (to_close != nullptr) to_close->OnClosed();
  return absl::OkStatus();
}

absl::StatusOr<ImageInfo> FakeDriver::InspectImage(absl::string_view image) {
  if (absl::Status s = Enter(Method::kInspectImage); !s.ok()) return s;
  absl::MutexLock lock(&mu_);
  auto it = images_.find(std::string(image));
  if (it == images_.end()) return absl::NotFoundError(absl::StrCat("no such image: ", image));
  return it->second;
}

absl::Status FakeDriver::PullImage(absl::string_view image, const RegistryAuth& auth) {
  if (absl::Status s = Enter(Method::kPullImage); !s.ok()) return s;
  absl::MutexLock lock(&mu_);
  pulled_.emplace_back(image);
  pull_tokens_.push_back(auth.registry_token);
  auto it = pullable_.find(std::string(image));
  if (it == pullable_.end()) {
    return absl::NotFoundError(absl::StrCat("pulling image '", image, "': not found"));
  }
  images_[it->first] = it->second;
  return absl::OkStatus();
}

absl::StatusOr<std::vector<ContainerSummary>> FakeDriver::ListContainers(
    const std::map<std::string, std::string>& labels) {
  if (absl::Status s = Enter(Method::kListContainers); !s.ok()) return s;
  auto matches = [&labels](const std::map<std::string, std::string>& have) {
    for (const auto& [key, value] : labels) {
      auto it = have.find(key);
      if (it == have.end() || it->second != value) return false;
    }
    return true;
  };
  absl::MutexLock lock(&mu_);
  std::vector<ContainerSummary> out;
  for (const auto& [id, entry] : containers_) {
    if (!matches(entry.container.spec.labels)) continue;
    out.push_back(ContainerSummary{id, entry.container.spec.name, entry.container.state,
                                   entry.container.spec.labels});
  }
  for (const ContainerSummary& orphan : orphans_) {
    if (matches(orphan.labels)) out.push_back(orphan);
  }
  return out;
}

absl::StatusOr<int> FakeDriver::RemoveOrphans() {
  if (absl::Status s = Enter(Method::kRemoveOrphans); !s.ok()) return s;
  absl::MutexLock lock(&mu_);
  const int removed = static_cast<int>(orphans_.size());
  orphans_.clear();
  return removed;
}

}  // namespace fnrunner
