#pragma once

#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace fnrunner {

// One request to the container engine. `path` includes the query string and the API version
// prefix (the transport adds nothing but the scheme and host).
struct EngineRequest {
  std::string method = "GET";
  std::string path;
  std::vector<std::string> headers;  // "Name: value"
  std::string body;                  // sent as is; POST/PUT send it even when empty
  // When set, the body is this file's content, streamed from disk instead of `body` (image
  // tarballs). NotFound if the file cannot be opened.
  std::string body_file;
  // Bound on the whole exchange, connect included. absl::InfiniteDuration() means none.
  absl::Duration timeout = absl::Seconds(10);
  // When set, receives the response body in pieces as it arrives instead of
  // EngineResponse::body (for long progress streams). Returning false aborts the request.
  std::function<bool(absl::string_view)> on_body;
};

struct EngineResponse {
  int status = 0;
  std::string body;  // empty when the request had `on_body`
};

// Sends HTTP requests to the container engine. The seam under DockerDriver: the real one
// speaks to dockerd's unix socket, tests substitute a scripted engine. Thread-safe.
class HttpTransport {
 public:
  virtual ~HttpTransport() = default;
  // Blocks until the whole response has arrived. Any HTTP status is a response, not an
  // error. Errors: Unavailable (cannot connect, connection lost), DeadlineExceeded
  // (request.timeout passed), Cancelled (on_body returned false), ResourceExhausted (a
  // buffered reply larger than the transport accepts).
  virtual absl::StatusOr<EngineResponse> Send(const EngineRequest& request) = 0;
};

}  // namespace fnrunner
