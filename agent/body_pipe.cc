#include "agent/body_pipe.h"

#include <utility>

namespace fnrunner {

void BodyPipe::Push(std::string data, bool last) {
  std::function<void()> ready;
  {
    absl::MutexLock lock(&mu_);
    if (aborted_ || got_last_) return;
    chunks_.push_back(Chunk{std::move(data), last});
    got_last_ = last;
    ready = NotifyLocked();
  }
  if (ready) ready();
}

std::function<void()> BodyPipe::NotifyLocked() {
  if (waker_) waker_();
  return std::exchange(when_ready_, nullptr);
}

void BodyPipe::WhenReady(std::function<void()> ready) {
  {
    absl::MutexLock lock(&mu_);
    if (!ReadyLocked()) {
      when_ready_ = std::move(ready);
      return;
    }
  }
  ready();
}

absl::StatusOr<BodyPipe::Chunk> BodyPipe::TakeLocked() {
  if (aborted_) return absl::CancelledError("request body aborted");
  if (chunks_.empty()) return absl::OutOfRangeError("request body already complete");
  Chunk chunk = std::move(chunks_.front());
  chunks_.pop_front();
  return chunk;
}

absl::StatusOr<BodyPipe::Chunk> BodyPipe::Next() {
  absl::StatusOr<Chunk> chunk;
  {
    absl::MutexLock lock(&mu_);
    mu_.Await(absl::Condition(this, &BodyPipe::ReadyLocked));
    chunk = TakeLocked();
  }
  // Outside the lock: the producer's callback may call Push() from another thread at once.
  if (chunk.ok() && !chunk->last) on_wanted_();
  return chunk;
}

std::optional<absl::StatusOr<BodyPipe::Chunk>> BodyPipe::TryNext() {
  absl::StatusOr<Chunk> chunk;
  {
    absl::MutexLock lock(&mu_);
    if (!ReadyLocked()) return std::nullopt;
    chunk = TakeLocked();
  }
  if (chunk.ok() && !chunk->last) on_wanted_();
  return chunk;
}

void BodyPipe::SetWaker(std::function<void()> waker) {
  absl::MutexLock lock(&mu_);
  waker_ = std::move(waker);
}

void BodyPipe::Abort() {
  std::function<void()> ready;
  {
    absl::MutexLock lock(&mu_);
    aborted_ = true;
    chunks_.clear();
    ready = NotifyLocked();
  }
  if (ready) ready();
}

bool BodyPipe::Complete() const {
  absl::MutexLock lock(&mu_);
  return got_last_;
}

}  // namespace fnrunner
