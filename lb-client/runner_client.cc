#include "lb-client/runner_client.h"

#include <pthread.h>

#include <algorithm>
#include <thread>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "lb-client/capacity_watch.h"
#include "proto/grpc_status.h"

namespace fnrunner {
namespace {

// fn's frame size for request and response bodies.
constexpr size_t kFrameBytes = 10240;
// fn's NACK text (the LB only looks at the code).
constexpr char kServerTooBusy[] = "Timed out - server too busy";
constexpr int kFnBusyCode = 503;

int Millis(absl::Duration d) {
  return static_cast<int>(std::min<int64_t>(absl::ToInt64Milliseconds(d), INT32_MAX));
}

AttemptResult Nack() {
  AttemptResult r;
  r.kind = AttemptResult::Kind::kNack;
  r.status = absl::ResourceExhaustedError(kServerTooBusy);
  return r;
}

AttemptResult Placed(absl::Status status) {
  AttemptResult r;
  r.kind = AttemptResult::Kind::kPlaced;
  r.status = std::move(status);
  return r;
}

// A committed stream that ended without (a good) CallFinished: fn's LB answers 500.
absl::Status StreamError(const grpc::Status& status) {
  if (status.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED) {
    return absl::DeadlineExceededError(status.error_message());
  }
  return absl::InternalError(absl::StrCat("runner stream ended with gRPC status ",
                                          status.error_code(), ": ", status.error_message()));
}

}  // namespace

absl::Status ValidateRunnerAddress(absl::string_view address) {
  const size_t colon = address.rfind(':');
  int port = 0;
  if (colon == absl::string_view::npos || colon == 0 ||
      !absl::SimpleAtoi(address.substr(colon + 1), &port) || port <= 0 || port > 65535) {
    return absl::InvalidArgumentError(
        absl::StrCat("runner address \"", address, "\" is not host:port"));
  }
  return absl::OkStatus();
}

absl::Status FnErrorCodeToStatus(int code, absl::string_view message) {
  absl::StatusCode status_code = absl::StatusCode::kInternal;
  if (code == 404) {
    status_code = absl::StatusCode::kNotFound;
  } else if (code >= 400 && code < 500) {
    status_code = absl::StatusCode::kInvalidArgument;
  } else if (code == 501) {
    status_code = absl::StatusCode::kUnimplemented;
  } else if (code == 503) {
    status_code = absl::StatusCode::kResourceExhausted;
  } else if (code == 504) {
    status_code = absl::StatusCode::kDeadlineExceeded;
  }
  // fn's LB shows this text when the runner sent none (runner-protocol.md §10.19).
  return absl::Status(status_code,
                      message.empty() ? "Unknown Error From Pure Runner" : message);
}

std::shared_ptr<grpc::Channel> MakeRunnerChannel(const std::string& address,
                                                 const ChannelOptions& options) {
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, Millis(options.keepalive_time));
  args.SetInt(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, Millis(options.keepalive_timeout));
  args.SetInt(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  args.SetInt(GRPC_ARG_HTTP2_MAX_PINGS_WITHOUT_DATA, 0);
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, Millis(options.initial_reconnect_backoff));
  args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, Millis(options.min_connect_timeout));
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, Millis(options.max_reconnect_backoff));
  args.SetMaxReceiveMessageSize(options.max_receive_message_bytes);
  // One connection per runner, not shared with other channels of the process.
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  std::shared_ptr<grpc::ChannelCredentials> credentials;
  if (options.tls) {
    grpc::SslCredentialsOptions ssl;
    ssl.pem_root_certs = options.tls_root_certs_pem;
    ssl.pem_cert_chain = options.tls_client_cert_pem;
    ssl.pem_private_key = options.tls_client_key_pem;
    credentials = grpc::SslCredentials(ssl);
    if (!options.tls_server_name.empty()) {
      args.SetSslTargetNameOverride(options.tls_server_name);
    }
  } else {
    credentials = grpc::InsecureChannelCredentials();
  }
  return grpc::CreateCustomChannel(address, credentials, args);
}

absl::StatusOr<std::unique_ptr<RunnerClient>> RunnerClient::Create(std::string address,
                                                                   const ChannelOptions& options) {
  if (absl::Status valid = ValidateRunnerAddress(address); !valid.ok()) return valid;
  std::shared_ptr<grpc::Channel> channel = MakeRunnerChannel(address, options);
  return std::unique_ptr<RunnerClient>(new RunnerClient(std::move(address), std::move(channel)));
}

RunnerClient::RunnerClient(std::string address, std::shared_ptr<grpc::Channel> channel)
    : address_(std::move(address)),
      channel_(std::move(channel)),
      stub_(RunnerProtocol::NewStub(channel_)),
      capacity_stub_(capacity::RunnerCapacity::NewStub(channel_)) {}

RunnerClient::~RunnerClient() { async_ops_->AwaitNone(); }

AttemptResult RunnerClient::Engage(const CallRequest& request, ResponseSink& sink,
                                   absl::Time deadline) {
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(deadline));
  if (!request.request_id.empty()) context.AddMetadata("fn_request_id", request.request_id);
  // The headers leave with the TryCall instead of in a flush of their own.
  context.set_initial_metadata_corked(true);
  std::unique_ptr<grpc::ClientReaderWriter<ClientMsg, RunnerMsg>> stream = stub_->Engage(&context);

  ClientMsg try_msg;
  TryCall* try_call = try_msg.mutable_try_();
  try_call->set_models_call_json(CallModelJson(request.call));
  try_call->set_slot_hash_id(request.slot_hash_id);
  for (const auto& [key, value] : request.extensions) {
    (*try_call->mutable_extensions())[key] = value;
  }
  if (!stream->Write(try_msg)) {
    // TryCall did not leave. fn retries only UNAVAILABLE (and the runner's 503); anything else
    // counts as placed and failed (runner-protocol.md §2.6).
    const grpc::Status status = stream->Finish();
    if (static_cast<int>(status.error_code()) == kFnBusyCode) return Nack();
    if (status.error_code() == grpc::StatusCode::UNAVAILABLE) {
      AttemptResult r;
      r.kind = AttemptResult::Kind::kNotPlaced;
      r.status = absl::UnavailableError(status.error_message());
      return r;
    }
    return Placed(StreamError(status));
  }

  // The body goes out at once, before any answer, as fn's LB sends it, except that the last
  // frame carries eof (fn's LB adds an empty eof frame; runners accept both, and one message
  // less is one round trip less). A failed write means the runner ended the stream (a NACK,
  // or an error): stop and read what it said. fn never half-closes; neither do we.
  size_t offset = 0;
  do {
    ClientMsg frame;
    DataFrame* data = frame.mutable_data();
    data->set_data(request.body.substr(offset, kFrameBytes));
    offset += data->data().size();
    data->set_eof(offset >= request.body.size());
    if (!stream->Write(frame)) break;
  } while (offset < request.body.size());

  AttemptResult result;
  RunnerMsg msg;
  while (stream->Read(&msg)) {
    if (result.finished) {
      // Anything after a successful CallFinished (runner-protocol.md §2.7).
      context.TryCancel();
      stream->Finish();  // CANCELLED: we ended it.
      result.kind = AttemptResult::Kind::kPlaced;
      result.status = absl::InternalError("Purerunner missing EOF response");
      return result;
    }
    switch (msg.body_case()) {
      case RunnerMsg::kResultStart: {
        if (!msg.result_start().has_http()) break;  // fn logs "Unhandled meta type"
        std::vector<std::pair<std::string, std::string>> headers;
        for (const HttpHeader& h : msg.result_start().http().headers()) {
          headers.emplace_back(h.key(), h.value());
        }
        result.output_started = true;
        sink.OnStart(msg.result_start().http().status_code(), headers);
        break;
      }
      case RunnerMsg::kData:
        result.output_started = true;
        sink.OnData(msg.data().data());
        break;
      case RunnerMsg::kFinished:
        result.finished = msg.finished();
        break;
      default:
        break;  // Unknown messages are skipped, as fn's LB does.
    }
    if (result.finished && !result.finished->success()) {
      // fn's LB stops at a failed CallFinished and cancels the stream.
      context.TryCancel();
      stream->Finish();  // CANCELLED: we ended it.
      const int code = result.finished->errorcode();
      // A 503 after output would corrupt the response on a retry: it stays committed.
      if (code == kFnBusyCode && !result.output_started) {
        AttemptResult nack = Nack();
        nack.finished = std::move(result.finished);
        return nack;
      }
      result.kind = AttemptResult::Kind::kPlaced;
      result.fn_error_code = code;
      result.status = FnErrorCodeToStatus(code, result.finished->errorstr());
      return result;
    }
  }
  const grpc::Status status = stream->Finish();
  result.kind = AttemptResult::Kind::kPlaced;
  if (result.finished) {
    // A successful call; a bad status after it is fn's 500.
    result.status = status.ok() ? absl::OkStatus() : StreamError(status);
    return result;
  }
  if (static_cast<int>(status.error_code()) == kFnBusyCode && !result.output_started) {
    return Nack();
  }
  result.status = status.ok() ? absl::InternalError("runner ended the stream without CallFinished")
                              : StreamError(status);
  return result;
}

absl::StatusOr<RunnerStatus> RunnerClient::Status(absl::Duration timeout) {
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + timeout));
  RunnerStatus response;
  const grpc::Status status = stub_->Status(&context, google::protobuf::Empty(), &response);
  if (!status.ok()) return ToAbslStatus(status);
  return response;
}

absl::StatusOr<RunnerStatus> RunnerClient::Status2(const google::protobuf::Struct& request,
                                                   absl::Duration timeout) {
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + timeout));
  RunnerStatus response;
  const grpc::Status status = stub_->Status2(&context, request, &response);
  if (!status.ok()) return ToAbslStatus(status);
  return response;
}

void RunnerClient::StatusAsync(absl::Duration timeout,
                               std::function<void(absl::StatusOr<RunnerStatus>)> done) {
  // A blocking Status on a thread of its own rather than gRPC's callback API: once a channel
  // has made one callback call, gRPC keeps two "nexting" threads polling for the rest of its
  // life, and they take the socket reads of every call on the channel away from the thread
  // that made it: a cross-thread wake-up per read. In `fnlb bench` on 2 vCPUs that was about
  // 7 more context switches per Engage call (8.5 against 1.7).
  auto ticket = std::make_shared<AsyncOps::Ticket>(async_ops_);
  std::thread([this, timeout, done = std::move(done), ticket = std::move(ticket)] {
    pthread_setname_np(pthread_self(), kStatusProbeThreadName);
    done(Status(timeout));
  }).detach();
}

absl::StatusOr<capacity::CapacitySnapshot> RunnerClient::GetCapacity(absl::Duration timeout) {
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + timeout));
  capacity::CapacitySnapshot response;
  const grpc::Status status = capacity_stub_->Get(&context, capacity::GetRequest(), &response);
  if (!status.ok()) return ToAbslStatus(status);
  return response;
}

std::shared_ptr<CapacityWatch> RunnerClient::Watch(
    absl::Duration max_duration,
    std::function<void(const capacity::CapacitySnapshot&)> on_snapshot,
    std::function<void(absl::Status)> on_end) {
  return CapacityWatch::Start(*capacity_stub_, async_ops_, absl::Now() + max_duration,
                              std::move(on_snapshot), std::move(on_end));
}

}  // namespace fnrunner
