#include "runner/log_stream_reactor.h"

#include <string>
#include <utility>

#include "absl/strings/str_join.h"
#include "glog/logging.h"
#include "proto/grpc_status.h"
#include "runner/metrics.h"
#include "runner/outbox_reactor_ops.h"

namespace fnrunner {
namespace {

// A batch stays far below the 4 MiB message limit.
constexpr size_t kMaxBatchLines = 1000;
constexpr size_t kMaxBatchBytes = 1 << 20;
// Bytes queued for writing: at most a few batches.
constexpr size_t kMaxOutboxBytes = 4 << 20;

using Container = LogResponseMsg::Container;
using Line = LogResponseMsg::Container::Request::Line;

}  // namespace

LogStreamReactor::LogStreamReactor(LogHub& hub, RunnerMetrics& metrics, size_t max_queued_lines)
    : hub_(hub),
      metrics_(metrics),
      max_queued_lines_(max_queued_lines),
      outbox_(kMaxOutboxBytes) {
  ReadNext();
}

void LogStreamReactor::ReadNext() {
  if (!outbox_.BeginStartRead()) return;
  StartRead(&in_);
  if (std::optional<absl::Status> finish = outbox_.EndStartRead()) Finish(ToGrpcStatus(*finish));
}

void LogStreamReactor::End(absl::Status status) {
  // May be the last use of `this`.
  StartOutboxStep<LogStreamReactor, LogResponseMsg>(*this,
                                                    outbox_.FinishWhenFlushed(std::move(status)));
}

void LogStreamReactor::OnReadDone(bool ok) {
  if (!ok) {
    End(absl::OkStatus());  // The collector half-closed (or went away).
    return;
  }
  if (!started_) {
    if (!in_.has_start()) {
      End(absl::UnknownError("expected start session"));
      return;
    }
    std::vector<std::string> config;
    for (const auto& [key, value] : in_.start().config()) config.push_back(key + "=" + value);
    LOG(INFO) << "StreamLogs: collector started {" << absl::StrJoin(config, ", ") << "}";
    started_ = true;
    subscription_ = hub_.Subscribe([this](const FunctionLogLine& line) { OnLine(line); });
    ReadNext();
    return;
  }
  if (!in_.has_ack() && !in_.has_ready()) {
    End(absl::UnknownError("expected ack"));
    return;
  }
  {
    absl::MutexLock lock(&mu_);
    ++credits_;
  }
  MaybeSend();
  ReadNext();
}

void LogStreamReactor::OnLine(const FunctionLogLine& line) {
  {
    absl::MutexLock lock(&mu_);
    if (queue_.size() >= max_queued_lines_) {
      if (!warned_drop_) {
        LOG(WARNING) << "StreamLogs: collector too slow, dropping log lines";
        warned_drop_ = true;
      }
      metrics_.LogLinesDropped(1);
      return;
    }
    queue_.push_back(line);
  }
  MaybeSend();
}

void LogStreamReactor::MaybeSend() {
  LogResponseMsg batch;
  {
    absl::MutexLock lock(&mu_);
    if (credits_ == 0 || queue_.empty()) return;
    --credits_;
    size_t lines = 0, bytes = 0;
    Container* container = nullptr;
    LogResponseMsg::Container::Request* request = nullptr;
    while (!queue_.empty() && lines < kMaxBatchLines && bytes < kMaxBatchBytes) {
      FunctionLogLine& line = queue_.front();
      // Consecutive lines of one container and one call share their envelopes.
      if (container == nullptr || container->applicationid() != line.app_id ||
          container->functionid() != line.fn_id || container->containerid() != line.container_id) {
        container = batch.add_data();
        container->set_applicationid(line.app_id);
        container->set_functionid(line.fn_id);
        container->set_containerid(line.container_id);
        request = nullptr;
      }
      if (request == nullptr || request->requestid() != line.call_id) {
        request = container->add_data();
        request->set_requestid(line.call_id);
      }
      Line* out = request->add_data();
      out->set_timestamp(absl::ToUnixMillis(line.time));
      out->set_source(line.stream == LogStream::kStderr ? Line::STDERR : Line::STDOUT);
      bytes += line.data.size();
      out->set_data(std::move(line.data));
      queue_.pop_front();
      ++lines;
    }
  }
  StartOutboxWrite<LogStreamReactor, LogResponseMsg>(*this, outbox_.Push(std::move(batch)));
}

void LogStreamReactor::OnWriteDone(bool ok) {
  StartOutboxStep<LogStreamReactor, LogResponseMsg>(*this, outbox_.OnWriteDone(ok));
}

void LogStreamReactor::OnCancel() { End(absl::CancelledError("the collector went away")); }

void LogStreamReactor::OnDone() {
  outbox_.Close();
  subscription_.reset();  // The hub's barrier: OnLine() is not running and will not run.
  delete this;
}

}  // namespace fnrunner
