#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "drivers/docker/http_transport.h"

typedef void CURL;

namespace fnrunner {

// HttpTransport over libcurl to a unix socket (dockerd's /var/run/docker.sock). Keeps a small
// pool of idle easy handles so that consecutive requests reuse their keep-alive connection;
// a handle that saw a transport error is dropped, never pooled, so a restarted daemon costs
// at most one failed request per caller. Thread-safe.
class CurlTransport final : public HttpTransport {
 public:
  struct Options {
    std::string socket_path = "/var/run/docker.sock";
    absl::Duration connect_timeout = absl::Seconds(2);
    size_t max_idle_handles = 8;
    // Buffered replies (no on_body) larger than this fail with ResourceExhausted: engine
    // replies are input, and a broken daemon must not make us allocate without bound.
    size_t max_body_bytes = 64 << 20;
  };

  // Fails only if libcurl cannot be initialised (Internal).
  static absl::StatusOr<std::unique_ptr<CurlTransport>> Create(Options options);
  ~CurlTransport() override;
  CurlTransport(const CurlTransport&) = delete;
  CurlTransport& operator=(const CurlTransport&) = delete;

  absl::StatusOr<EngineResponse> Send(const EngineRequest& request) override
      ABSL_LOCKS_EXCLUDED(mu_);

 private:
  struct CurlDeleter {
    void operator()(CURL* handle) const;
  };
  using Handle = std::unique_ptr<CURL, CurlDeleter>;

  explicit CurlTransport(Options options) : options_(std::move(options)) {}
  Handle Acquire() ABSL_LOCKS_EXCLUDED(mu_);
  void Release(Handle handle) ABSL_LOCKS_EXCLUDED(mu_);

  const Options options_;
  absl::Mutex mu_;
  std::vector<Handle> idle_ ABSL_GUARDED_BY(mu_);
};

}  // namespace fnrunner
