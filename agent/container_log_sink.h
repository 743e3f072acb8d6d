#pragma once

#include <functional>
#include <string>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "agent/log_hub.h"
#include "base/clock.h"
#include "drivers/driver.h"

namespace fnrunner {

// Receives one container's stdout/stderr lines from the driver, tags them with the function,
// the container and the call it is running, and publishes them to the LogHub (StreamLogs) and
// to glog at VLOG(1), rate-limited per container so a chatty function cannot flood the
// runner's own log. Thread-safe: the driver delivers lines while the agent switches calls.
class ContainerLogSink final : public LogSink {
 public:
  static constexpr int kGlogLinesPerSecond = 50;

  // `on_closed` runs once when the container's output ends (it exited or was removed), on
  // the driver's thread; it must not block.
  ContainerLogSink(std::string app_id, std::string fn_id, std::string container_name, LogHub& hub,
                   Clock& clock, std::function<void()> on_closed);

  // The call whose id tags subsequent lines. The agent sets it when a call starts and leaves
  // it until the next one: lines arrive after the exchange that produced them.
  void SetCall(std::string call_id) ABSL_LOCKS_EXCLUDED(mu_);

  void OnLine(LogStream stream, absl::string_view line) override ABSL_LOCKS_EXCLUDED(mu_);
  void OnClosed() override;

 private:
  const std::string app_id_;
  const std::string fn_id_;
  const std::string container_name_;
  LogHub& hub_;
  Clock& clock_;
  const std::function<void()> on_closed_;

  absl::Mutex mu_;
  std::string call_id_ ABSL_GUARDED_BY(mu_);
  absl::Time window_start_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  int lines_in_window_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t suppressed_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace fnrunner
