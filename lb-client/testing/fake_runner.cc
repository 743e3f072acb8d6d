#include "lb-client/testing/fake_runner.h"

#include <chrono>
#include <utility>

#include "absl/strings/str_cat.h"

namespace fnrunner::testing {
namespace {

constexpr size_t kFrameBytes = 10240;

RunnerMsg Finished(bool success, int code, const std::string& message, bool user = false) {
  RunnerMsg msg;
  CallFinished* f = msg.mutable_finished();
  f->set_success(success);
  f->set_errorcode(code);
  f->set_errorstr(message);
  f->set_erroruser(user);
  return msg;
}

RunnerMsg ResultStart(int status) {
  RunnerMsg msg;
  HttpRespMeta* http = msg.mutable_result_start()->mutable_http();
  http->set_status_code(status);
  HttpHeader* h = http->add_headers();
  h->set_key("Content-Type");
  h->set_value("text/plain");
  return msg;
}

RunnerMsg Data(std::string bytes) {
  RunnerMsg msg;
  msg.mutable_data()->set_data(std::move(bytes));
  return msg;
}

}  // namespace

class FakeRunner::Protocol final : public RunnerProtocol::Service {
 public:
  explicit Protocol(FakeRunner& runner) : runner_(runner) {}

  grpc::Status Engage(grpc::ServerContext* context,
                      grpc::ServerReaderWriter<RunnerMsg, ClientMsg>* stream) override {
    const EngageScript script = runner_.NextScript();
    if (script == EngageScript::kNackStatus) {
      return grpc::Status(static_cast<grpc::StatusCode>(503), "Timed out - server too busy");
    }
    ReceivedCall call;
    auto rid = context->client_metadata().find("fn_request_id");
    if (rid != context->client_metadata().end()) {
      call.request_id = std::string(rid->second.data(), rid->second.size());
    }
    ClientMsg msg;
    if (!stream->Read(&msg) || !msg.has_try_()) {
      return grpc::Status(grpc::StatusCode::UNKNOWN, "Protocol failure: expected ClientMsg_Try");
    }
    call.try_call = msg.try_();
    auto record = [&] {
      absl::MutexLock lock(&runner_.mu_);
      runner_.calls_.push_back(call);
    };
    if (script == EngageScript::kNackFinished) {
      record();
      stream->Write(Finished(false, 503, "Timed out - server too busy"));
      return grpc::Status::OK;
    }
    while (stream->Read(&msg)) {
      if (!msg.has_data()) {
        return grpc::Status(grpc::StatusCode::UNKNOWN, "Protocol failure: expected ClientMsg_Data");
      }
      call.frame_sizes.push_back(msg.data().data().size());
      call.frame_eofs.push_back(msg.data().eof());
      call.body += msg.data().data();
      if (msg.data().eof()) break;
    }
    record();
    switch (script) {
      case EngageScript::kFail502:
        stream->Write(Finished(false, 502, "function failed", /*user=*/true));
        return grpc::Status::OK;
      case EngageScript::kFailNoMessage:
        stream->Write(Finished(false, 500, ""));
        return grpc::Status::OK;
      case EngageScript::kOutputThen503:
        stream->Write(ResultStart(200));
        stream->Write(Data("partial"));
        stream->Write(Finished(false, 503, "Timed out - server too busy"));
        return grpc::Status::OK;
      case EngageScript::kUnknownStatus:
        return grpc::Status(grpc::StatusCode::UNKNOWN, "boom");
      case EngageScript::kHeldEcho: {
        absl::MutexLock lock(&runner_.mu_);
        auto go = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(runner_.mu_) {
          return runner_.released_ || runner_.stopping_;
        };
        runner_.mu_.Await(absl::Condition(&go));
        break;
      }
      default:
        break;
    }
    stream->Write(ResultStart(200));
    for (size_t offset = 0; offset < call.body.size(); offset += kFrameBytes) {
      stream->Write(Data(call.body.substr(offset, kFrameBytes)));
    }
    RunnerMsg done = Finished(true, 0, "");
    // Reported times only (nothing waits): 500 ms of execution; a cold start of 10 s.
    done.mutable_finished()->set_executionduration(500'000'000);
    if (script == EngageScript::kColdEcho) {
      done.mutable_finished()->set_ctrcreateduration(9'000'000'000);
      done.mutable_finished()->set_initstarttime(1'000'000'000);
    }
    stream->Write(done);
    return grpc::Status::OK;
  }

  grpc::Status Status(grpc::ServerContext*, const google::protobuf::Empty*,
                      RunnerStatus* response) override {
    return Answer(response);
  }
  grpc::Status Status2(grpc::ServerContext*, const google::protobuf::Struct*,
                       RunnerStatus* response) override {
    return Answer(response);
  }

 private:
  grpc::Status Answer(RunnerStatus* response) {
    absl::MutexLock lock(&runner_.mu_);
    ++runner_.status_count_;
    if (!runner_.status_ok_) return grpc::Status(grpc::StatusCode::INTERNAL, "unhealthy");
    response->set_requestsreceived(runner_.engage_count_);
    return grpc::Status::OK;
  }

  FakeRunner& runner_;
};

class FakeRunner::Capacity final : public capacity::RunnerCapacity::Service {
 public:
  explicit Capacity(FakeRunner& runner) : runner_(runner) {}

  grpc::Status Watch(grpc::ServerContext* context, const capacity::WatchRequest*,
                     grpc::ServerWriter<capacity::CapacitySnapshot>* writer) override {
    uint64_t sent = 0;
    {
      absl::MutexLock lock(&runner_.mu_);
      ++runner_.watch_count_;
    }
    while (true) {
      capacity::CapacitySnapshot snapshot;
      {
        absl::MutexLock lock(&runner_.mu_);
        auto ready = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(runner_.mu_) {
          return runner_.stopping_ || runner_.snapshot_.seq() != sent;
        };
        // Bounded so a cancelled client is noticed (the sync API has no cancel callback).
        runner_.mu_.AwaitWithTimeout(absl::Condition(&ready), absl::Milliseconds(20));
        if (runner_.stopping_) return grpc::Status(grpc::StatusCode::UNAVAILABLE, "stopping");
        if (runner_.snapshot_.seq() == sent) {
          if (context->IsCancelled()) return grpc::Status::CANCELLED;
          continue;
        }
        snapshot = runner_.snapshot_;
        sent = snapshot.seq();
      }
      if (!writer->Write(snapshot)) return grpc::Status::CANCELLED;
    }
  }

  grpc::Status Get(grpc::ServerContext*, const capacity::GetRequest*,
                   capacity::CapacitySnapshot* response) override {
    absl::MutexLock lock(&runner_.mu_);
    *response = runner_.snapshot_;
    return grpc::Status::OK;
  }

 private:
  FakeRunner& runner_;
};

FakeRunner::FakeRunner(FakeRunnerOptions options)
    : options_(std::move(options)),
      port_(options_.port),
      protocol_(std::make_unique<Protocol>(*this)),
      capacity_(std::make_unique<Capacity>(*this)) {}

FakeRunner::~FakeRunner() { Stop(); }

absl::Status FakeRunner::Start() {
  grpc::ServerBuilder builder;
  std::shared_ptr<grpc::ServerCredentials> credentials = grpc::InsecureServerCredentials();
  if (!options_.tls_cert_chain.empty()) {
    grpc::SslServerCredentialsOptions ssl(
        options_.tls_client_ca.empty()
            ? GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE
            : GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
    ssl.pem_root_certs = options_.tls_client_ca;
    ssl.pem_key_cert_pairs.push_back({options_.tls_private_key, options_.tls_cert_chain});
    credentials = grpc::SslServerCredentials(ssl);
  }
  int bound = 0;
  builder.AddListeningPort(absl::StrCat("127.0.0.1:", port_), credentials, &bound);
  builder.RegisterService(protocol_.get());
  if (options_.capacity_service) builder.RegisterService(capacity_.get());
  server_ = builder.BuildAndStart();
  if (server_ == nullptr || bound == 0) {
    return absl::InternalError(absl::StrCat("fake runner cannot bind 127.0.0.1:", port_));
  }
  port_ = bound;
  return absl::OkStatus();
}

void FakeRunner::Stop() {
  if (server_ == nullptr) return;
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
  server_->Wait();
  server_.reset();
  absl::MutexLock lock(&mu_);
  stopping_ = false;
}

std::string FakeRunner::address() const { return absl::StrCat("127.0.0.1:", port_); }

void FakeRunner::SetDefault(EngageScript script) {
  absl::MutexLock lock(&mu_);
  default_script_ = script;
}

void FakeRunner::Queue(std::vector<EngageScript> scripts) {
  absl::MutexLock lock(&mu_);
  queued_.insert(queued_.end(), scripts.begin(), scripts.end());
}

void FakeRunner::SetStatusOk(bool ok) {
  absl::MutexLock lock(&mu_);
  status_ok_ = ok;
}

void FakeRunner::Release() {
  absl::MutexLock lock(&mu_);
  released_ = true;
}

bool FakeRunner::WaitForCalls(size_t n, absl::Duration timeout) {
  absl::MutexLock lock(&mu_);
  auto enough = [this, n]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return calls_.size() >= n; };
  return mu_.AwaitWithTimeout(absl::Condition(&enough), timeout);
}

void FakeRunner::SetCapacity(capacity::CapacitySnapshot snapshot) {
  absl::MutexLock lock(&mu_);
  snapshot.set_seq(snapshot_.seq() + 1);
  snapshot.set_epoch("fake");
  snapshot_ = std::move(snapshot);
}

EngageScript FakeRunner::NextScript() {
  absl::MutexLock lock(&mu_);
  ++engage_count_;
  if (queued_.empty()) return default_script_;
  EngageScript next = queued_.front();
  queued_.pop_front();
  return next;
}

std::vector<ReceivedCall> FakeRunner::calls() {
  absl::MutexLock lock(&mu_);
  return calls_;
}

int FakeRunner::engage_count() {
  absl::MutexLock lock(&mu_);
  return engage_count_;
}

int FakeRunner::status_count() {
  absl::MutexLock lock(&mu_);
  return status_count_;
}

int FakeRunner::watch_count() {
  absl::MutexLock lock(&mu_);
  return watch_count_;
}

}  // namespace fnrunner::testing
