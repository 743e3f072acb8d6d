#pragma once

// The state machine of one exchange with a function (FunctionClient::Exchange(), which owns
// the connection and the threads' story: see function_client.h), and the fd helpers both use.

#include <poll.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "agent/body_pipe.h"
#include "agent/fn_errors.h"
#include "agent/function_client.h"
#include "agent/function_io.h"
#include "agent/http1.h"

namespace fnrunner {

// Waits until one of `fds` is ready (true) or `deadline` passes (false).
absl::StatusOr<bool> PollFds(pollfd* fds, nfds_t count, absl::Time deadline);
// Empties an eventfd (non-blocking); nothing to read is fine.
void DrainEventFd(int fd);
// The request head for `request`: POST /call with the call's headers less hop-by-hop ones,
// and the client's own Host, Fn-Call-Id, Fn-Deadline and body framing.
absl::StatusOr<std::string> BuildRequestHead(const FunctionRequest& request);
ExchangeResult MakeExchangeResult(absl::Status status, FnError error, ContainerFate container);

// One exchange in progress: writes the request and reads the response on one non-blocking,
// connected socket from one thread, polling it and `wake_fd` (poked by the body pipe's waker
// and by an abort).
class FunctionExchange {
 public:
  FunctionExchange(int fd, int wake_fd, const FunctionClient::Options& options,
                   const FunctionRequest& request, std::string head, BodyPipe& body,
                   std::function<bool()> aborted, ResponseSink& sink)
      : fd_(fd),
        wake_fd_(wake_fd),
        options_(options),
        request_(request),
        body_(body),
        aborted_(std::move(aborted)),
        sink_(sink),
        out_(std::move(head)),
        // An empty Content-Length body is complete once the head is written.
        all_body_taken_(request.body_length == 0),
        head_parser_(options.max_response_head_bytes) {}

  ExchangeResult Run();
  // After Run(): whether the connection can carry the next exchange.
  bool keep_connection() const { return keep_connection_; }
  // Whether the body's last piece was taken (else the caller aborts the pipe).
  bool took_last_piece() const { return took_last_piece_; }

 private:
  bool request_done() const { return all_body_taken_ && out_pos_ == out_.size(); }
  std::optional<ExchangeResult> FillRequest();
  void WriteRequest();
  void ReadResponse();
  std::optional<ExchangeResult> ProcessResponse();
  std::optional<ExchangeResult> OnHead(ResponseHead head);
  std::optional<ExchangeResult> DeliverBody();
  std::optional<ExchangeResult> DiscardBody();
  ExchangeResult Stop(absl::Status status);
  ExchangeResult Done(absl::Status status, FnError error, ContainerFate container);

  const int fd_;
  const int wake_fd_;
  const FunctionClient::Options& options_;
  const FunctionRequest& request_;
  BodyPipe& body_;  // polled with TryNext(); its waker pokes wake_fd_
  const std::function<bool()> aborted_;
  ResponseSink& sink_;

  // Request side: `out_` holds the head, then one framed piece of body at a time.
  std::string out_;
  size_t out_pos_ = 0;
  bool all_body_taken_;
  bool took_last_piece_ = false;
  uint64_t body_taken_ = 0;
  uint64_t bytes_written_ = 0;
  bool write_broken_ = false;  // the function stopped reading (EPIPE / ECONNRESET)

  // Response side.
  std::string in_;  // received and not yet consumed
  bool eof_ = false;
  bool read_failed_ = false;  // the connection broke rather than closed
  ResponseHeadParser head_parser_;
  bool got_head_ = false;
  std::optional<BodyDecoder> decoder_;
  bool reusable_framing_ = false;                // the response allows another exchange
  std::optional<ExchangeResult> after_discard_;  // a 502/504 whose body we drain
  size_t discarded_ = 0;

  ExchangeResult result_;
  bool keep_connection_ = false;
};

}  // namespace fnrunner
