#include "runner/grpc_test_util.h"

#include <chrono>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace fnrunner::testing {

TestRunner::TestRunner(TestRunnerOptions options) {
  status_ = std::make_unique<StatusProvider>(options.status, agent_, tracker_, metrics_, clock_);
  service_ = std::make_unique<RunnerService>(
      options.service, agent_, tracker_, metrics_, *status_, logs_, clock_,
      [this](absl::string_view level) -> absl::Status {
        if (level != "debug" && level != "info" && level != "warn" && level != "error") {
          return absl::InvalidArgumentError("bad level");
        }
        absl::MutexLock lock(&mu_);
        log_levels_.emplace_back(level);
        return absl::OkStatus();
      });
  options.server.listen_address = "127.0.0.1:0";
  absl::StatusOr<StartedServer> started = StartGrpcServer(options.server, {service_.get()});
  if (!started.ok()) {
    ADD_FAILURE() << started.status();
    return;
  }
  server_ = *std::move(started);
}

TestRunner::~TestRunner() {
  if (server_.server != nullptr) {
    server_.server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(5));
    server_.server->Wait();
  }
  status_.reset();  // Before the agent.
}

std::vector<std::string> TestRunner::log_levels() {
  absl::MutexLock lock(&mu_);
  return log_levels_;
}

std::shared_ptr<grpc::Channel> TestRunner::InsecureChannel() {
  return grpc::CreateChannel(absl::StrCat("127.0.0.1:", server_.port),
                             grpc::InsecureChannelCredentials());
}

std::unique_ptr<RunnerProtocol::Stub> TestRunner::Stub() {
  return RunnerProtocol::NewStub(InsecureChannel());
}

EngageResult RunEngage(RunnerProtocol::Stub& stub, const std::vector<ClientMsg>& messages,
                       const std::string& request_id) {
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
  if (!request_id.empty()) context.AddMetadata("fn_request_id", request_id);
  auto stream = stub.Engage(&context);
  for (const ClientMsg& msg : messages) {
    if (!stream->Write(msg)) break;  // The server ended the stream.
  }
  EngageResult result;
  RunnerMsg in;
  while (stream->Read(&in)) result.messages.push_back(in);
  result.status = stream->Finish();
  return result;
}

std::vector<std::string> Kinds(const std::vector<RunnerMsg>& messages) {
  std::vector<std::string> kinds;
  for (const RunnerMsg& m : messages) {
    if (m.has_result_start()) {
      kinds.push_back(absl::StrCat("start:", m.result_start().http().status_code()));
    } else if (m.has_data()) {
      kinds.push_back(absl::StrCat("data:", m.data().data().size()));
    } else if (m.has_finished()) {
      kinds.push_back(m.finished().success()
                          ? "finished:ok"
                          : absl::StrCat("finished:", m.finished().errorcode()));
    }
  }
  return kinds;
}

std::string Output(const std::vector<RunnerMsg>& messages) {
  std::string out;
  for (const RunnerMsg& m : messages) {
    if (m.has_data()) out += m.data().data();
  }
  return out;
}

AsyncEngage::AsyncEngage(RunnerProtocol::Stub& stub, std::vector<ClientMsg> messages)
    : out_(std::move(messages)) {
  context_.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(120));
  stub.async()->Engage(&context_, this);
  if (!out_.empty()) StartWrite(&out_[next_++]);
  StartRead(&in_);
  StartCall();
}

EngageResult AsyncEngage::Wait() {
  done_.WaitForNotification();
  absl::MutexLock lock(&mu_);
  return result_;
}

void AsyncEngage::OnWriteDone(bool ok) {
  if (ok && next_ < out_.size()) StartWrite(&out_[next_++]);
}

void AsyncEngage::OnReadDone(bool ok) {
  if (!ok) return;
  {
    absl::MutexLock lock(&mu_);
    result_.messages.push_back(in_);
  }
  StartRead(&in_);
}

void AsyncEngage::OnDone(const grpc::Status& status) {
  {
    absl::MutexLock lock(&mu_);
    result_.status = status;
  }
  done_.Notify();
}

}  // namespace fnrunner::testing
