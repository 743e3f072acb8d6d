#pragma once

#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "drivers/docker/http_transport.h"
#include "nlohmann/json.hpp"

namespace fnrunner {

// Maps an engine reply to a status: 2xx and 304 are OK; 400 InvalidArgument, 401/403
// PermissionDenied, 404 NotFound, 409 FailedPrecondition, other 4xx InvalidArgument,
// 500 Internal, 502/503/504 Unavailable. The message is "<what>: <engine message>".
absl::Status StatusFromEngineReply(int http_status, absl::string_view body, absl::string_view what);
// Percent-encodes everything but RFC 3986 unreserved characters and those in `keep`.
std::string UrlEncode(absl::string_view text, absl::string_view keep = "");

// The engine's {"message": "..."} text, or the (shortened) raw body when it is not JSON.
std::string EngineMessage(absl::string_view body);

// The versioned Docker Engine API over an HttpTransport: prefixes every path with
// /v<version>, negotiated once from GET /version, and turns transport failures into the
// codes callers act on. Thread-safe.
class EngineClient {
 public:
  // The newest API version whose behaviour we rely on and test (Docker 20.10), and the
  // oldest we accept (Docker 19.03).
  static constexpr int kMaxMinorVersion = 41;
  static constexpr int kMinMinorVersion = 40;

  // `transport` must outlive the client.
  EngineClient(HttpTransport& transport, absl::Duration negotiate_timeout)
      : transport_(transport), negotiate_timeout_(negotiate_timeout) {}

  // GET /version; uses the daemon's ApiVersion capped to 1.<kMaxMinorVersion>. Unavailable
  // if the engine does not answer, FailedPrecondition if it is older than we support,
  // Internal if the reply makes no sense.
  absl::Status Negotiate() ABSL_LOCKS_EXCLUDED(mu_);
  // "1.41"; empty until a negotiation succeeded.
  std::string ApiVersion() ABSL_LOCKS_EXCLUDED(mu_);

  // Sends `request` with its path prefixed by the API version (negotiating first if no
  // negotiation has succeeded yet). Every HTTP status is returned as a reply. Transport
  // failures: Unavailable; a timeout becomes `timeout_code` (Unavailable by default: a
  // daemon that does not answer is down; pulls and waits pass DeadlineExceeded).
  absl::StatusOr<EngineResponse> Send(
      EngineRequest request, absl::StatusCode timeout_code = absl::StatusCode::kUnavailable)
      ABSL_LOCKS_EXCLUDED(mu_);
  // Send, then non-2xx replies become StatusFromEngineReply(..., what) and the body is
  // parsed as JSON (null for an empty body; Internal if it is not JSON).
  absl::StatusOr<nlohmann::json> SendJson(EngineRequest request, absl::string_view what)
      ABSL_LOCKS_EXCLUDED(mu_);

 private:
  HttpTransport& transport_;
  const absl::Duration negotiate_timeout_;
  absl::Mutex mu_;
  std::string version_ ABSL_GUARDED_BY(mu_);
};

}  // namespace fnrunner
