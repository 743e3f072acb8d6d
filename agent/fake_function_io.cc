#include "agent/fake_function_io.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "agent/body_pipe.h"

namespace fnrunner {

// Every wait uses the factory's mutex, so a release, a cancel and an abort all wake it.
class FakeFunctionIoFactory::Io final : public FunctionIo {
 public:
  Io(FakeFunctionIoFactory& factory, std::string name, Readiness readiness)
      : factory_(factory), name_(std::move(name)), readiness_(readiness) {}
  ~Io() override {
    absl::MutexLock lock(&factory_.mu_);
    factory_.destroyed_.push_back(name_);
  }

  std::string HostDir() const override { return absl::StrCat("/fake-iofs/", name_); }

  absl::Status WaitReady() override {
    if (readiness_ == Readiness::kReady) return absl::OkStatus();
    if (readiness_ == Readiness::kBadSocket) {
      return absl::FailedPreconditionError("lsnr.sock is not a socket");
    }
    absl::MutexLock lock(&factory_.mu_);
    ++factory_.waiting_for_ready_;
    auto cancelled = [this] {
      factory_.mu_.AssertHeld();
      return wait_cancelled_;
    };
    factory_.mu_.Await(absl::Condition(&cancelled));
    --factory_.waiting_for_ready_;
    return absl::CancelledError("wait cancelled");
  }

  void CancelWait() override {
    absl::MutexLock lock(&factory_.mu_);
    wait_cancelled_ = true;
  }

  ExchangeOutcome Exchange(const Call&, absl::Time, BodyPipe& body,
                           ResponseSink& sink) override {
    ExchangeOutcome aborted;
    aborted.aborted = true;
    aborted.container_reusable = false;
    Behavior behavior;
    {
      absl::MutexLock lock(&factory_.mu_);
      behavior = factory_.behavior_;
      factory_.exchanges_.push_back(name_);
      if (behavior == Behavior::kBlock || behavior == Behavior::kHang) {
        auto may_go_on = [this, behavior] {
          factory_.mu_.AssertHeld();
          if (exchange_aborted_) return true;
          if (behavior == Behavior::kHang) return false;
          for (const std::string& name : factory_.released_) {
            if (name == name_) return true;
          }
          return false;
        };
        factory_.mu_.Await(absl::Condition(&may_go_on));
        if (exchange_aborted_) {
          exchange_aborted_ = false;
          return aborted;
        }
      }
    }
    ExchangeOutcome outcome;
    switch (behavior) {
      case Behavior::kBlock:
      case Behavior::kEcho: {
        std::string request;
        while (true) {
          absl::StatusOr<BodyPipe::Chunk> chunk = body.Next();
          if (!chunk.ok()) return aborted;
          request += chunk->data;
          if (chunk->last) break;
        }
        sink.OnResponseStart(200, {{"Content-Type", "text/plain"}});
        if (!request.empty()) sink.OnResponseData(request);
        return outcome;
      }
      case Behavior::kHang:
        return aborted;  // Only an abort ends a hang.
      case Behavior::kCrash:
        outcome.error = fn_errors::FunctionResponse();
        outcome.container_reusable = false;
        return outcome;
      case Behavior::kFail502:
        outcome.error = fn_errors::FunctionFailed();
        return outcome;
    }
    return outcome;
  }

  void AbortExchange() override {
    absl::MutexLock lock(&factory_.mu_);
    exchange_aborted_ = true;
  }

 private:
  FakeFunctionIoFactory& factory_;
  const std::string name_;
  const Readiness readiness_;
  bool wait_cancelled_ ABSL_GUARDED_BY(factory_.mu_) = false;
  bool exchange_aborted_ ABSL_GUARDED_BY(factory_.mu_) = false;
};

absl::StatusOr<std::unique_ptr<FunctionIo>> FakeFunctionIoFactory::Prepare(
    absl::string_view container_name) {
  absl::MutexLock lock(&mu_);
  prepared_.emplace_back(container_name);
  return std::make_unique<Io>(*this, std::string(container_name), readiness_);
}

void FakeFunctionIoFactory::Release(const std::string& container_name) {
  absl::MutexLock lock(&mu_);
  released_.push_back(container_name);
}

void FakeFunctionIoFactory::set_readiness(Readiness r) {
  absl::MutexLock lock(&mu_);
  readiness_ = r;
}

void FakeFunctionIoFactory::set_behavior(Behavior b) {
  absl::MutexLock lock(&mu_);
  behavior_ = b;
}

std::vector<std::string> FakeFunctionIoFactory::prepared() const {
  absl::MutexLock lock(&mu_);
  return prepared_;
}

std::vector<std::string> FakeFunctionIoFactory::destroyed() const {
  absl::MutexLock lock(&mu_);
  return destroyed_;
}

std::vector<std::string> FakeFunctionIoFactory::exchanges() const {
  absl::MutexLock lock(&mu_);
  return exchanges_;
}

void FakeFunctionIoFactory::AwaitExchangesStarted(int n) const {
  absl::MutexLock lock(&mu_);
  auto started = [this, n] {
    mu_.AssertHeld();
    return static_cast<int>(exchanges_.size()) >= n;
  };
  mu_.Await(absl::Condition(&started));
}

void FakeFunctionIoFactory::AwaitWaitingForReady(int n) const {
  absl::MutexLock lock(&mu_);
  auto waiting = [this, n] {
    mu_.AssertHeld();
    return waiting_for_ready_ >= n;
  };
  mu_.Await(absl::Condition(&waiting));
}

}  // namespace fnrunner
