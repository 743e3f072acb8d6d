#pragma once

// An in-process fake runner for lb-client tests: fn's RunnerProtocol (Engage, Status, Status2)
// and, optionally, RunnerCapacity, on 127.0.0.1 with scripted behaviour. Test-only.

#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "grpcpp/grpcpp.h"
#include "proto/capacity.grpc.pb.h"
#include "proto/runner.grpc.pb.h"

namespace fnrunner::testing {

// What the fake does with one Engage stream.
enum class EngageScript {
  kEcho,          // reads the body, answers 200 with it (Content-Type: text/plain), success;
                  // CallFinished reports 500 ms of execution
  kColdEcho,      // as kEcho, reporting a 10 s cold start (ctrCreateDuration + initStartTime)
  kNackFinished,  // CallFinished{success: false, errorCode: 503} at once, body unread
  kNackStatus,    // ends the RPC with gRPC status 503 before reading TryCall
  kFail502,       // reads the body, CallFinished{errorCode: 502, "function failed", user}
  kFailNoMessage, // reads the body, CallFinished{success: false, errorCode: 500, errorStr: ""}
  kOutputThen503, // 200 and a data frame, then CallFinished 503 (a runner bug: stays committed)
  kUnknownStatus, // reads TryCall, ends the RPC with UNKNOWN and no CallFinished
  kHeldEcho,      // as kEcho, but answers only after Release()
};

// What one Engage stream delivered.
struct ReceivedCall {
  TryCall try_call;
  std::string request_id;            // fn_request_id metadata
  std::vector<size_t> frame_sizes;   // data frames in order, the eof frame included
  std::vector<bool> frame_eofs;
  std::string body;
};

struct FakeRunnerOptions {
  bool capacity_service = true;  // false: RunnerCapacity is UNIMPLEMENTED (a stock fn runner)
  int port = 0;                  // 0: any free port
  std::string tls_cert_chain;    // PEM; with a key: TLS
  std::string tls_private_key;
  std::string tls_client_ca;     // PEM; mutual TLS
};

// Thread-safe. Handlers run on gRPC's sync-server threads.
class FakeRunner {
 public:
  explicit FakeRunner(FakeRunnerOptions options = {});
  ~FakeRunner();  // Stop()

  // Starts serving (again, after Stop(), on the same port). Internal if it cannot bind.
  absl::Status Start();
  // Ends every stream and stops listening: clients then see UNAVAILABLE.
  void Stop();

  std::string address() const;  // 127.0.0.1:<port>
  int port() const { return port_; }

  // Behaviour of the next Engage streams, one script each, then `default_script` forever.
  void SetDefault(EngageScript script) ABSL_LOCKS_EXCLUDED(mu_);
  void Queue(std::vector<EngageScript> scripts) ABSL_LOCKS_EXCLUDED(mu_);
  void SetStatusOk(bool ok) ABSL_LOCKS_EXCLUDED(mu_);
  // Lets kHeldEcho calls (held now or later) answer.
  void Release() ABSL_LOCKS_EXCLUDED(mu_);
  // Blocks until `n` calls have delivered their whole body (or `timeout`).
  bool WaitForCalls(size_t n, absl::Duration timeout) ABSL_LOCKS_EXCLUDED(mu_);
  // Sets the capacity snapshot (seq is bumped) and pushes it to open Watch streams.
  void SetCapacity(capacity::CapacitySnapshot snapshot) ABSL_LOCKS_EXCLUDED(mu_);

  std::vector<ReceivedCall> calls() ABSL_LOCKS_EXCLUDED(mu_);
  int engage_count() ABSL_LOCKS_EXCLUDED(mu_);
  int status_count() ABSL_LOCKS_EXCLUDED(mu_);
  int watch_count() ABSL_LOCKS_EXCLUDED(mu_);  // Watch streams opened so far

 private:
  class Protocol;
  class Capacity;

  EngageScript NextScript() ABSL_LOCKS_EXCLUDED(mu_);

  const FakeRunnerOptions options_;
  int port_ = 0;
  std::unique_ptr<Protocol> protocol_;
  std::unique_ptr<Capacity> capacity_;
  std::unique_ptr<grpc::Server> server_;

  absl::Mutex mu_;
  EngageScript default_script_ ABSL_GUARDED_BY(mu_) = EngageScript::kEcho;
  std::deque<EngageScript> queued_ ABSL_GUARDED_BY(mu_);
  bool status_ok_ ABSL_GUARDED_BY(mu_) = true;
  bool released_ ABSL_GUARDED_BY(mu_) = false;
  capacity::CapacitySnapshot snapshot_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<ReceivedCall> calls_ ABSL_GUARDED_BY(mu_);
  int engage_count_ ABSL_GUARDED_BY(mu_) = 0;
  int status_count_ ABSL_GUARDED_BY(mu_) = 0;
  int watch_count_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace fnrunner::testing
