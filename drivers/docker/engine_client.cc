#include "drivers/docker/engine_client.h"

#include <algorithm>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "base/status_macros.h"

namespace fnrunner {
namespace {

// Parses "1.41" into 41; only major version 1 exists.
std::optional<int> MinorVersion(absl::string_view version) {
  std::pair<absl::string_view, absl::string_view> parts = absl::StrSplit(version, '.');
  int major = 0;
  int minor = 0;
  if (!absl::SimpleAtoi(parts.first, &major) || !absl::SimpleAtoi(parts.second, &minor) ||
      major != 1 || minor < 0) {
    return std::nullopt;
  }
  return minor;
}

}  // namespace

std::string UrlEncode(absl::string_view text, absl::string_view keep) {
  std::string out;
  for (char ch : text) {
    const unsigned char c = static_cast<unsigned char>(ch);
    if (absl::ascii_isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~' ||
        keep.find(ch) != absl::string_view::npos) {
      out.push_back(ch);
    } else {
      constexpr char kHex[] = "0123456789ABCDEF";
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 0xf]);
    }
  }
  return out;
}

std::string EngineMessage(absl::string_view body) {
  nlohmann::json parsed = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (!parsed.is_discarded() && parsed.is_object()) {
    auto it = parsed.find("message");
    if (it != parsed.end() && it->is_string()) return it->get<std::string>();
  }
  constexpr size_t kMaxRaw = 200;
  absl::string_view raw = absl::StripAsciiWhitespace(body);
  if (raw.size() > kMaxRaw) return absl::StrCat(raw.substr(0, kMaxRaw), "...");
  return std::string(raw);
}

absl::Status StatusFromEngineReply(int http_status, absl::string_view body,
                                   absl::string_view what) {
  if ((http_status >= 200 && http_status < 300) || http_status == 304) return absl::OkStatus();
  const std::string message =
      absl::StrCat(what, ": ", EngineMessage(body), " (engine HTTP ", http_status, ")");
  switch (http_status) {
    case 400:
      return absl::InvalidArgumentError(message);
    case 401:
    case 403:
      return absl::PermissionDeniedError(message);
    case 404:
      return absl::NotFoundError(message);
    case 409:
      return absl::FailedPreconditionError(message);
    case 502:
    case 503:
    case 504:
      return absl::UnavailableError(message);
    default:
      break;
  }
  if (http_status > 400 && http_status < 500) return absl::InvalidArgumentError(message);
  return absl::InternalError(message);
}

absl::Status EngineClient::Negotiate() {
  EngineRequest request;
  request.path = "/version";
  request.timeout = negotiate_timeout_;
  absl::StatusOr<EngineResponse> reply = transport_.Send(request);
  if (!reply.ok()) {
    return absl::UnavailableError(
        absl::StrCat("docker engine not reachable: ", reply.status().message()));
  }
  RETURN_IF_ERROR(StatusFromEngineReply(reply->status, reply->body, "GET /version"));
  nlohmann::json parsed = nlohmann::json::parse(reply->body, nullptr, false);
  if (parsed.is_discarded() || !parsed.is_object() || !parsed.contains("ApiVersion") ||
      !parsed["ApiVersion"].is_string()) {
    return absl::InternalError("GET /version: reply has no ApiVersion");
  }
  const std::string daemon_version = parsed["ApiVersion"].get<std::string>();
  std::optional<int> minor = MinorVersion(daemon_version);
  if (!minor) {
    return absl::InternalError(
        absl::StrCat("GET /version: unparsable ApiVersion '", daemon_version, "'"));
  }
  if (*minor < kMinMinorVersion) {
    return absl::FailedPreconditionError(absl::StrCat("docker engine API ", daemon_version,
                                                      " is older than 1.", kMinMinorVersion,
                                                      " (Docker 19.03)"));
  }
  absl::MutexLock lock(&mu_);
  version_ = absl::StrCat("1.", std::min(*minor, kMaxMinorVersion));
  return absl::OkStatus();
}

std::string EngineClient::ApiVersion() {
  absl::MutexLock lock(&mu_);
  return version_;
}

absl::StatusOr<EngineResponse> EngineClient::Send(EngineRequest request,
                                                  absl::StatusCode timeout_code) {
  std::string version = ApiVersion();
  if (version.empty()) {
    // The engine was down when we last tried; a daemon that came back may be another
    // version, so negotiate again rather than guess.
    RETURN_IF_ERROR(Negotiate());
    version = ApiVersion();
  }
  const std::string what = absl::StrCat(request.method, " ", request.path);
  request.path = absl::StrCat("/v", version, request.path);
  absl::StatusOr<EngineResponse> reply = transport_.Send(request);
  if (reply.ok()) return reply;
  const absl::Status& error = reply.status();
  if (absl::IsDeadlineExceeded(error)) {
    return absl::Status(timeout_code, absl::StrCat(what, ": docker engine gave no answer within ",
                                                   absl::FormatDuration(request.timeout)));
  }
  if (absl::IsUnavailable(error)) {
    return absl::UnavailableError(absl::StrCat("docker engine: ", error.message()));
  }
  return error;
}

absl::StatusOr<nlohmann::json> EngineClient::SendJson(EngineRequest request,
                                                      absl::string_view what) {
  ASSIGN_OR_RETURN(EngineResponse reply, Send(std::move(request)));
  RETURN_IF_ERROR(StatusFromEngineReply(reply.status, reply.body, what));
  if (absl::StripAsciiWhitespace(reply.body).empty()) return nlohmann::json();
  nlohmann::json parsed = nlohmann::json::parse(reply.body, nullptr, false);
  if (parsed.is_discarded()) {
    return absl::InternalError(absl::StrCat(what, ": engine reply is not JSON"));
  }
  return parsed;
}

}  // namespace fnrunner
