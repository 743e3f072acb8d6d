#include "agent/container_log_sink.h"

#include <utility>

#include "glog/logging.h"

namespace fnrunner {

ContainerLogSink::ContainerLogSink(std::string app_id, std::string fn_id,
                                   std::string container_name, LogHub& hub, Clock& clock,
                                   std::function<void()> on_closed)
    : app_id_(std::move(app_id)),
      fn_id_(std::move(fn_id)),
      container_name_(std::move(container_name)),
      hub_(hub),
      clock_(clock),
      on_closed_(std::move(on_closed)) {}

void ContainerLogSink::SetCall(std::string call_id) {
  absl::MutexLock lock(&mu_);
  call_id_ = std::move(call_id);
}

void ContainerLogSink::OnLine(LogStream stream, absl::string_view line) {
  const absl::Time now = clock_.Now();
  FunctionLogLine tagged{app_id_, fn_id_, container_name_, "", now, stream, std::string(line)};
  bool to_glog = false;
  int64_t suppressed = 0;
  {
    absl::MutexLock lock(&mu_);
    tagged.call_id = call_id_;
    if (VLOG_IS_ON(1)) {
      if (now - window_start_ >= absl::Seconds(1)) {
        window_start_ = now;
        lines_in_window_ = 0;
        suppressed = suppressed_;
        suppressed_ = 0;
      }
      to_glog = ++lines_in_window_ <= kGlogLinesPerSecond;
      if (!to_glog) ++suppressed_;
    }
  }
  if (suppressed > 0) {
    VLOG(1) << "container " << container_name_ << ": " << suppressed
            << " log lines not shown (rate limit)";
  }
  if (to_glog) {
    VLOG(1) << "fn " << fn_id_ << " container " << container_name_ << " call " << tagged.call_id
            << (stream == LogStream::kStderr ? " stderr: " : " stdout: ") << tagged.data;
  }
  hub_.Publish(tagged);
}

void ContainerLogSink::OnClosed() {
  if (on_closed_) on_closed_();
}

}  // namespace fnrunner
