#include "lb-client/direct_socket.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"

namespace fnrunner {

absl::StatusOr<DirectSocketClient> DirectSocketClient::Connect(const std::string& path) {
  sockaddr_un addr{};
  if (path.size() >= sizeof(addr.sun_path)) {
    return absl::InvalidArgumentError(absl::StrCat("socket path too long: ", path));
  }
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path.data(), path.size());
  const int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return absl::InternalError(absl::StrCat("socket: ", std::strerror(errno)));
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    const int error = errno;
    close(fd);
    return absl::UnavailableError(absl::StrCat("connect ", path, ": ", std::strerror(error)));
  }
  return DirectSocketClient(fd);
}

DirectSocketClient::DirectSocketClient(DirectSocketClient&& other) noexcept
    : fd_(other.fd_), buffer_(std::move(other.buffer_)) {
  other.fd_ = -1;
}

DirectSocketClient& DirectSocketClient::operator=(DirectSocketClient&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) close(fd_);
    fd_ = other.fd_;
    buffer_ = std::move(other.buffer_);
    other.fd_ = -1;
  }
  return *this;
}

DirectSocketClient::~DirectSocketClient() {
  if (fd_ >= 0) close(fd_);
}

absl::Status DirectSocketClient::Fill(absl::Time deadline) {
  pollfd p{fd_, POLLIN, 0};
  const int64_t wait_ms = absl::ToInt64Milliseconds(deadline - absl::Now());
  if (wait_ms <= 0 || poll(&p, 1, static_cast<int>(wait_ms)) == 0) {
    return absl::DeadlineExceededError("function did not answer in time");
  }
  char chunk[16384];
  const ssize_t n = read(fd_, chunk, sizeof(chunk));
  if (n <= 0) return absl::UnavailableError("function closed the connection");
  buffer_.append(chunk, static_cast<size_t>(n));
  return absl::OkStatus();
}

absl::StatusOr<std::string> DirectSocketClient::Line(absl::Time deadline) {
  size_t end;
  while ((end = buffer_.find("\r\n")) == std::string::npos) {
    if (absl::Status s = Fill(deadline); !s.ok()) return s;
  }
  std::string line = buffer_.substr(0, end);
  buffer_.erase(0, end + 2);
  return line;
}

absl::StatusOr<int> DirectSocketClient::Post(absl::string_view body, absl::string_view call_id,
                                             absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  std::string request = absl::StrCat("POST /call HTTP/1.1\r\nHost: localhost\r\nFn-Call-Id: ",
                                     call_id, "\r\nContent-Length: ", body.size(), "\r\n\r\n");
  request.append(body.data(), body.size());
  for (size_t sent = 0; sent < request.size();) {
    const ssize_t n = send(fd_, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) return absl::UnavailableError("function closed the connection");
    sent += static_cast<size_t>(n);
  }
  absl::StatusOr<std::string> status_line = Line(deadline);
  if (!status_line.ok()) return status_line.status();
  int status = 0;
  if (!absl::StartsWith(*status_line, "HTTP/1.") || status_line->size() < 12 ||
      !absl::SimpleAtoi(status_line->substr(9, 3), &status)) {
    return absl::InternalError(absl::StrCat("bad status line: ", *status_line));
  }
  size_t length = 0;
  bool chunked = false;
  while (true) {
    absl::StatusOr<std::string> header = Line(deadline);
    if (!header.ok()) return header.status();
    if (header->empty()) break;
    const size_t colon = header->find(':');
    if (colon == std::string::npos) continue;
    const std::string name = absl::AsciiStrToLower(header->substr(0, colon));
    const absl::string_view value = absl::StripAsciiWhitespace(
        absl::string_view(*header).substr(colon + 1));
    if (name == "content-length" && !absl::SimpleAtoi(value, &length)) {
      return absl::InternalError("bad Content-Length");
    }
    if (name == "transfer-encoding" && absl::EqualsIgnoreCase(value, "chunked")) chunked = true;
  }
  // Read and drop the body, so the connection is ready for the next request.
  while (chunked) {
    absl::StatusOr<std::string> size_line = Line(deadline);
    if (!size_line.ok()) return size_line.status();
    size_t chunk = 0;
    if (!absl::SimpleHexAtoi(size_line->substr(0, size_line->find(';')), &chunk)) {
      return absl::InternalError("bad chunk size");
    }
    if (chunk == 0) {
      // Trailers, then the empty line.
      for (absl::StatusOr<std::string> t = Line(deadline); !t.ok() || !t->empty(); t = Line(deadline)) {
        if (!t.ok()) return t.status();
      }
      return status;
    }
    length = chunk + 2;  // data and its CRLF
    while (buffer_.size() < length) {
      if (absl::Status s = Fill(deadline); !s.ok()) return s;
    }
    buffer_.erase(0, length);
  }
  while (buffer_.size() < length) {
    if (absl::Status s = Fill(deadline); !s.ok()) return s;
  }
  buffer_.erase(0, length);
  return status;
}

}  // namespace fnrunner
