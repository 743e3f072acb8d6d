#include "agent/function_exchange.h"

#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "base/status_macros.h"

namespace fnrunner {
namespace {

constexpr size_t kReadBytes = 64 * 1024;
// The body of a 502/504 answer is read (and dropped) up to this size to keep the connection.
constexpr size_t kMaxDiscardBytes = 64 * 1024;
// The request side takes the next body piece only while fewer bytes than this wait to be
// written: back-pressure stays within about two of fn's 10 KiB frames.
constexpr size_t kFillBelowBytes = 16 * 1024;

// Headers the client sets itself; the call's own values are dropped.
bool IsSetByClient(absl::string_view name) {
  for (absl::string_view ours : {"Host", "Content-Length", "Fn-Call-Id", "Fn-Deadline"}) {
    if (absl::EqualsIgnoreCase(name, ours)) return true;
  }
  return false;
}

}  // namespace

// Waits until one of `fds` is ready (true) or `deadline` passes (false).
absl::StatusOr<bool> PollFds(pollfd* fds, nfds_t count, absl::Time deadline) {
  while (true) {
    timespec timeout;
    timespec* timeout_or_null = nullptr;
    if (deadline != absl::InfiniteFuture()) {
      absl::Duration left = deadline - absl::Now();
      if (left <= absl::ZeroDuration()) return false;
      timeout = absl::ToTimespec(left);
      timeout_or_null = &timeout;
    }
    int ready = ppoll(fds, count, timeout_or_null, nullptr);
    if (ready >= 0) return ready > 0;
    if (errno != EINTR) return absl::ErrnoToStatus(errno, "poll");
  }
}

absl::StatusOr<std::string> BuildRequestHead(const FunctionRequest& request) {
  HeaderList fields = {{"Host", "localhost"}};
  for (const HttpHeaderField& field : request.headers) {
    if (IsHopByHopHeader(field.name, field.value) || IsSetByClient(field.name)) continue;
    RETURN_IF_ERROR(ValidateHeaderField(field.name, field.value));
    fields.push_back(field);
  }
  RETURN_IF_ERROR(ValidateHeaderField("Fn-Call-Id", request.call_id.value));
  fields.push_back({"Fn-Call-Id", request.call_id.value});
  if (request.deadline != absl::InfiniteFuture()) {
    fields.push_back({"Fn-Deadline", absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", request.deadline,
                                                      absl::UTCTimeZone())});
  }
  if (request.body_length.has_value()) {
    fields.push_back({"Content-Length", absl::StrCat(*request.body_length)});
  } else {
    fields.push_back({"Transfer-Encoding", "chunked"});
  }
  return SerializeRequestHead("POST", "/call", fields);
}

void DrainEventFd(int fd) {
  uint64_t count;
  // EAGAIN (nothing to drain) is the only possible failure and means the same.
  (void)!read(fd, &count, sizeof(count));
}

ExchangeResult MakeExchangeResult(absl::Status status, FnError error, ContainerFate container) {
  ExchangeResult result;
  result.status = std::move(status);
  result.error = std::move(error);
  result.container = container;
  return result;
}

ExchangeResult FunctionExchange::Run() {
  while (true) {
    if (aborted_()) return Stop(absl::CancelledError("call cancelled"));
    if (absl::Now() >= request_.deadline) {
      return Stop(absl::DeadlineExceededError("call deadline passed"));
    }
    if (std::optional<ExchangeResult> done = FillRequest()) return *done;
    if (out_pos_ < out_.size() && !write_broken_) {
      // The socket is almost always writable: send first, poll only after EAGAIN.
      WriteRequest();
      if (out_pos_ == out_.size() && !all_body_taken_ && !write_broken_) continue;
    }
    if (std::optional<ExchangeResult> done = ProcessResponse()) return *done;
    if (write_broken_) {
      // The function closed (or stopped reading) while we were sending. If it answered
      // first, the answer decides (a 200 is a premature write); else the pipe was closed.
      while (!eof_ && !got_head_ && in_.size() < options_.max_response_head_bytes) {
        size_t before = in_.size();
        ReadResponse();
        if (in_.size() == before) break;
      }
      if (std::optional<ExchangeResult> done = ProcessResponse()) return *done;
      return Done(absl::AbortedError("function closed the connection while receiving the "
                                     "request"),
                  fn_errors::ClosedPipe(), ContainerFate::kKill);
    }

    const bool want_write = out_pos_ < out_.size();
    const bool want_read = !eof_;
    pollfd fds[2] = {
        {wake_fd_, POLLIN, 0},
        {want_read || want_write ? fd_ : -1,
         static_cast<short>((want_read ? POLLIN : 0) | (want_write ? POLLOUT : 0)), 0}};
    absl::StatusOr<bool> ready = PollFds(fds, 2, request_.deadline);
    if (!ready.ok()) {
      return Done(ready.status(), fn_errors::Internal(std::string(ready.status().message())),
                  ContainerFate::kKill);
    }
    // The state the pokes announce is re-read at the top of the loop.
    if (fds[0].revents != 0) DrainEventFd(wake_fd_);
    // Write before reading: an answer that raced with our last bytes is not premature.
    if (want_write && (fds[1].revents & (POLLOUT | POLLERR | POLLHUP))) WriteRequest();
    if (want_read && (fds[1].revents & (POLLIN | POLLERR | POLLHUP))) ReadResponse();
  }
}

std::optional<ExchangeResult> FunctionExchange::FillRequest() {
  // Takes pieces while little waits to be written, so the head and a small body leave in one
  // send(), and an empty piece never leaves the loop waiting for a poke that will not come.
  while (!all_body_taken_ && out_.size() - out_pos_ < kFillBelowBytes) {
    std::optional<absl::StatusOr<BodyPipe::Chunk>> next = body_.TryNext();
    if (!next.has_value()) return std::nullopt;  // The waker pokes wake_fd_ when one comes.
    if (!next->ok()) {
      // Cancelled after BodyPipe::Abort(); OutOfRange if its last piece was taken before.
      absl::Status error = next->status();
      if (absl::IsCancelled(error)) return Stop(std::move(error));
      return Done(absl::FailedPreconditionError(error.message()),
                  fn_errors::Internal(std::string(error.message())),
                  bytes_written_ == 0 ? ContainerFate::kReuse : ContainerFate::kKill);
    }
    BodyPipe::Chunk& piece = **next;
    took_last_piece_ = piece.last;
    out_.erase(0, out_pos_);
    out_pos_ = 0;
    const size_t size = piece.data.size();
    body_taken_ += size;
    if (request_.body_length.has_value()) {
      // The function knows where a Content-Length body ends, so it is complete with its last
      // byte even if the piece marked last comes later (fn's LB ends with an empty eof frame).
      const uint64_t length = *request_.body_length;
      if (body_taken_ > length || (piece.last && body_taken_ < length)) {
        return Done(absl::FailedPreconditionError(absl::StrCat(
                        "request body is ", body_taken_ > length ? "longer" : "shorter",
                        " than its Content-Length ", length)),
                    fn_errors::Internal("request body does not match its Content-Length"),
                    bytes_written_ == 0 ? ContainerFate::kReuse : ContainerFate::kKill);
      }
      if (out_.empty()) {
        out_ = std::move(piece.data);
      } else {
        out_.append(piece.data);
      }
      all_body_taken_ = body_taken_ == length;
    } else {
      if (size > 0) absl::StrAppend(&out_, ChunkHeader(size), piece.data, kChunkEnd);
      if (piece.last) {
        absl::StrAppend(&out_, kLastChunk);
        all_body_taken_ = true;
      }
    }
  }
  return std::nullopt;
}

void FunctionExchange::WriteRequest() {
  while (out_pos_ < out_.size()) {
    ssize_t n =
        send(fd_, out_.data() + out_pos_, out_.size() - out_pos_, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n > 0) {
      out_pos_ += static_cast<size_t>(n);
      bytes_written_ += static_cast<uint64_t>(n);
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else if (n < 0 && errno == EAGAIN) {
      return;
    } else {
      write_broken_ = true;
      return;
    }
  }
}

void FunctionExchange::ReadResponse() {
  char buffer[kReadBytes];
  ssize_t n;
  do {
    n = recv(fd_, buffer, sizeof(buffer), MSG_DONTWAIT);
  } while (n < 0 && errno == EINTR);
  if (n > 0) {
    in_.append(buffer, static_cast<size_t>(n));
  } else if (n == 0 || errno != EAGAIN) {
    eof_ = true;
    read_failed_ = n < 0;
  }
}

std::optional<ExchangeResult> FunctionExchange::ProcessResponse() {
  while (!got_head_) {
    absl::StatusOr<std::optional<ResponseHeadParser::Parsed>> parsed = head_parser_.Parse(in_);
    if (!parsed.ok()) {
      return Done(absl::AbortedError(parsed.status().message()),
                  absl::IsResourceExhausted(parsed.status()) ? fn_errors::ResponseHeadersTooBig()
                                                             : fn_errors::FunctionResponse(),
                  ContainerFate::kKill);
    }
    if (!parsed->has_value()) {
      if (!eof_) return std::nullopt;
      if (!request_done()) {
        return Done(absl::AbortedError("function closed the connection while receiving the "
                                       "request"),
                    fn_errors::ClosedPipe(), ContainerFate::kKill);
      }
      return Done(absl::AbortedError("function closed the connection before answering"),
                  fn_errors::FunctionResponse(), ContainerFate::kKill);
    }
    ResponseHeadParser::Parsed head = **std::move(parsed);
    in_.erase(0, head.size);
    if (head.head.status >= 100 && head.head.status < 200 && head.head.status != 101) {
      head_parser_ = ResponseHeadParser(options_.max_response_head_bytes);  // interim: skip
      continue;
    }
    got_head_ = true;
    return OnHead(std::move(head.head));
  }
  if (!decoder_.has_value()) return std::nullopt;
  return after_discard_.has_value() ? DiscardBody() : DeliverBody();
}

std::optional<ExchangeResult> FunctionExchange::OnHead(ResponseHead head) {
  absl::StatusOr<BodyFormat> format = ResponseBodyFormat(head);
  if (head.status == 200) {
    if (!request_done()) {
      return Done(absl::AbortedError("function answered before receiving the whole request"),
                  fn_errors::PrematureWrite(), ContainerFate::kKill);
    }
    if (!format.ok()) {
      return Done(absl::AbortedError(format.status().message()), fn_errors::FunctionResponse(),
                  ContainerFate::kKill);
    }
    reusable_framing_ = ResponseKeepsConnection(head, *format);
    decoder_.emplace(*format, options_.max_response_head_bytes);
    result_.response_started = true;
    sink_.OnResponseStart(200, StripHopByHopHeaders(std::move(head.headers)));
    return DeliverBody();
  }
  if (head.status != 502 && head.status != 504) {
    return Done(absl::AbortedError(absl::StrCat("function answered status ", head.status)),
                fn_errors::InvalidResponse(), ContainerFate::kKill);
  }
  after_discard_ = head.status == 502
                       ? MakeExchangeResult(absl::AbortedError("function answered 502"),
                                            fn_errors::FunctionFailed(), ContainerFate::kReuse)
                       : MakeExchangeResult(absl::DeadlineExceededError("function answered 504"),
                                            fn_errors::CallTimeout(), ContainerFate::kReuse);
  // The FDK is done with this request. Its (small) body is drained to keep the connection;
  // when that is not possible the connection is dropped instead.
  if (!request_done() || !format.ok() || !ResponseKeepsConnection(head, *format)) {
    return Stop(absl::OkStatus());
  }
  reusable_framing_ = true;
  decoder_.emplace(*format, options_.max_response_head_bytes);
  return DiscardBody();
}

std::optional<ExchangeResult> FunctionExchange::DeliverBody() {
  while (true) {
    absl::StatusOr<BodyDecoder::Step> step = decoder_->Decode(in_);
    if (!step.ok()) {
      return Done(absl::AbortedError(step.status().message()), fn_errors::FunctionResponse(),
                  ContainerFate::kKill);
    }
    absl::string_view data = step->data;
    const uint64_t max = options_.max_response_bytes;
    const bool too_big = max > 0 && result_.body_bytes + data.size() > max;
    if (too_big) data = data.substr(0, static_cast<size_t>(max - result_.body_bytes));
    bool wanted = true;
    if (!data.empty()) {
      wanted = sink_.OnResponseData(data);
      result_.body_bytes += data.size();
    }
    in_.erase(0, step->consumed);  // `data` pointed into `in_`: not used from here on
    if (too_big) {
      // fn keeps the container; the rest of the body is not read.
      return Done(absl::AbortedError(absl::StrCat("response body larger than ", max, " bytes")),
                  fn_errors::ResponseTooBig(), ContainerFate::kReuse);
    }
    if (!wanted) {
      return Done(absl::CancelledError("response no longer wanted"), {}, ContainerFate::kKill);
    }
    if (decoder_->done()) {
      keep_connection_ = reusable_framing_ && in_.empty() && !eof_;
      return Done(absl::OkStatus(), {}, ContainerFate::kReuse);
    }
    if (step->consumed > 0) continue;
    if (!eof_) return std::nullopt;  // wait for more bytes
    absl::Status ended = read_failed_
                             ? absl::DataLossError("connection reset during the response body")
                             : decoder_->OnEof();
    if (ended.ok()) return Done(absl::OkStatus(), {}, ContainerFate::kReuse);
    return Done(absl::AbortedError(ended.message()), fn_errors::FunctionResponse(),
                ContainerFate::kKill);
  }
}

std::optional<ExchangeResult> FunctionExchange::DiscardBody() {
  while (!decoder_->done()) {
    absl::StatusOr<BodyDecoder::Step> step = decoder_->Decode(in_);
    if (!step.ok() || discarded_ > kMaxDiscardBytes || (step->consumed == 0 && eof_)) {
      return Stop(absl::OkStatus());
    }
    if (step->consumed == 0) return std::nullopt;
    discarded_ += step->data.size();
    in_.erase(0, step->consumed);
  }
  keep_connection_ = reusable_framing_ && in_.empty() && !eof_;
  return *after_discard_;
}

// Ends the exchange early: Abort() or the deadline, or a 502/504 whose body we give up on.
ExchangeResult FunctionExchange::Stop(absl::Status status) {
  keep_connection_ = false;
  if (after_discard_.has_value()) return *after_discard_;
  // A function that got no byte of this request is as idle as before; otherwise it may still
  // be working on it, and a next request on a new connection would overlap (§10.26).
  ContainerFate fate = bytes_written_ == 0 ? ContainerFate::kReuse : ContainerFate::kKill;
  if (absl::IsCancelled(status)) return Done(std::move(status), {}, fate);
  return Done(std::move(status), fn_errors::CallTimeout(), fate);
}

ExchangeResult FunctionExchange::Done(absl::Status status, FnError error, ContainerFate container) {
  result_.status = std::move(status);
  result_.error = std::move(error);
  result_.container = container;
  return result_;
}

}  // namespace fnrunner
