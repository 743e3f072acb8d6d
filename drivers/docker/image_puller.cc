#include "drivers/docker/image_puller.h"

#include <utility>

#include "absl/hash/hash.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "drivers/docker/registry_auth.h"
#include "nlohmann/json.hpp"

namespace fnrunner {
namespace {

// Progress lines are short; a longer one is not progress and is not kept whole.
constexpr size_t kMaxProgressLine = 64 * 1024;

}  // namespace

struct ImagePuller::Flight {
  absl::Notification done;
  absl::Status status;  // written once before `done` is notified
};

absl::Status PullError(absl::string_view image, absl::string_view message,
                       absl::StatusCode fallback) {
  const std::string lower = absl::AsciiStrToLower(message);
  const std::string text = absl::StrCat("pulling image '", image, "': ", message);
  if (absl::StrContains(lower, "not found") || absl::StrContains(lower, "manifest unknown") ||
      absl::StrContains(lower, "does not exist") || absl::StrContains(lower, "no such image")) {
    return absl::NotFoundError(text);
  }
  if (absl::StrContains(lower, "unauthorized") || absl::StrContains(lower, "denied") ||
      absl::StrContains(lower, "authentication required")) {
    return absl::PermissionDeniedError(text);
  }
  if (absl::StrContains(lower, "no such host") || absl::StrContains(lower, "dial tcp") ||
      absl::StrContains(lower, "connection refused") || absl::StrContains(lower, "timeout") ||
      absl::StrContains(lower, "i/o timeout") ||
      absl::StrContains(lower, "network is unreachable") ||
      absl::StrContains(lower, "tls handshake")) {
    return absl::UnavailableError(text);
  }
  if (absl::StrContains(lower, "invalid reference") || absl::StrContains(lower, "invalid tag")) {
    return absl::InvalidArgumentError(text);
  }
  return absl::Status(fallback, text);
}

void PullProgressScanner::Feed(absl::string_view bytes) {
  while (!bytes.empty()) {
    const size_t newline = bytes.find('\n');
    if (newline == absl::string_view::npos) {
      if (partial_.size() + bytes.size() <= kMaxProgressLine) absl::StrAppend(&partial_, bytes);
      return;
    }
    if (partial_.size() + newline <= kMaxProgressLine)
      absl::StrAppend(&partial_, bytes.substr(0, newline));
    Line(partial_);
    partial_.clear();
    bytes.remove_prefix(newline + 1);
  }
}

void PullProgressScanner::Finish() {
  if (!partial_.empty()) Line(partial_);
  partial_.clear();
}

void PullProgressScanner::Line(absl::string_view line) {
  if (!error_.empty() || absl::StripAsciiWhitespace(line).empty()) return;
  nlohmann::json parsed = nlohmann::json::parse(line, nullptr, false);
  if (parsed.is_discarded() || !parsed.is_object()) return;
  auto it = parsed.find("error");
  if (it != parsed.end()) {
    error_ = it->is_string() ? it->get<std::string>() : it->dump();
    if (error_.empty()) error_ = "unknown pull error";
    return;
  }
  auto detail = parsed.find("errorDetail");
  if (detail != parsed.end() && detail->is_object()) {
    auto message = detail->find("message");
    error_ = (message != detail->end() && message->is_string()) ? message->get<std::string>()
                                                                : std::string("unknown pull error");
  }
}

absl::Status ImagePuller::Pull(absl::string_view image, const std::string& auth_header) {
  const std::string key =
      absl::StrCat(image, "#", absl::Hex(absl::Hash<std::string>{}(auth_header)));
  std::shared_ptr<Flight> flight;
  bool leader = false;
  {
    absl::MutexLock lock(&mu_);
    ++callers_;
    std::shared_ptr<Flight>& slot = flights_[key];
    if (slot == nullptr) {
      slot = std::make_shared<Flight>();
      leader = true;
    }
    flight = slot;
  }
  if (leader) {
    flight->status = PullOnce(image, auth_header);
    {
      // Forget the flight before waking the others: a pull started after this one ended
      // must make its own request rather than join a finished flight.
      absl::MutexLock lock(&mu_);
      flights_.erase(key);
    }
    flight->done.Notify();
  } else {
    flight->done.WaitForNotification();
  }
  absl::MutexLock lock(&mu_);
  --callers_;
  return flight->status;
}

bool ImagePuller::AwaitCallers(int callers, absl::Duration timeout) {
  absl::MutexLock lock(&mu_);
  auto enough = [this, callers]()
                    ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return callers_ >= callers; };
  return mu_.AwaitWithTimeout(absl::Condition(&enough), timeout);
}

absl::Status ImagePuller::PullOnce(absl::string_view image, const std::string& auth_header) {
  const ImageRef ref = ParseImageRef(image);
  EngineRequest request;
  request.method = "POST";
  request.path = absl::StrCat("/images/create?fromImage=", UrlEncode(ref.FromImage()),
                              "&tag=", UrlEncode(ref.tag));
  if (!auth_header.empty()) request.headers.push_back("X-Registry-Auth: " + auth_header);
  request.timeout = timeout_;
  PullProgressScanner scanner;
  std::string error_body;
  int status_seen = 0;
  // The reply is a progress stream on success and a small JSON error otherwise; keep a
  // bounded copy for the error case and scan the stream for in-band errors.
  request.on_body = [&](absl::string_view bytes) {
    scanner.Feed(bytes);
    if (error_body.size() < 4096) {
      absl::StrAppend(&error_body, bytes.substr(0, 4096 - error_body.size()));
    }
    return true;
  };
  absl::StatusOr<EngineResponse> reply =
      engine_.Send(std::move(request), absl::StatusCode::kDeadlineExceeded);
  if (!reply.ok()) {
    const absl::Status& s = reply.status();
    return absl::Status(s.code(), absl::StrCat("pulling image '", image, "': ", s.message()));
  }
  status_seen = reply->status;
  scanner.Finish();
  if (status_seen < 200 || status_seen >= 300) {
    const absl::Status engine =
        StatusFromEngineReply(status_seen, error_body, absl::StrCat("pulling image '", image, "'"));
    // 4xx keep the engine's code (404 unknown image, 401/403 credentials); a 500 is the
    // engine relaying a registry problem, which the message classifies.
    if (status_seen >= 400 && status_seen < 500 && status_seen != 404) return engine;
    return PullError(
        image, EngineMessage(error_body),
        status_seen == 404 ? absl::StatusCode::kNotFound : absl::StatusCode::kUnavailable);
  }
  if (!scanner.error().empty()) {
    return PullError(image, scanner.error(), absl::StatusCode::kUnavailable);
  }
  return absl::OkStatus();
}

}  // namespace fnrunner
