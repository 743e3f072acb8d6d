#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "agent/agent.h"
#include "agent/fn_errors.h"

namespace fnrunner {

class BodyPipe;
struct Call;

// Where a function's response goes while an exchange runs. Called on the exchange's thread.
class ResponseSink {
 public:
  virtual ~ResponseSink() = default;
  virtual void OnResponseStart(int status, std::vector<HttpHeaderField> headers) = 0;
  // Returns false when nobody wants the rest (the exchange then stops).
  virtual bool OnResponseData(absl::string_view data) = 0;
};

// How one exchange with a function ended.
struct ExchangeOutcome {
  std::optional<FnError> error;    // nullopt: the function answered successfully
  bool container_reusable = true;  // false: the container must be removed (fn §4.7)
  bool aborted = false;            // AbortExchange() stopped it; the caller knows why
};

// The agent's line to the function inside one container: readiness, then one exchange at a
// time. The real implementation watches the container's iofs directory and speaks HTTP/1.1
// over its unix socket; unit tests use a scripted fake. Thread-safe where stated.
class FunctionIo {
 public:
  virtual ~FunctionIo() = default;
  // Host directory to bind-mount at /tmp/iofs in the container.
  virtual std::string HostDir() const = 0;
  // Blocks until the function listens. FailedPrecondition: the socket is unusable (fn's
  // 502 init failure); Cancelled: CancelWait() was called.
  virtual absl::Status WaitReady() = 0;
  // Thread-safe: makes a blocked or future WaitReady() return Cancelled.
  virtual void CancelWait() = 0;
  // Runs one call: streams `body` to the function and its response to `sink`. Blocks.
  virtual ExchangeOutcome Exchange(const Call& call, absl::Time deadline, BodyPipe& body,
                                   ResponseSink& sink) = 0;
  // Thread-safe: makes the running exchange (if any) return promptly with aborted = true.
  virtual void AbortExchange() = 0;
};

// Makes the FunctionIo for each new container, before the container is created (so the
// readiness watch is in place before the function can possibly start). Thread-safe.
class FunctionIoFactory {
 public:
  virtual ~FunctionIoFactory() = default;
  // `container_name` is unique per container. Internal on local failures (directory, inotify).
  virtual absl::StatusOr<std::unique_ptr<FunctionIo>> Prepare(absl::string_view container_name) = 0;
};

}  // namespace fnrunner
