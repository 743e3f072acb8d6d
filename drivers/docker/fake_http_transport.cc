#include "drivers/docker/fake_http_transport.h"

#include <algorithm>
#include <utility>

#include "absl/strings/match.h"

namespace fnrunner {

FakeHttpTransport::FakeHttpTransport() {
  Reply("GET", "/version", 200, R"({"ApiVersion":"1.41","Version":"20.10.24"})");
  Reply("GET", "/info", 200, R"({"CgroupVersion":"1"})");
}

std::string FakeHttpTransport::Unversioned(const std::string& path) {
  if (!absl::StartsWith(path, "/v1.")) return path;
  const size_t slash = path.find('/', 1);
  return slash == std::string::npos ? path : path.substr(slash);
}

void FakeHttpTransport::On(std::string method, std::string path_prefix, Handler handler) {
  absl::MutexLock lock(&mu_);
  rules_.push_back(Rule{std::move(method), std::move(path_prefix), std::move(handler)});
}

void FakeHttpTransport::Reply(std::string method, std::string path_prefix, int status,
                              std::string body) {
  On(std::move(method), std::move(path_prefix),
     [status, body = std::move(body)](const EngineRequest&) -> absl::StatusOr<EngineResponse> {
       return EngineResponse{status, body};
     });
}

void FakeHttpTransport::Fail(std::string method, std::string path_prefix, absl::Status status) {
  On(std::move(method), std::move(path_prefix),
     [status](const EngineRequest&) -> absl::StatusOr<EngineResponse> { return status; });
}

std::vector<EngineRequest> FakeHttpTransport::requests() {
  absl::MutexLock lock(&mu_);
  return requests_;
}

EngineRequest FakeHttpTransport::last(const std::string& method, const std::string& path_prefix) {
  absl::MutexLock lock(&mu_);
  for (auto it = requests_.rbegin(); it != requests_.rend(); ++it) {
    if (it->method == method && absl::StartsWith(Unversioned(it->path), path_prefix)) return *it;
  }
  return EngineRequest{};
}

absl::StatusOr<EngineResponse> FakeHttpTransport::Send(const EngineRequest& request) {
  Handler handler;
  {
    absl::MutexLock lock(&mu_);
    EngineRequest recorded = request;
    recorded.on_body = nullptr;
    requests_.push_back(std::move(recorded));
    const std::string path = Unversioned(request.path);
    for (auto it = rules_.rbegin(); it != rules_.rend(); ++it) {
      if (it->method == request.method && absl::StartsWith(path, it->prefix)) {
        handler = it->handler;
        break;
      }
    }
  }
  if (!handler) return EngineResponse{404, R"({"message":"no rule"})"};
  absl::StatusOr<EngineResponse> reply = handler(request);  // outside the lock: may block
  if (!reply.ok() || !request.on_body) return reply;
  // Deliver in small pieces so stream parsers see arbitrary splits.
  absl::string_view body = reply->body;
  while (!body.empty()) {
    const size_t n = std::min<size_t>(7, body.size());
    if (!request.on_body(body.substr(0, n))) return absl::CancelledError("on_body aborted");
    body.remove_prefix(n);
  }
  reply->body.clear();
  return reply;
}

}  // namespace fnrunner
