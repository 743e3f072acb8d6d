#include "tests/testing/uds_http.h"

#include <errno.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "base/status_macros.h"
#include "tests/testing/poll.h"

namespace fnrunner {
namespace {

constexpr size_t kMaxLineBytes = 1 << 20;

// Milliseconds left until `deadline` for poll(), at least 0.
int PollMillis(absl::Time deadline) {
  return static_cast<int>(
      std::max<int64_t>(0, absl::ToInt64Milliseconds(deadline - absl::Now()) + 1));
}

absl::Status WaitReady(int fd, short events, absl::Time deadline) {
  while (true) {
    pollfd poll_fd{fd, events, 0};
    int ready = ::poll(&poll_fd, 1, PollMillis(deadline));
    if (ready > 0) return absl::OkStatus();
    if (ready < 0 && errno != EINTR) {
      return absl::InternalError(absl::StrCat("poll: ", std::strerror(errno)));
    }
    if (ready == 0 && absl::Now() >= deadline) {
      return absl::DeadlineExceededError("timed out waiting for the server");
    }
  }
}

absl::StatusOr<int> ConnectUnix(absl::string_view path) {
  sockaddr_un address = {};
  address.sun_family = AF_UNIX;
  if (path.size() >= sizeof(address.sun_path)) {
    return absl::InvalidArgumentError(absl::StrCat("socket path too long: ", path));
  }
  std::memcpy(address.sun_path, path.data(), path.size());
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return absl::InternalError(absl::StrCat("socket: ", std::strerror(errno)));
  if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0) {
    int error = errno;
    ::close(fd);
    return absl::UnavailableError(absl::StrCat("connect ", path, ": ", std::strerror(error)));
  }
  return fd;
}

std::vector<std::string> ValuesOf(const std::vector<HttpHeader>& headers, absl::string_view name) {
  std::vector<std::string> values;
  for (const HttpHeader& header : headers) {
    if (absl::EqualsIgnoreCase(header.name, name)) values.push_back(header.value);
  }
  return values;
}

}  // namespace

std::optional<std::string> HttpResponse::Header(absl::string_view name) const {
  std::vector<std::string> values = ValuesOf(headers, name);
  if (values.empty()) return std::nullopt;
  return values.front();
}

std::vector<std::string> HttpResponse::Headers(absl::string_view name) const {
  return ValuesOf(headers, name);
}

absl::StatusOr<UdsHttpClient> UdsHttpClient::Connect(absl::string_view socket_path) {
  ASSIGN_OR_RETURN(int fd, ConnectUnix(socket_path));
  return UdsHttpClient(fd);
}

UdsHttpClient::UdsHttpClient(UdsHttpClient&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)), buffer_(std::move(other.buffer_)) {}

UdsHttpClient& UdsHttpClient::operator=(UdsHttpClient&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = std::exchange(other.fd_, -1);
    buffer_ = std::move(other.buffer_);
  }
  return *this;
}

UdsHttpClient::~UdsHttpClient() {
  if (fd_ >= 0) ::close(fd_);
}

absl::StatusOr<HttpResponse> UdsHttpClient::RoundTrip(const HttpRequest& request,
                                                      absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  RETURN_IF_ERROR(SendHead(request, deadline - absl::Now()));
  if (!request.chunked) {
    RETURN_IF_ERROR(Send(request.body, deadline - absl::Now()));
  } else {
    for (size_t start = 0; start < request.body.size(); start += request.chunk_bytes) {
      absl::string_view piece = absl::string_view(request.body).substr(start, request.chunk_bytes);
      RETURN_IF_ERROR(Send(absl::StrCat(absl::Hex(piece.size()), "\r\n", piece, "\r\n"),
                           deadline - absl::Now()));
    }
    RETURN_IF_ERROR(Send("0\r\n\r\n", deadline - absl::Now()));
  }
  return ReadResponse(deadline - absl::Now());
}

absl::Status UdsHttpClient::SendHead(const HttpRequest& request, absl::Duration timeout) {
  std::string head =
      absl::StrCat(request.method, " ", request.path, " HTTP/1.1\r\n", "Host: localhost\r\n");
  for (const HttpHeader& header : request.headers) {
    absl::StrAppend(&head, header.name, ": ", header.value, "\r\n");
  }
  if (request.chunked) {
    absl::StrAppend(&head, "Transfer-Encoding: chunked\r\n\r\n");
  } else {
    absl::StrAppend(&head, "Content-Length: ", request.body.size(), "\r\n\r\n");
  }
  return Send(head, timeout);
}

absl::Status UdsHttpClient::Send(absl::string_view bytes, absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (!bytes.empty()) {
    RETURN_IF_ERROR(WaitReady(fd_, POLLOUT, deadline));
    // MSG_NOSIGNAL: a function that closed the connection must fail the test, not kill it.
    ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (n < 0) return absl::UnavailableError(absl::StrCat("send: ", std::strerror(errno)));
    bytes.remove_prefix(static_cast<size_t>(n));
  }
  return absl::OkStatus();
}

absl::Status UdsHttpClient::Fill(absl::Time deadline) {
  while (true) {
    RETURN_IF_ERROR(WaitReady(fd_, POLLIN, deadline));
    char chunk[65536];
    ssize_t n = ::recv(fd_, chunk, sizeof(chunk), MSG_DONTWAIT);
    if (n > 0) {
      buffer_.append(chunk, static_cast<size_t>(n));
      return absl::OkStatus();
    }
    if (n == 0) return absl::UnavailableError("connection closed by the server");
    if (errno != EINTR && errno != EAGAIN) {
      return absl::UnavailableError(absl::StrCat("recv: ", std::strerror(errno)));
    }
  }
}

absl::StatusOr<std::string> UdsHttpClient::ReadLine(absl::Time deadline) {
  size_t newline;
  while ((newline = buffer_.find("\r\n")) == std::string::npos) {
    if (buffer_.size() > kMaxLineBytes) return absl::InternalError("response line too long");
    RETURN_IF_ERROR(Fill(deadline));
  }
  std::string line = buffer_.substr(0, newline);
  buffer_.erase(0, newline + 2);
  return line;
}

absl::StatusOr<std::string> UdsHttpClient::ReadExactly(size_t size, absl::Time deadline) {
  while (buffer_.size() < size) RETURN_IF_ERROR(Fill(deadline));
  std::string bytes = buffer_.substr(0, size);
  buffer_.erase(0, size);
  return bytes;
}

absl::Status UdsHttpClient::ReadChunkedBody(HttpResponse& response, absl::Time deadline) {
  while (true) {
    ASSIGN_OR_RETURN(std::string line, ReadLine(deadline));
    size_t size;
    absl::string_view size_text = absl::StripAsciiWhitespace(line.substr(0, line.find(';')));
    if (!absl::SimpleHexAtoi(size_text, &size)) {
      return absl::InternalError(absl::StrCat("bad chunk size line \"", line, "\""));
    }
    if (size == 0) break;
    ASSIGN_OR_RETURN(std::string data, ReadExactly(size, deadline));
    response.body += data;
    response.chunk_sizes.push_back(size);
    ASSIGN_OR_RETURN(std::string end, ReadLine(deadline));
    if (!end.empty()) return absl::InternalError("chunk longer than its size");
  }
  while (true) {  // Trailers, up to the blank line.
    ASSIGN_OR_RETURN(std::string line, ReadLine(deadline));
    if (line.empty()) return absl::OkStatus();
  }
}

absl::StatusOr<HttpResponse> UdsHttpClient::ReadResponse(absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  HttpResponse response;
  do {
    response = HttpResponse();
    ASSIGN_OR_RETURN(std::string status_line, ReadLine(deadline));
    std::vector<std::string> parts = absl::StrSplit(status_line, absl::MaxSplits(' ', 2));
    if (parts.size() < 2 || !absl::StartsWith(parts[0], "HTTP/1.") ||
        !absl::SimpleAtoi(parts[1], &response.status)) {
      return absl::InternalError(absl::StrCat("bad status line \"", status_line, "\""));
    }
    if (parts.size() == 3) response.reason = parts[2];
    while (true) {
      ASSIGN_OR_RETURN(std::string line, ReadLine(deadline));
      if (line.empty()) break;
      size_t colon = line.find(':');
      if (colon == std::string::npos) {
        return absl::InternalError(absl::StrCat("bad header line \"", line, "\""));
      }
      response.headers.push_back(HttpHeader{
          line.substr(0, colon),
          std::string(absl::StripAsciiWhitespace(absl::string_view(line).substr(colon + 1)))});
    }
  } while (response.status >= 100 && response.status < 200);

  if (response.status == 204 || response.status == 304) return response;
  std::optional<std::string> encoding = response.Header("Transfer-Encoding");
  if (encoding && absl::StrContains(absl::AsciiStrToLower(*encoding), "chunked")) {
    response.chunked = true;
    RETURN_IF_ERROR(ReadChunkedBody(response, deadline));
    return response;
  }
  if (std::optional<std::string> length = response.Header("Content-Length")) {
    size_t size;
    if (!absl::SimpleAtoi(*length, &size)) {
      return absl::InternalError(absl::StrCat("bad Content-Length \"", *length, "\""));
    }
    ASSIGN_OR_RETURN(response.body, ReadExactly(size, deadline));
    return response;
  }
  // No framing: the body runs to the end of the connection.
  while (true) {
    absl::Status filled = Fill(deadline);
    if (absl::IsUnavailable(filled)) break;
    RETURN_IF_ERROR(filled);
  }
  response.body = std::exchange(buffer_, "");
  return response;
}

absl::Status WaitForSocket(absl::string_view path, absl::Duration timeout) {
  return PollUntil(
      [&] {
        absl::StatusOr<int> fd = ConnectUnix(path);
        if (fd.ok()) ::close(*fd);
        return fd.ok();
      },
      timeout, absl::StrCat("a socket accepting connections at ", path));
}

}  // namespace fnrunner
