#pragma once

// One runner as the LB sees it: fn's RunnerProtocol (Engage, Status, Status2) and our
// RunnerCapacity service, over one gRPC channel.

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "google/protobuf/struct.pb.h"
#include "grpcpp/grpcpp.h"
#include "lb-client/async_ops.h"
#include "lb-client/call_model.h"
#include "proto/capacity.grpc.pb.h"
#include "proto/runner.grpc.pb.h"

namespace fnrunner {

class CapacityWatch;

// How the LB connects to runners. Plaintext by default, as fn's static pool.
struct ChannelOptions {
  bool tls = false;
  std::string tls_root_certs_pem;   // with tls: the CA to trust; "" = the system's roots
  std::string tls_client_cert_pem;  // mutual TLS: our certificate chain and its key
  std::string tls_client_key_pem;
  std::string tls_server_name;      // verify the runner under this name, not its host
  // fn's system-test keepalive (runner-protocol.md §8): pings after 60 s idle, 10 s timeout.
  absl::Duration keepalive_time = absl::Seconds(60);
  absl::Duration keepalive_timeout = absl::Seconds(10);
  // Reconnect back-off. fn grows to 120 s; we cap lower so a restarted runner is back soon.
  absl::Duration initial_reconnect_backoff = absl::Milliseconds(100);
  absl::Duration max_reconnect_backoff = absl::Seconds(5);
  // Also the bound of one connection attempt, so a black-holed runner fails calls within it
  // instead of gRPC's default 20 s.
  absl::Duration min_connect_timeout = absl::Seconds(1);
  int max_receive_message_bytes = 16 << 20;
};

// One call to place: the model, the slot key sent with it, and the whole body (buffered, so
// every attempt can resend it, as fn's LB does).
struct CallRequest {
  LbCall call;
  std::string slot_hash_id;  // SlotHashId(call); "" lets the runner compute its own key
  std::string body;
  std::map<std::string, std::string> extensions;  // TryCall.extensions
  std::string request_id;  // sent as fn_request_id metadata when not empty
};

// Receives the response of an attempt as it streams in. A runner sends nothing before it
// commits (a NACK never follows output), so only the committed attempt reaches the sink; but
// a committed call may still fail after output began (the result says so).
class ResponseSink {
 public:
  virtual ~ResponseSink() = default;
  virtual void OnStart(int status, const std::vector<std::pair<std::string, std::string>>& headers) = 0;
  virtual void OnData(absl::string_view data) = 0;
};

// One attempt on one runner: fn's TryExec (runner-protocol.md §9.2).
struct AttemptResult {
  enum class Kind {
    kNack,          // not placed: 503 as CallFinished.errorCode or as the gRPC status code
    kNotPlaced,     // not placed: the stream failed with UNAVAILABLE before TryCall left
    kPlaced,        // committed; `status` is OK iff the function succeeded
  };
  Kind kind = Kind::kNotPlaced;
  // kNack: ResourceExhausted. kNotPlaced: Unavailable. kPlaced: OK, or the error: the runner's
  // CallFinished error (code from FnErrorCodeToStatus, message its errorStr), Internal for a
  // broken stream or protocol violation, DeadlineExceeded when our deadline passed.
  absl::Status status;
  int fn_error_code = 0;  // CallFinished.errorCode of a failed call; 0 otherwise
  std::optional<CallFinished> finished;
  bool output_started = false;  // the sink got result_start or data
};

// The absl code for fn's HTTP-style error code: 4xx InvalidArgument (404 NotFound), 503
// ResourceExhausted, 504 DeadlineExceeded, 501 Unimplemented, anything else Internal.
absl::Status FnErrorCodeToStatus(int fn_error_code, absl::string_view message);

// A connection to one runner. Thread-safe; every method may be called concurrently. The
// channel reconnects by itself; nothing here retries.
class RunnerClient {
 public:
  // InvalidArgument if `address` is not host:port.
  static absl::StatusOr<std::unique_ptr<RunnerClient>> Create(std::string address,
                                                              const ChannelOptions& options);
  RunnerClient(const RunnerClient&) = delete;
  RunnerClient& operator=(const RunnerClient&) = delete;
  // Waits until every StatusAsync and Watch it started is over and destroyed (cancel open
  // watches first): their threads use the stub (lb-client/async_ops.h). Never destroy a
  // RunnerClient from one of its own callbacks.
  ~RunnerClient();

  const std::string& address() const { return address_; }

  // One attempt: opens Engage, sends TryCall, streams the body in 10 KiB frames ending with an
  // empty eof frame, and streams the response into `sink`. Blocks the calling thread until the
  // call ends or `deadline` passes (the RPC's deadline).
  AttemptResult Engage(const CallRequest& request, ResponseSink& sink, absl::Time deadline);

  // fn's Status / Status2 with a deadline of `timeout`. Block.
  absl::StatusOr<RunnerStatus> Status(absl::Duration timeout);
  absl::StatusOr<RunnerStatus> Status2(const google::protobuf::Struct& request,
                                       absl::Duration timeout);
  // Status without blocking: `done` runs once, on a thread of its own named
  // kStatusProbeThreadName (not gRPC's callback API: see runner_client.cc for why).
  void StatusAsync(absl::Duration timeout,
                   std::function<void(absl::StatusOr<RunnerStatus>)> done);
  static constexpr char kStatusProbeThreadName[] = "fn-status-probe";

  // RunnerCapacity.Get. Blocks. Unimplemented from a runner without the service (stock fn).
  absl::StatusOr<capacity::CapacitySnapshot> GetCapacity(absl::Duration timeout);
  // Opens RunnerCapacity.Watch for at most `max_duration` (the RPC's deadline; reopen after).
  // Callbacks run on the watch's own thread, `on_snapshot` for each snapshot in order, then
  // `on_end` exactly once. Cancel() the returned watch to end it early.
  std::shared_ptr<CapacityWatch> Watch(
      absl::Duration max_duration,
      std::function<void(const capacity::CapacitySnapshot&)> on_snapshot,
      std::function<void(absl::Status)> on_end);

 private:
  RunnerClient(std::string address, std::shared_ptr<grpc::Channel> channel);

  const std::string address_;
  const std::shared_ptr<grpc::Channel> channel_;
  const std::unique_ptr<RunnerProtocol::Stub> stub_;
  const std::unique_ptr<capacity::RunnerCapacity::Stub> capacity_stub_;
  const std::shared_ptr<AsyncOps> async_ops_ = std::make_shared<AsyncOps>();
};

// OK if `address` is host:port with a port in 1..65535; InvalidArgument otherwise.
absl::Status ValidateRunnerAddress(absl::string_view address);

// Builds a channel to `address` with `options` (credentials and connection arguments).
std::shared_ptr<grpc::Channel> MakeRunnerChannel(const std::string& address,
                                                 const ChannelOptions& options);

}  // namespace fnrunner
