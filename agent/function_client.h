#pragma once

// Exchanges with a function over its unix socket (spec §4.4-4.7): one kept-alive HTTP/1.1
// connection per container, one request at a time, both bodies streamed, fn's failure table.
//
// Threads, back-pressure and cancellation. Exchange() blocks an agent thread for the whole
// exchange and does all socket I/O there, waiting only in poll(2) on the non-blocking socket
// and on one eventfd. So it sees an answer that starts before the request is complete (fn's
// premature write) the moment it arrives, and the deadline and Abort() end it at once.
//   * Request body: the runner pushes frames into the call's BodyPipe from gRPC reactions
//     without blocking and reads the next frame only after `on_wanted`. The poll loop takes
//     pieces with TryNext() when it has room and the pipe's waker pokes the eventfd when one
//     arrives: at most one frame waits in the pipe and one is being written, and no thread
//     but the exchange's own is involved.
//   * Response body: ResponseSink::OnResponseData() is called on the exchange's thread and
//     may block until the runner has room; meanwhile the socket is not read, so the function
//     blocks in write(). Abort() and the deadline are noticed when it returns.
//   * Abort() (any thread) pokes the eventfd: the running exchange ends Cancelled promptly.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "agent/body_pipe.h"
#include "agent/fn_errors.h"
#include "agent/function_io.h"
#include "agent/function_socket.h"
#include "agent/http1.h"
#include "base/ids.h"

namespace fnrunner {

struct FunctionRequest {
  CallId call_id;  // sent as Fn-Call-Id
  // The call's deadline (real time): enforced, and sent as Fn-Deadline in RFC 3339 UTC with
  // milliseconds, rounded down. fn truncates to whole seconds (up to 1 s early, §10.29); FDKs
  // parse RFC 3339 fractions. InfiniteFuture(): no Fn-Deadline and no limit.
  absl::Time deadline = absl::InfiniteFuture();
  HeaderList headers;                   // hop-by-hop, Host and Content-Length are not sent
  std::optional<uint64_t> body_length;  // sent as Content-Length; unknown: chunked
};

// What to do with the container after an exchange (spec §4.7).
enum class ContainerFate { kReuse, kKill };

struct ExchangeResult {
  // OK: the function answered 200 and the sink took the whole body. Cancelled: Abort(), the
  // BodyPipe was aborted, or the sink refused data. Otherwise `error` is what to report, and
  // the code says what kind of failure it was:
  //   DeadlineExceeded    the deadline passed (CallTimeout) or the FDK answered 504
  //   Aborted             the function broke the contract (the rest of spec §4.7)
  //   InvalidArgument     a request header cannot be sent; nothing was sent (fn's code 0)
  //   FailedPrecondition  the body does not match body_length, or the BodyPipe was spent
  //   Internal            our own failure, e.g. poll failed (fn's code 0)
  absl::Status status;
  FnError error;
  // kKill when the function broke the contract or may still be busy with this request.
  // After Abort or the deadline: kReuse only if no byte of the request was sent (fn keeps a
  // container cancelled during the body, §10.26; it may still be writing, so we kill it).
  ContainerFate container = ContainerFate::kKill;
  bool response_started = false;  // OnResponseStart() was called
  uint64_t body_bytes = 0;        // response body bytes given to the sink
};

// Talks to the function in one container. Owns the kept-alive connection. Exchange() is for
// one thread at a time (the agent thread running the container's call); Abort() is
// thread-safe.
class FunctionClient {
 public:
  struct Options {
    // FN_MAX_HDR_RESPONSE_SIZE. fn allows 10 MiB, but the headers must also fit in one
    // gRPC message to the LB (4 MiB), so our default is lower.
    size_t max_response_head_bytes = 1 << 20;
    // FN_MAX_RESPONSE_SIZE: the sink gets at most this many body bytes, then the exchange
    // fails with "function response body too large". 0 = unlimited.
    uint64_t max_response_bytes = 0;
    // A connection idle for longer is not reused: some FDKs close idle connections (Node's
    // http server after 5 s), and a paused container does so the instant it is resumed,
    // racing the next request. fn uses 1 s for the same reason (§10.38).
    absl::Duration max_connection_idle = absl::Seconds(1);
    // Until the first connection succeeds, ECONNREFUSED is retried with backoff for this
    // long: an FDK that binds lsnr.sock directly is visible before it listens (§10.25).
    absl::Duration first_connect_retry = absl::Milliseconds(500);
  };

  // Internal if no eventfd can be created. Connects lazily, on the first Exchange().
  static absl::StatusOr<std::unique_ptr<FunctionClient>> Create(FunctionSocket socket,
                                                                Options options);
  FunctionClient(const FunctionClient&) = delete;
  FunctionClient& operator=(const FunctionClient&) = delete;

  // Runs one exchange to its end; blocks. Takes the request body from `body` (which must
  // stay valid until this returns) and aborts it before returning unless its last piece was
  // taken, so no one waits on it afterwards. Calls `sink` on this thread: OnResponseStart
  // (always status 200, hop-by-hop headers removed) at most once, then OnResponseData.
  ExchangeResult Exchange(const FunctionRequest& request, BodyPipe& body, ResponseSink& sink)
      ABSL_LOCKS_EXCLUDED(mu_);

  // Makes the running exchange, if any, end promptly with Cancelled. Does not affect later
  // exchanges. Never blocks.
  void Abort() ABSL_LOCKS_EXCLUDED(mu_);

 private:
  FunctionClient(FunctionSocket socket, Options options, UniqueFd wake)
      : socket_(std::move(socket)), options_(options), wake_(std::move(wake)) {}

  bool aborted() const ABSL_LOCKS_EXCLUDED(mu_);
  void Wake() const;
  ExchangeResult Run(const FunctionRequest& request, BodyPipe& body, ResponseSink& sink);
  // Reuses the kept-alive connection if it is still good, else connects.
  absl::Status EnsureConnected(absl::Time deadline);

  const FunctionSocket socket_;
  const Options options_;
  const UniqueFd wake_;    // eventfd: Abort() and the body's waker poke it
  UniqueFd connection_;    // kept alive between exchanges; invalid if none
  absl::Time idle_since_;  // when `connection_` finished its last exchange
  bool ever_connected_ = false;

  mutable absl::Mutex mu_;
  bool running_ ABSL_GUARDED_BY(mu_) = false;
  bool aborted_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace fnrunner
