#include "agent/fdk_function_io.h"

#include <utility>

#include "absl/synchronization/mutex.h"
#include "agent/call.h"
#include "agent/function_socket.h"
#include "agent/socket_watcher.h"
#include "glog/logging.h"

namespace fnrunner {
namespace {

class FdkFunctionIo final : public FunctionIo {
 public:
  FdkFunctionIo(IofsDir dir, std::unique_ptr<SocketWatcher> watcher,
                FunctionClient::Options client_options)
      : dir_(std::move(dir)), watcher_(std::move(watcher)), client_options_(client_options) {}

  std::string HostDir() const override { return dir_.host_path(); }

  absl::Status WaitReady() override {
    // No deadline here: the agent's Tick() enforces the init timeout through CancelWait(),
    // so tests can drive it with a fake clock.
    if (absl::Status ready = watcher_->Wait(absl::InfiniteFuture()); !ready.ok()) {
      if (ready.code() == absl::StatusCode::kCancelled) return ready;
      return absl::FailedPreconditionError(ready.message());
    }
    absl::StatusOr<FunctionSocket> socket = FunctionSocket::Open(dir_.path());
    if (!socket.ok()) {
      LOG(WARNING) << "refusing the socket in " << dir_.path() << ": " << socket.status();
      return absl::FailedPreconditionError(socket.status().message());
    }
    absl::StatusOr<std::unique_ptr<FunctionClient>> client =
        FunctionClient::Create(*std::move(socket), client_options_);
    if (!client.ok()) return client.status();
    absl::MutexLock lock(&mu_);
    client_ = *std::move(client);
    return absl::OkStatus();
  }

  void CancelWait() override { watcher_->Cancel(); }

  ExchangeOutcome Exchange(const Call& call, absl::Time deadline, BodyPipe& body,
                           ResponseSink& sink) override {
    FunctionClient* client;
    {
      absl::MutexLock lock(&mu_);
      client = client_.get();
    }
    ExchangeOutcome outcome;
    if (client == nullptr) {  // Not ready: the agent never does this.
      outcome.error = fn_errors::Internal("exchange before the function was ready");
      outcome.container_reusable = false;
      return outcome;
    }
    FunctionRequest request;
    request.call_id = call.id;
    request.deadline = deadline;
    for (const CallHeader& header : call.headers) {
      for (const std::string& value : header.values) {
        request.headers.push_back(HttpHeaderField{header.name, value});
      }
    }
    ExchangeResult result = client->Exchange(request, body, sink);
    outcome.container_reusable = result.container == ContainerFate::kReuse;
    if (result.status.code() == absl::StatusCode::kCancelled) {
      outcome.aborted = true;  // The agent knows why: timeout, client cancel or shutdown.
    } else if (!result.status.ok()) {
      outcome.error = std::move(result.error);
    }
    return outcome;
  }

  void AbortExchange() override {
    absl::MutexLock lock(&mu_);
    if (client_ != nullptr) client_->Abort();  // Never blocks.
  }

 private:
  IofsDir dir_;  // Deleted with everything in it when this object goes (container removed).
  const std::unique_ptr<SocketWatcher> watcher_;
  const FunctionClient::Options client_options_;
  absl::Mutex mu_;
  std::unique_ptr<FunctionClient> client_ ABSL_GUARDED_BY(mu_);  // set once ready
};

}  // namespace

absl::StatusOr<std::unique_ptr<FunctionIo>> FdkFunctionIoFactory::Prepare(absl::string_view) {
  absl::StatusOr<IofsDir> dir = IofsDir::Create(options_.iofs);
  if (!dir.ok()) return dir.status();
  // The watch exists before the container does, so the socket's creation cannot be missed.
  absl::StatusOr<std::unique_ptr<SocketWatcher>> watcher = SocketWatcher::Create(dir->path());
  if (!watcher.ok()) return watcher.status();
  return std::make_unique<FdkFunctionIo>(*std::move(dir), *std::move(watcher), options_.client);
}

}  // namespace fnrunner
