#pragma once

// A small HTTP/1.1 client over a unix socket, for tests that talk to a function container
// directly (test-only: no TLS, no redirects, one request at a time).

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace fnrunner {

struct HttpHeader {
  std::string name;
  std::string value;
};

struct HttpRequest {
  std::string method = "POST";
  std::string path = "/call";
  // Sent as given, after "Host: localhost"; the framing header below is added.
  std::vector<HttpHeader> headers;
  std::string body;
  // Framing of the body: Content-Length, or chunked in pieces of `chunk_bytes`.
  bool chunked = false;
  size_t chunk_bytes = 4096;
};

struct HttpResponse {
  int status = 0;
  std::string reason;
  std::vector<HttpHeader> headers;  // In arrival order, names as sent.
  std::string body;                 // Decoded (chunk framing removed).
  bool chunked = false;
  std::vector<size_t> chunk_sizes;  // The size of each data chunk, if chunked.

  // The first value of header `name` (case-insensitive), if any.
  std::optional<std::string> Header(absl::string_view name) const;
  // Every value of header `name` (case-insensitive), in arrival order.
  std::vector<std::string> Headers(absl::string_view name) const;
};

// One client connection; requests on it are kept alive. Owns the socket; movable, not
// copyable. Not thread-safe. Every method blocks for at most its timeout.
class UdsHttpClient {
 public:
  // Connects to the unix socket at `socket_path`. Errors: Unavailable if nothing accepts.
  static absl::StatusOr<UdsHttpClient> Connect(absl::string_view socket_path);

  UdsHttpClient(UdsHttpClient&& other) noexcept;
  UdsHttpClient& operator=(UdsHttpClient&& other) noexcept;
  UdsHttpClient(const UdsHttpClient&) = delete;
  UdsHttpClient& operator=(const UdsHttpClient&) = delete;
  ~UdsHttpClient();

  // Sends `request` and reads the whole response. Errors as SendHead, Send and ReadResponse.
  absl::StatusOr<HttpResponse> RoundTrip(const HttpRequest& request,
                                         absl::Duration timeout = absl::Seconds(30));

  // The pieces of RoundTrip, for tests that interleave them (an answer before the body):
  // SendHead sends the request line and headers only (with Content-Length: body.size(), or
  // Transfer-Encoding: chunked); Send sends raw bytes. Errors: Unavailable if the peer is
  // gone, DeadlineExceeded.
  absl::Status SendHead(const HttpRequest& request, absl::Duration timeout = absl::Seconds(30));
  absl::Status Send(absl::string_view bytes, absl::Duration timeout = absl::Seconds(30));
  // Reads one final response (interim 1xx ones are skipped). Errors: Unavailable if the peer
  // closes before it is complete, DeadlineExceeded, Internal if it is malformed.
  absl::StatusOr<HttpResponse> ReadResponse(absl::Duration timeout = absl::Seconds(30));

 private:
  explicit UdsHttpClient(int fd) : fd_(fd) {}

  // Makes at least one more byte available in `buffer_`.
  absl::Status Fill(absl::Time deadline);
  absl::StatusOr<std::string> ReadLine(absl::Time deadline);
  absl::StatusOr<std::string> ReadExactly(size_t size, absl::Time deadline);
  absl::Status ReadChunkedBody(HttpResponse& response, absl::Time deadline);

  int fd_;              // -1 once moved from.
  std::string buffer_;  // Bytes read from the socket and not yet consumed.
};

// Polls until a unix socket at `path` accepts a connection (following symlinks), for at most
// `timeout`. OK, or DeadlineExceeded.
absl::Status WaitForSocket(absl::string_view path, absl::Duration timeout);

}  // namespace fnrunner
