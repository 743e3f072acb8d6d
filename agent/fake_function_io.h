#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "agent/function_io.h"

namespace fnrunner {

// A scripted stand-in for the function inside a container, for the agent's unit tests: no
// sockets, no processes. Readiness and each exchange do what the test configured. Thread-safe.
class FakeFunctionIoFactory final : public FunctionIoFactory {
 public:
  enum class Readiness {
    kReady,      // WaitReady() succeeds at once
    kNever,      // WaitReady() blocks until CancelWait() (init timeout, exit, shutdown)
    kBadSocket,  // WaitReady() fails like a refused socket check
  };
  enum class Behavior {
    kEcho,     // 200, body echoed, container reusable
    kHang,     // blocks until AbortExchange()
    kCrash,    // fn's "error receiving function response", container not reusable
    kFail502,  // FDK answered 502: "function failed", container kept
    kBlock,    // like kEcho, but answers only once Release(container) was called
  };

  absl::StatusOr<std::unique_ptr<FunctionIo>> Prepare(absl::string_view container_name) override
      ABSL_LOCKS_EXCLUDED(mu_);

  void set_readiness(Readiness r) ABSL_LOCKS_EXCLUDED(mu_);
  void set_behavior(Behavior b) ABSL_LOCKS_EXCLUDED(mu_);

  // Names of containers prepared, and of those whose FunctionIo was destroyed (= iofs dir
  // cleaned up), in order.
  std::vector<std::string> prepared() const ABSL_LOCKS_EXCLUDED(mu_);
  std::vector<std::string> destroyed() const ABSL_LOCKS_EXCLUDED(mu_);
  // Exchanges run so far, and the container name each ran in.
  std::vector<std::string> exchanges() const ABSL_LOCKS_EXCLUDED(mu_);
  // Blocks until `n` exchanges are in progress at once (kHang) or have run.
  void AwaitExchangesStarted(int n) const ABSL_LOCKS_EXCLUDED(mu_);
  // Lets the kBlock exchanges in `container_name` answer (this one and later ones).
  void Release(const std::string& container_name) ABSL_LOCKS_EXCLUDED(mu_);
  // Blocks until `n` WaitReady() calls are blocked (kNever).
  void AwaitWaitingForReady(int n) const ABSL_LOCKS_EXCLUDED(mu_);

 private:
  class Io;
  friend class Io;

  mutable absl::Mutex mu_;
  Readiness readiness_ ABSL_GUARDED_BY(mu_) = Readiness::kReady;
  Behavior behavior_ ABSL_GUARDED_BY(mu_) = Behavior::kEcho;
  std::vector<std::string> prepared_ ABSL_GUARDED_BY(mu_);
  std::vector<std::string> destroyed_ ABSL_GUARDED_BY(mu_);
  std::vector<std::string> exchanges_ ABSL_GUARDED_BY(mu_);
  int waiting_for_ready_ ABSL_GUARDED_BY(mu_) = 0;
  std::vector<std::string> released_ ABSL_GUARDED_BY(mu_);
};

}  // namespace fnrunner
