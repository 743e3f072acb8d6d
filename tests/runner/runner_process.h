#pragma once

// Runs the real fn-runner binary for end-to-end tests: free ports on 127.0.0.1, output to a
// temp dir (fn-runner-test-*), readiness via the gRPC health service, SIGTERM and a bounded
// wait on teardown. Every process gets a `--instance=fn-runner-test-instance-...` argument so
// scripts/check_leftovers.sh can find strays.

#include <sys/types.h>

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "grpcpp/grpcpp.h"
#include "proto/runner.grpc.pb.h"

namespace fnrunner::testing {

// How a finished process ended and what it printed.
struct ProcessResult {
  int exit_code = -1;   // -1 if killed by a signal
  int signal = 0;
  std::string out;
  std::string err;
};

// Runs fn-runner with `args` and `env` (added to a clean environment) to completion, at most
// `timeout`. For --help and startup failures.
absl::StatusOr<ProcessResult> RunRunnerToExit(const std::vector<std::string>& args,
                                              const std::map<std::string, std::string>& env,
                                              absl::Duration timeout = absl::Seconds(30));

// A free TCP port on 127.0.0.1 (bound, read, released; a small race is accepted).
int FreePort();

class RunnerProcess {
 public:
  RunnerProcess();
  RunnerProcess(const RunnerProcess&) = delete;
  RunnerProcess& operator=(const RunnerProcess&) = delete;
  // SIGTERM and wait (SIGKILL after 30 s), then removes the temp dir.
  ~RunnerProcess();

  // Starts fn-runner on free ports with `args` (plus listen host, ports, instance) and waits
  // until its health service answers SERVING.
  absl::Status Start(const std::vector<std::string>& args = {"--agent=refuse"},
                     const std::map<std::string, std::string>& env = {});

  // Sends `signo`; Wait() blocks until the process exits (at most `timeout`).
  void Signal(int signo);
  absl::StatusOr<ProcessResult> Wait(absl::Duration timeout);

  int grpc_port() const { return grpc_port_; }
  int http_port() const { return http_port_; }
  std::string log() const;  // stderr so far
  std::shared_ptr<grpc::Channel> Channel() const;
  std::unique_ptr<RunnerProtocol::Stub> Stub() const;

 private:
  std::string dir_;
  pid_t pid_ = -1;
  int grpc_port_ = 0;
  int http_port_ = 0;
};

// GET http://127.0.0.1:<port><path> over a plain socket; returns the whole response.
absl::StatusOr<std::string> HttpGet(int port, const std::string& path);

// grpc.health.v1.Health/Check: 1 SERVING, 2 NOT_SERVING; a gRPC error as its negated code.
int HealthCheck(const std::shared_ptr<grpc::Channel>& channel, const std::string& service,
                bool wait_for_ready = false);

}  // namespace fnrunner::testing
