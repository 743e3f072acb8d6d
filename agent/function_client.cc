#include "agent/function_client.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <utility>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "agent/function_exchange.h"
#include "glog/logging.h"

namespace fnrunner {
namespace {

constexpr absl::Duration kFirstConnectBackoff = absl::Milliseconds(1);
constexpr absl::Duration kMaxConnectBackoff = absl::Milliseconds(50);

}  // namespace

absl::StatusOr<std::unique_ptr<FunctionClient>> FunctionClient::Create(FunctionSocket socket,
                                                                       Options options) {
  UniqueFd wake(eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
  if (!wake.valid()) return absl::InternalError(absl::StrCat("eventfd: ", strerror(errno)));
  return std::unique_ptr<FunctionClient>(
      new FunctionClient(std::move(socket), options, std::move(wake)));
}

void FunctionClient::Abort() {
  {
    absl::MutexLock lock(&mu_);
    if (!running_) return;
    aborted_ = true;
  }
  Wake();
}

bool FunctionClient::aborted() const {
  absl::MutexLock lock(&mu_);
  return aborted_;
}

void FunctionClient::Wake() const {
  uint64_t one = 1;
  // Fails only with EAGAIN when the counter is saturated, and then it is readable anyway.
  (void)!write(wake_.get(), &one, sizeof(one));
}

ExchangeResult FunctionClient::Exchange(const FunctionRequest& request, BodyPipe& body,
                                        ResponseSink& sink) {
  {
    absl::MutexLock lock(&mu_);
    running_ = true;
    aborted_ = false;
  }
  DrainEventFd(wake_.get());  // pokes meant for an earlier exchange
  ExchangeResult result = Run(request, body, sink);
  {
    absl::MutexLock lock(&mu_);
    running_ = false;
  }
  if (!result.status.ok()) VLOG(1) << "call " << request.call_id << ": " << result.status;
  return result;
}

ExchangeResult FunctionClient::Run(const FunctionRequest& request, BodyPipe& body,
                                   ResponseSink& sink) {
  absl::StatusOr<std::string> head = BuildRequestHead(request);
  if (!head.ok()) {
    body.Abort();
    return MakeExchangeResult(head.status(),
                              fn_errors::Internal(std::string(head.status().message())),
                              ContainerFate::kReuse);
  }
  // Until the exchange ends, each Push() or Abort() on the body pokes the poll loop. On the
  // way out the body is aborted unless its last piece was taken: nobody will want the rest.
  body.SetWaker([this] { Wake(); });
  bool took_last_piece = false;
  absl::Cleanup release_body = [&] {
    body.SetWaker(nullptr);
    if (!took_last_piece) body.Abort();
  };
  if (absl::Status connected = EnsureConnected(request.deadline); !connected.ok()) {
    if (absl::IsCancelled(connected))
      return MakeExchangeResult(connected, {}, ContainerFate::kReuse);
    if (absl::IsDeadlineExceeded(connected)) {
      return MakeExchangeResult(connected, fn_errors::CallTimeout(), ContainerFate::kReuse);
    }
    // fn's table: no socket or connection refused at call time kills the container.
    return MakeExchangeResult(absl::AbortedError(connected.message()),
                              fn_errors::FunctionResponse(), ContainerFate::kKill);
  }
  FunctionExchange exchanger(
      connection_.get(), wake_.get(), options_, request, *std::move(head), body,
      [this] { return aborted(); }, sink);
  ExchangeResult result = exchanger.Run();
  took_last_piece = exchanger.took_last_piece();
  if (exchanger.keep_connection()) {
    idle_since_ = absl::Now();
  } else {
    connection_.Reset();
  }
  return result;
}

absl::Status FunctionClient::EnsureConnected(absl::Time deadline) {
  if (connection_.valid()) {
    // Readable while idle means the function closed it (or sent bytes nobody asked for).
    pollfd idle{connection_.get(), POLLIN, 0};
    bool closed = poll(&idle, 1, 0) != 0;
    if (!closed && absl::Now() - idle_since_ <= options_.max_connection_idle) {
      return absl::OkStatus();
    }
    connection_.Reset();
  }
  if (absl::Now() >= deadline) {
    return absl::DeadlineExceededError("call deadline passed before the request");
  }
  const absl::Time retry_until =
      ever_connected_ ? absl::InfinitePast()
                      : std::min(deadline, absl::Now() + options_.first_connect_retry);
  absl::Duration backoff = kFirstConnectBackoff;
  while (true) {
    if (aborted()) return absl::CancelledError("call cancelled while connecting");
    absl::StatusOr<UniqueFd> connection = socket_.Connect();
    if (connection.ok()) {
      connection_ = *std::move(connection);
      ever_connected_ = true;
      return absl::OkStatus();
    }
    if (!absl::IsUnavailable(connection.status()) || absl::Now() >= retry_until) {
      return connection.status();
    }
    // Nothing announces that a socket started listening, so this wait is timed; it watches
    // the eventfd so that Abort() still ends it at once.
    pollfd wake{wake_.get(), POLLIN, 0};
    absl::StatusOr<bool> woken = PollFds(&wake, 1, std::min(retry_until, absl::Now() + backoff));
    if (!woken.ok()) return woken.status();
    // The exchange re-reads what a poke announces, so draining here loses nothing.
    if (*woken) DrainEventFd(wake_.get());
    backoff = std::min(backoff * 2, kMaxConnectBackoff);
  }
}

}  // namespace fnrunner
