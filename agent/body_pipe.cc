#include "agent/body_pipe.h"

#include <utility>

namespace fnrunner {

void BodyPipe::Push(std::string data, bool last) {
  absl::MutexLock lock(&mu_);
  if (aborted_ || got_last_) return;
  chunks_.push_back(Chunk{std::move(data), last});
  got_last_ = last;
}

absl::StatusOr<BodyPipe::Chunk> BodyPipe::Next() {
  Chunk chunk;
  {
    absl::MutexLock lock(&mu_);
    mu_.Await(absl::Condition(this, &BodyPipe::ReadyLocked));
    if (aborted_) return absl::CancelledError("request body aborted");
    if (chunks_.empty()) return absl::OutOfRangeError("request body already complete");
    chunk = std::move(chunks_.front());
    chunks_.pop_front();
  }
  // Outside the lock: the producer's callback may call Push() from another thread at once.
  if (!chunk.last) on_wanted_();
  return chunk;
}

void BodyPipe::Abort() {
  absl::MutexLock lock(&mu_);
  aborted_ = true;
  chunks_.clear();
}

bool BodyPipe::Complete() const {
  absl::MutexLock lock(&mu_);
  return got_last_;
}

}  // namespace fnrunner
