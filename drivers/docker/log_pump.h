#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "base/ids.h"
#include "base/unique_fd.h"
#include "drivers/docker/attach_stream.h"
#include "drivers/driver.h"

namespace fnrunner {

// One thread that reads every container's attach stream (epoll over their sockets) and
// delivers lines to their sinks: no thread per container. Each readable stream gets one
// bounded read per turn, so a flooding container cannot starve the others, and lines are
// delivered as they are read, so memory per stream stays below 2 × max_line_bytes whatever
// the container writes (sinks must not block). Owns its thread and joins it on destruction.
// Thread-safe.
class LogPump {
 public:
  // Internal if epoll or eventfd cannot be created.
  static absl::StatusOr<std::unique_ptr<LogPump>> Create(size_t max_line_bytes);
  // Stops and joins the thread. Streams never removed get their OnClosed() before this
  // returns, so their sinks must still be alive.
  ~LogPump() ABSL_LOCKS_EXCLUDED(mu_);
  LogPump(const LogPump&) = delete;
  LogPump& operator=(const LogPump&) = delete;

  // Starts delivering `connection`'s output to `sink`, which must stay valid until Remove(id)
  // returns or OnClosed() was called. AlreadyExists if `id` already has a stream.
  absl::Status Add(const ContainerId& id, AttachConnection connection, LogSink& sink)
      ABSL_LOCKS_EXCLUDED(mu_);
  // Stops delivering `id`'s output: delivers its partial lines and OnClosed() (unless the
  // stream already ended and did so), and returns only when no call to its sink is running
  // or will be made. OK if `id` has no stream. FailedPrecondition when called from a sink
  // (the pump's own thread), which would deadlock.
  absl::Status Remove(const ContainerId& id) ABSL_LOCKS_EXCLUDED(mu_);

  // Bytes held in partial lines over all streams.
  size_t BufferedBytes() const { return buffered_bytes_.load(std::memory_order_relaxed); }
  size_t StreamCount() ABSL_LOCKS_EXCLUDED(mu_);

 private:
  struct Stream;

  LogPump(size_t max_line_bytes, UniqueFd epoll, UniqueFd wake);
  void Run() ABSL_LOCKS_EXCLUDED(mu_);
  // Reads once from `stream` and delivers what completes; true when the stream ended.
  bool Service(Stream& stream);
  // Delivers the rest and OnClosed(), then forgets the stream. Pump thread only (or the
  // destructor once the thread is gone).
  void Finalize(Stream& stream) ABSL_LOCKS_EXCLUDED(mu_);
  void Wake();

  const size_t max_line_bytes_;
  const UniqueFd epoll_;
  const UniqueFd wake_;  // eventfd: Remove() and the destructor interrupt epoll_wait
  std::atomic<size_t> buffered_bytes_{0};
  char read_buffer_[64 * 1024];  // pump thread only

  absl::Mutex mu_;
  // Streams are created by Add() and destroyed only by the pump thread (Finalize), so the
  // pump may use one outside the lock. The Stream's own fields belong to the pump thread.
  absl::flat_hash_map<ContainerId, std::unique_ptr<Stream>> streams_ ABSL_GUARDED_BY(mu_);
  // epoll reports keys, not pointers: an event for a stream finalized earlier in the same
  // batch then finds nothing instead of a dangling pointer.
  absl::flat_hash_map<uint64_t, Stream*> by_key_ ABSL_GUARDED_BY(mu_);
  uint64_t next_key_ ABSL_GUARDED_BY(mu_) = 1;
  absl::flat_hash_set<ContainerId> remove_requests_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;

  std::thread::id thread_id_;  // set once in Create(), before the pump is shared
  std::thread thread_;
};

}  // namespace fnrunner
