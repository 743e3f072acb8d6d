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
//
// One round trip less per stream: the last message of a finished stream goes out with the
// status in one StartWriteAndFinish. A producer that knows more follows at once can
// Push(msg, /*more_follows=*/true): it waits for the next Push or the finish. (No buffer
// hints: gRPC completes a hinted write only when a later one flushes it, and the reactor
// starts that later write only after the completion.)
template <typename Msg>
class StreamOutbox {
 public:
  explicit StreamOutbox(size_t max_queued_bytes) : max_queued_bytes_(max_queued_bytes) {}
  StreamOutbox(const StreamOutbox&) = delete;
  StreamOutbox& operator=(const StreamOutbox&) = delete;

  // A write the reactor must start now.
  struct Write {
    const Msg* msg = nullptr;  // stays valid until OnWriteDone (or OnDone, with `finish`)
    // Set: StartWriteAndFinish(msg, status); no OnWriteDone follows. Else StartWrite(msg).
    std::optional<absl::Status> finish;
    explicit operator bool() const { return msg != nullptr; }
  };
  struct AfterWrite {
    Write write;                         // start this next, or else
    std::optional<absl::Status> finish;  // Finish() with this (the last use of the reactor)
  };

  // Queues `msg`. Returns the write the caller must now start: none if a write is in flight,
  // if `more_follows` holds it back, or if the stream is ending and `msg` was dropped.
  Write Push(Msg msg, bool more_follows = false) ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    if (EndingLocked()) return {};  // The RPC is ending: nothing more goes out.
    queued_bytes_ += msg.ByteSizeLong();
    queue_.push_back(std::move(msg));
    if (writing_ || more_follows) return {};  // OnWriteDone() or the next Push starts it.
    return StartFrontLocked();
  }

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
    writing_ = false;
    if (!queue_.empty()) {
      after.write = StartFrontLocked();
      return after;
    }
    after.finish = TakeFinishLocked();
    return after;
  }

  // Ends the stream with `status` once everything queued is written. The first status wins;
  // later ones are ignored. Returns what the caller must start now: the finish, or the write
  // of messages held back by `more_follows` (the last one carrying the finish).
  AfterWrite FinishWhenFlushed(absl::Status status) ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    AfterWrite after;
    if (finish_called_ || pending_finish_) return after;
    pending_finish_ = std::move(status);
    if (!writing_ && !queue_.empty() && !broken_ && !closed_) {
      after.write = StartFrontLocked();
      return after;
    }
    after.finish = TakeFinishLocked();
    return after;
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

  // Starts writing the front message (the queue is not empty and nothing is in flight).
  Write StartFrontLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    writing_ = true;
    Write write;
    write.msg = &queue_.front();
    // The last message and a requested finish leave together, unless a read is being started
    // (a finish must not race StartRead; the plain Finish() then follows via EndStartRead).
    if (queue_.size() == 1 && pending_finish_ && !finish_called_ && !starting_read_) {
      finish_called_ = true;
      write.finish = std::move(pending_finish_);
      pending_finish_.reset();
    }
    return write;
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
