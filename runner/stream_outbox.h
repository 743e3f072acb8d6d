#pragma once

#include <cstddef>
#include <deque>
#include <optional>
#include <utility>

#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"

namespace fnrunner {

// The ordering rules of one server stream (STYLE §10), without gRPC: messages queued from any
// thread are written one at a time and in order; the stream is finished exactly once, after
// the last queued write, never while a write is in flight or a read is being started. The
// reactor performs what the methods return (StartWrite, StartRead, Finish). It is also the
// output back-pressure: WaitForRoom() blocks a producer thread while more than
// `max_queued_bytes` wait to be written. `Msg` is a protobuf message. Thread-safe.
template <typename Msg>
class StreamOutbox {
 public:
  explicit StreamOutbox(size_t max_queued_bytes) : max_queued_bytes_(max_queued_bytes) {}
  StreamOutbox(const StreamOutbox&) = delete;
  StreamOutbox& operator=(const StreamOutbox&) = delete;

  // Queues `msg`. Returns the message the caller must now StartWrite() (it stays valid until
  // OnWriteDone), or nullptr: a write is in flight, or the stream is ending and `msg` was
  // dropped.
  const Msg* Push(Msg msg) ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    if (EndingLocked()) return nullptr;  // The RPC is ending: nothing more goes out.
    queued_bytes_ += msg.ByteSizeLong();
    queue_.push_back(std::move(msg));
    if (writing_) return nullptr;  // OnWriteDone() will start it.
    writing_ = true;
    return &queue_.front();
  }

  struct AfterWrite {
    const Msg* write = nullptr;          // StartWrite() this next, or else
    std::optional<absl::Status> finish;  // Finish() with this (the last use of the reactor)
  };
  // The write in flight completed; `ok` false means the stream is broken (nothing more will be
  // written; the caller's OnCancel or error path asks for the finish).
  AfterWrite OnWriteDone(bool ok) ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    AfterWrite after;
    if (!queue_.empty()) {
      queued_bytes_ -= queue_.front().ByteSizeLong();
      queue_.pop_front();
    }
    if (!ok) {
      broken_ = true;
      queue_.clear();
      queued_bytes_ = 0;
    }
    if (!queue_.empty()) {
      after.write = &queue_.front();
      return after;
    }
    writing_ = false;
    after.finish = TakeFinishLocked();
    return after;
  }

  // Ends the stream with `status` once everything queued is written. The first status wins;
  // later ones are ignored. Returns the status if the caller must Finish() now.
  std::optional<absl::Status> FinishWhenFlushed(absl::Status status) ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    if (finish_called_ || pending_finish_) return std::nullopt;
    pending_finish_ = std::move(status);
    return TakeFinishLocked();
  }

  // Reads: true if the caller may StartRead() now; it must then call EndStartRead(), which
  // returns a status to Finish() with if a finish was requested meanwhile.
  bool BeginStartRead() ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    if (closed_ || finish_called_ || pending_finish_) return false;
    starting_read_ = true;
    return true;
  }
  std::optional<absl::Status> EndStartRead() ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    starting_read_ = false;
    return TakeFinishLocked();
  }

  // Blocks while more than the bound waits to be written. Returns false as soon as the stream
  // is ending (finish requested, broken or closed): the caller should stop producing.
  bool WaitForRoom() ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    auto room = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return EndingLocked() || queued_bytes_ <= max_queued_bytes_;
    };
    mu_.Await(absl::Condition(&room));
    return !EndingLocked();
  }

  // The RPC is over: wakes WaitForRoom() and drops everything from now on. Idempotent.
  void Close() ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    closed_ = true;
    queue_.clear();
    queued_bytes_ = 0;
  }

  size_t queued_bytes() ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    return queued_bytes_;
  }

 private:
  bool EndingLocked() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return closed_ || broken_ || finish_called_ || pending_finish_.has_value();
  }

  // Claims the finish once nothing is queued, in flight or being started.
  std::optional<absl::Status> TakeFinishLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (!pending_finish_ || finish_called_ || writing_ || starting_read_ || !queue_.empty()) {
      return std::nullopt;
    }
    finish_called_ = true;
    std::optional<absl::Status> finish = std::move(pending_finish_);
    pending_finish_.reset();
    return finish;
  }

  const size_t max_queued_bytes_;
  absl::Mutex mu_;
  std::deque<Msg> queue_ ABSL_GUARDED_BY(mu_);  // A deque: the front never moves.
  size_t queued_bytes_ ABSL_GUARDED_BY(mu_) = 0;
  bool writing_ ABSL_GUARDED_BY(mu_) = false;  // At most one write in flight.
  bool starting_read_ ABSL_GUARDED_BY(mu_) = false;
  bool broken_ ABSL_GUARDED_BY(mu_) = false;
  bool closed_ ABSL_GUARDED_BY(mu_) = false;
  std::optional<absl::Status> pending_finish_ ABSL_GUARDED_BY(mu_);
  bool finish_called_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace fnrunner
