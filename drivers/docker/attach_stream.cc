#include "drivers/docker/attach_stream.h"

#include <errno.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <cstring>

#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "drivers/docker/engine_client.h"

namespace fnrunner {
namespace {

constexpr size_t kMaxReplyBytes = 64 * 1024;

absl::Status Errno(absl::string_view what, int err) {
  return absl::UnavailableError(
      absl::StrCat("docker engine attach: ", what, ": ", std::strerror(err)));
}

// Waits until `fd` is ready for `events` or `deadline` passes.
absl::Status WaitFor(int fd, short events, absl::Time deadline) {
  while (true) {
    const int64_t ms = absl::ToInt64Milliseconds(deadline - absl::Now());
    if (ms <= 0) return absl::UnavailableError("docker engine attach: no answer in time");
    pollfd p{fd, events, 0};
    const int n = ::poll(&p, 1, static_cast<int>(std::min<int64_t>(ms, 1 << 30)));
    if (n > 0) return absl::OkStatus();
    if (n < 0 && errno != EINTR) return Errno("poll", errno);
  }
}

}  // namespace

absl::StatusOr<AttachConnection> OpenAttachStream(absl::string_view socket_path,
                                                  absl::string_view api_path,
                                                  absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (socket_path.size() >= sizeof(addr.sun_path)) {
    return absl::InvalidArgumentError(absl::StrCat("socket path too long: ", socket_path));
  }
  std::memcpy(addr.sun_path, socket_path.data(), socket_path.size());

  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd.valid()) return Errno("socket", errno);
  if (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)) != 0) {
    if (errno != EAGAIN && errno != EINPROGRESS) return Errno("connect", errno);
    if (absl::Status s = WaitFor(fd.get(), POLLOUT, deadline); !s.ok()) return s;
    int err = 0;
    socklen_t len = sizeof(err);
    ::getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &err, &len);
    if (err != 0) return Errno("connect", err);
  }

  // Without "Upgrade: tcp" the engine answers 200 and hijacks the connection; with it, 101.
  // We accept both. No TTY, so the stream is multiplexed either way.
  const std::string request = absl::StrCat("POST ", api_path,
                                           " HTTP/1.1\r\nHost: docker\r\n"
                                           "Content-Length: 0\r\n"
                                           "Connection: Upgrade\r\nUpgrade: tcp\r\n\r\n");
  for (size_t sent = 0; sent < request.size();) {
    const ssize_t n = ::send(fd.get(), request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
    if (n > 0) {
      sent += static_cast<size_t>(n);
    } else if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
      if (absl::Status s = WaitFor(fd.get(), POLLOUT, deadline); !s.ok()) return s;
    } else {
      return Errno("send", errno);
    }
  }

  std::string reply;
  size_t header_end = std::string::npos;
  bool eof = false;
  char buf[4096];
  // Read the header; for an error status keep reading (bounded) to get the engine's message.
  while (true) {
    const ssize_t n = ::recv(fd.get(), buf, sizeof(buf), 0);
    if (n > 0) {
      reply.append(buf, static_cast<size_t>(n));
    } else if (n == 0) {
      eof = true;
    } else if (errno != EAGAIN && errno != EINTR) {
      return Errno("recv", errno);
    }
    if (header_end == std::string::npos) header_end = reply.find("\r\n\r\n");
    if (header_end != std::string::npos) {
      const absl::string_view status_line = absl::string_view(reply).substr(0, reply.find("\r\n"));
      std::vector<absl::string_view> parts = absl::StrSplit(status_line, ' ');
      int status = 0;
      if (parts.size() < 2 || !absl::SimpleAtoi(parts[1], &status)) {
        return absl::InternalError(
            absl::StrCat("docker engine attach: not an HTTP reply: ", status_line));
      }
      if (status == 101 || status == 200) {
        return AttachConnection{std::move(fd), reply.substr(header_end + 4)};
      }
      // An error reply is small and closes or completes quickly; read what is there.
      if (status < 400) {
        return absl::InternalError(
            absl::StrCat("docker engine attach: unexpected reply: ", status_line));
      }
      const size_t last_brace = reply.rfind('}');
      const bool have_body = last_brace != std::string::npos && last_brace > header_end;
      if (eof || reply.size() > kMaxReplyBytes || have_body) {
        absl::string_view body = absl::string_view(reply).substr(header_end + 4);
        const size_t open = body.find('{');
        const size_t close = body.rfind('}');
        if (open != absl::string_view::npos && close != absl::string_view::npos && close > open) {
          body = body.substr(open, close - open + 1);  // drops chunked-encoding sizes
        }
        return StatusFromEngineReply(status, body, absl::StrCat("POST ", api_path));
      }
    }
    if (eof) return absl::UnavailableError("docker engine attach: connection closed");
    if (reply.size() > kMaxReplyBytes) {
      return absl::InternalError("docker engine attach: reply header too large");
    }
    if (n <= 0) {
      if (absl::Status s = WaitFor(fd.get(), POLLIN, deadline); !s.ok()) return s;
    }
  }
}

}  // namespace fnrunner
