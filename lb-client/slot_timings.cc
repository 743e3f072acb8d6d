#include "lb-client/slot_timings.h"

namespace fnrunner {
namespace {

constexpr double kWeight = 0.2;

void Update(std::optional<double>& average, double sample) {
  average = average ? *average + kWeight * (sample - *average) : sample;
}

std::optional<absl::Duration> Ms(const std::optional<double>& own,
                                 const std::optional<double>& prior) {
  const std::optional<double>& v = own ? own : prior;
  if (!v) return std::nullopt;
  return absl::Milliseconds(*v);
}

}  // namespace

void SlotTimings::Record(const std::string& slot_key, const CallFinished& finished) {
  const double execution_ms = static_cast<double>(finished.executionduration()) / 1e6;
  const double cold_ms = static_cast<double>(finished.ctrcreateduration() +
                                             finished.initstarttime() +
                                             finished.imagepullwaitduration()) /
                         1e6;
  absl::MutexLock lock(&mu_);
  Averages& slot = slots_[slot_key];
  if (execution_ms > 0) {
    Update(slot.execution_ms, execution_ms);
    Update(all_.execution_ms, execution_ms);
  }
  if (cold_ms > 0) {
    Update(slot.cold_start_ms, cold_ms);
    Update(all_.cold_start_ms, cold_ms);
  }
}

SlotTimings::Estimate SlotTimings::Get(const std::string& slot_key) {
  absl::MutexLock lock(&mu_);
  auto it = slots_.find(slot_key);
  const Averages own = it == slots_.end() ? Averages() : it->second;
  return Estimate{Ms(own.execution_ms, all_.execution_ms),
                  Ms(own.cold_start_ms, all_.cold_start_ms)};
}

absl::Duration ExpectedWarmWait(const SlotLoad& load, absl::Duration execution,
                                absl::Duration cold_start) {
  const int containers = load.busy + load.starting;
  if (containers <= 0) return absl::InfiniteDuration();
  absl::Duration wait = execution * (load.waiting + 1) / containers;
  if (load.busy == 0) wait += cold_start / 2;
  return wait;
}

}  // namespace fnrunner
