#include "drivers/docker/log_pump.h"

#include <errno.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>

#include <cstring>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "drivers/docker/log_demux.h"
#include "glog/logging.h"

namespace fnrunner {

struct LogPump::Stream {
  Stream(ContainerId id, uint64_t key, AttachConnection connection, LogSink& sink,
         size_t max_line_bytes)
      : id(std::move(id)),
        key(key),
        fd(std::move(connection.fd)),
        initial(std::move(connection.initial_bytes)),
        sink(&sink),
        demux(max_line_bytes) {}

  const ContainerId id;
  const uint64_t key;
  UniqueFd fd;
  std::string initial;  // stream bytes that came with the attach reply header
  LogSink* sink;
  LogDemuxer demux;
  size_t buffered = 0;  // demux.buffered_bytes() as last added to buffered_bytes_
};

namespace {
constexpr uint64_t kWakeKey = 0;
}  // namespace

absl::StatusOr<std::unique_ptr<LogPump>> LogPump::Create(size_t max_line_bytes) {
  UniqueFd epoll(::epoll_create1(EPOLL_CLOEXEC));
  if (!epoll.valid()) {
    return absl::InternalError(absl::StrCat("epoll_create1: ", std::strerror(errno)));
  }
  UniqueFd wake(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
  if (!wake.valid()) return absl::InternalError(absl::StrCat("eventfd: ", std::strerror(errno)));
  epoll_event event{};
  event.events = EPOLLIN;
  event.data.u64 = kWakeKey;
  if (::epoll_ctl(epoll.get(), EPOLL_CTL_ADD, wake.get(), &event) != 0) {
    return absl::InternalError(absl::StrCat("epoll_ctl: ", std::strerror(errno)));
  }
  std::unique_ptr<LogPump> pump(new LogPump(max_line_bytes, std::move(epoll), std::move(wake)));
  pump->thread_ = std::thread([p = pump.get()] { p->Run(); });
  pump->thread_id_ = pump->thread_.get_id();
  return pump;
}

LogPump::LogPump(size_t max_line_bytes, UniqueFd epoll, UniqueFd wake)
    : max_line_bytes_(max_line_bytes), epoll_(std::move(epoll)), wake_(std::move(wake)) {}

LogPump::~LogPump() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  Wake();
  thread_.join();
}

void LogPump::Wake() {
  const uint64_t one = 1;
  // EAGAIN means the counter is already non-zero: the pump is woken either way.
  if (::write(wake_.get(), &one, sizeof(one)) < 0 && errno != EAGAIN) {
    PLOG(ERROR) << "log pump: eventfd write";
  }
}

absl::Status LogPump::Add(const ContainerId& id, AttachConnection connection, LogSink& sink) {
  absl::MutexLock lock(&mu_);
  if (stopping_) return absl::FailedPreconditionError("log pump is stopping");
  if (streams_.contains(id)) {
    return absl::AlreadyExistsError(absl::StrCat("container ", id.value, " already has logs"));
  }
  const uint64_t key = next_key_++;
  auto stream = std::make_unique<Stream>(id, key, std::move(connection), sink, max_line_bytes_);
  // Registered with epoll under the lock (a non-blocking syscall, not I/O): a concurrent
  // Remove() could otherwise finalize the stream and close the fd before we add it.
  epoll_event event{};
  event.events = EPOLLIN | EPOLLRDHUP;
  event.data.u64 = key;
  if (::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, stream->fd.get(), &event) != 0) {
    return absl::InternalError(absl::StrCat("epoll_ctl add: ", std::strerror(errno)));
  }
  by_key_[key] = stream.get();
  streams_[id] = std::move(stream);
  return absl::OkStatus();
}

absl::Status LogPump::Remove(const ContainerId& id) {
  if (std::this_thread::get_id() == thread_id_) {
    return absl::FailedPreconditionError(
        "LogPump::Remove called from a log sink; sinks must not call the driver");
  }
  {
    absl::MutexLock lock(&mu_);
    if (!streams_.contains(id)) return absl::OkStatus();
    remove_requests_.insert(id);
  }
  Wake();
  absl::MutexLock lock(&mu_);
  // The pump erases the stream only after its last sink call (Finalize).
  auto gone = [this, &id]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return !streams_.contains(id); };
  mu_.Await(absl::Condition(&gone));
  return absl::OkStatus();
}

size_t LogPump::StreamCount() {
  absl::MutexLock lock(&mu_);
  return streams_.size();
}

bool LogPump::Service(Stream& stream) {
  auto emit = [&stream](LogStream which, absl::string_view line) {
    stream.sink->OnLine(which, line);
  };
  bool ended = false;
  if (!stream.initial.empty()) {
    const std::string initial = std::move(stream.initial);
    stream.initial.clear();
    if (absl::Status s = stream.demux.Feed(initial, emit); !s.ok()) {
      LOG(ERROR) << "container " << stream.id << ": " << s;
      ended = true;
    }
  }
  if (!ended) {
    const ssize_t n = ::recv(stream.fd.get(), read_buffer_, sizeof(read_buffer_), 0);
    if (n > 0) {
      absl::Status s = stream.demux.Feed(absl::string_view(read_buffer_, n), emit);
      if (!s.ok()) {
        LOG(ERROR) << "container " << stream.id << ": " << s;
        ended = true;
      }
    } else if (n == 0) {
      ended = true;
    } else if (errno != EAGAIN && errno != EINTR) {
      // A reset connection (daemon stopped) ends the stream like EOF does.
      VLOG(1) << "container " << stream.id << ": attach stream: " << std::strerror(errno);
      ended = true;
    }
  }
  const size_t now = stream.demux.buffered_bytes();
  buffered_bytes_.fetch_add(now - stream.buffered, std::memory_order_relaxed);
  stream.buffered = now;
  return ended;
}

void LogPump::Finalize(Stream& stream) {
  ::epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, stream.fd.get(), nullptr);
  auto emit = [&stream](LogStream which, absl::string_view line) {
    stream.sink->OnLine(which, line);
  };
  if (!stream.initial.empty()) {
    stream.demux.Feed(stream.initial, emit).IgnoreError();  // the stream ends anyway
  }
  stream.demux.Finish(emit);
  stream.sink->OnClosed();
  buffered_bytes_.fetch_sub(stream.buffered, std::memory_order_relaxed);
  absl::MutexLock lock(&mu_);
  by_key_.erase(stream.key);
  remove_requests_.erase(stream.id);
  streams_.erase(stream.id);  // destroys `stream` and closes its fd
}

void LogPump::Run() {
  epoll_event events[64];
  while (true) {
    const int n = ::epoll_wait(epoll_.get(), events, 64, -1);
    if (n < 0) {
      if (errno == EINTR) continue;
      PLOG(ERROR) << "log pump: epoll_wait";  // cannot happen with a valid epoll fd
    }
    for (int i = 0; i < n; ++i) {
      const uint64_t key = events[i].data.u64;
      if (key == kWakeKey) {
        uint64_t count = 0;
        while (::read(wake_.get(), &count, sizeof(count)) > 0) {
        }
        continue;
      }
      Stream* stream = nullptr;
      {
        absl::MutexLock lock(&mu_);
        auto it = by_key_.find(key);
        if (it == by_key_.end() || remove_requests_.contains(it->second->id)) continue;
        stream = it->second;
      }
      if (Service(*stream)) Finalize(*stream);
    }
    std::vector<Stream*> finish;
    bool stop = false;
    {
      absl::MutexLock lock(&mu_);
      stop = stopping_;
      if (stop) {
        for (auto& [id, stream] : streams_) finish.push_back(stream.get());
      } else {
        for (const ContainerId& id : remove_requests_) {
          auto it = streams_.find(id);
          if (it != streams_.end()) finish.push_back(it->second.get());
        }
      }
    }
    for (Stream* stream : finish) Finalize(*stream);
    if (stop) return;
  }
}

}  // namespace fnrunner
