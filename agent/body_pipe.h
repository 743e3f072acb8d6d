#pragma once

#include <deque>
#include <functional>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"

namespace fnrunner {

// Carries one call's request body from the runner (producer; never blocks: it runs on gRPC
// reactions) to the thread that writes it to the function (consumer: blocks in Next(), or
// polls with TryNext() after SetWaker()). Back-pressure
// is a token: the producer may hand over one chunk, then waits for `on_wanted`, which the
// consumer calls after taking each chunk but the last. So at most one frame (10 KiB from fn's
// LB) waits here per call, however slow the function reads. Thread-safe.
class BodyPipe {
 public:
  struct Chunk {
    std::string data;
    bool last = false;
  };

  // `on_wanted` runs on the consumer's thread and must not block.
  explicit BodyPipe(std::function<void()> on_wanted) : on_wanted_(std::move(on_wanted)) {}
  BodyPipe(const BodyPipe&) = delete;
  BodyPipe& operator=(const BodyPipe&) = delete;

  // Producer side. Ignored after the last chunk or after Abort().
  void Push(std::string data, bool last) ABSL_LOCKS_EXCLUDED(mu_);

  // Consumer side: blocks until the next chunk. Cancelled after Abort(); OutOfRange once the
  // last chunk has been taken.
  absl::StatusOr<Chunk> Next() ABSL_LOCKS_EXCLUDED(mu_);

  // Non-blocking Next(): nullopt while no chunk (and no failure) is there yet.
  std::optional<absl::StatusOr<Chunk>> TryNext() ABSL_LOCKS_EXCLUDED(mu_);
  // For a consumer that polls: `waker` runs (under the pipe's lock, so it must be quick and
  // must not use the pipe) after each Push() and Abort(). nullptr unregisters it; once that
  // returns, the old waker is not running and will not run.
  void SetWaker(std::function<void()> waker) ABSL_LOCKS_EXCLUDED(mu_);

  // Runs `ready` once, as soon as there is something to take (a chunk, the end, or the
  // abort): at once on this thread if there is already, else on the thread of the Push() or
  // Abort() that brings it, outside the pipe's lock. So a consumer can start only when it has
  // work: the agent starts a call's exchange with its first body chunk, not before, and the
  // exchange thread is woken once per call instead of again when the body follows. One
  // pending `ready` at a time; it must not block.
  void WhenReady(std::function<void()> ready) ABSL_LOCKS_EXCLUDED(mu_);

  // Wakes and fails a blocked Next(); later Push() calls are dropped. Idempotent.
  void Abort() ABSL_LOCKS_EXCLUDED(mu_);

  // True once the producer delivered the last chunk (whether or not it was consumed).
  bool Complete() const ABSL_LOCKS_EXCLUDED(mu_);

 private:
  bool ReadyLocked() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return aborted_ || !chunks_.empty() || (got_last_ && chunks_.empty());
  }

  // Something new to take (a chunk or the abort): runs the waker and hands back the pending
  // WhenReady() callback, which the caller runs once the lock is released.
  std::function<void()> NotifyLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Takes the next chunk or failure if one is ready; calls on_wanted_ outside the lock.
  absl::StatusOr<Chunk> TakeLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const std::function<void()> on_wanted_;
  mutable absl::Mutex mu_;
  std::function<void()> waker_ ABSL_GUARDED_BY(mu_);
  std::function<void()> when_ready_ ABSL_GUARDED_BY(mu_);
  std::deque<Chunk> chunks_ ABSL_GUARDED_BY(mu_);
  bool got_last_ ABSL_GUARDED_BY(mu_) = false;
  bool aborted_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace fnrunner
