#pragma once

#include <functional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "drivers/docker/http_transport.h"

namespace fnrunner {

// A scripted container engine for unit tests of the Docker driver. Requests are matched by
// method and path prefix, where the path has its "/v1.NN" prefix removed; the most recently
// added matching rule answers. Unmatched requests get 404 {"message": "no rule"}. It answers
// GET /version (ApiVersion 1.41) and GET /info (cgroup v1) unless told otherwise. Replies to
// requests with on_body are delivered through it in small pieces. Thread-safe.
class FakeHttpTransport final : public HttpTransport {
 public:
  using Handler = std::function<absl::StatusOr<EngineResponse>(const EngineRequest&)>;

  FakeHttpTransport();

  void On(std::string method, std::string path_prefix, Handler handler) ABSL_LOCKS_EXCLUDED(mu_);
  void Reply(std::string method, std::string path_prefix, int status, std::string body)
      ABSL_LOCKS_EXCLUDED(mu_);
  // Transport-level failure (e.g. Unavailable: socket missing, DeadlineExceeded: timeout).
  void Fail(std::string method, std::string path_prefix, absl::Status status)
      ABSL_LOCKS_EXCLUDED(mu_);

  // Every request sent, in order (on_body dropped).
  std::vector<EngineRequest> requests() ABSL_LOCKS_EXCLUDED(mu_);
  // The last request whose unversioned path starts with `path_prefix`; empty path if none.
  EngineRequest last(const std::string& method, const std::string& path_prefix)
      ABSL_LOCKS_EXCLUDED(mu_);

  absl::StatusOr<EngineResponse> Send(const EngineRequest& request) override
      ABSL_LOCKS_EXCLUDED(mu_);

  // "/v1.41/containers/x" -> "/containers/x".
  static std::string Unversioned(const std::string& path);

 private:
  struct Rule {
    std::string method;
    std::string prefix;
    Handler handler;
  };
  absl::Mutex mu_;
  std::vector<Rule> rules_ ABSL_GUARDED_BY(mu_);
  std::vector<EngineRequest> requests_ ABSL_GUARDED_BY(mu_);
};

}  // namespace fnrunner
