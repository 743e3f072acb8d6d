#include "lb-client/capacity_watch.h"

#include <utility>

#include "proto/grpc_status.h"

namespace fnrunner {

std::shared_ptr<CapacityWatch> CapacityWatch::Start(capacity::RunnerCapacity::Stub& stub,
                                                    std::shared_ptr<AsyncOps> ops,
                                                    absl::Time deadline,
                                                    OnSnapshot on_snapshot, OnEnd on_end) {
  auto watch = std::make_shared<CapacityWatch>(std::move(ops), std::move(on_snapshot),
                                               std::move(on_end));
  watch->self_ = watch;
  watch->context_.set_deadline(absl::ToChronoTime(deadline));
  stub.async()->Watch(&watch->context_, &watch->request_, watch.get());
  watch->StartRead(&watch->in_);
  watch->StartCall();
  return watch;
}

void CapacityWatch::OnReadDone(bool ok) {
  if (!ok) return;  // The stream is over; OnDone follows with its status.
  on_snapshot_(in_);
  StartRead(&in_);
}

void CapacityWatch::OnDone(const grpc::Status& status) {
  // Our self-reference goes last: `this` may be deleted when `keep` goes out of scope.
  std::shared_ptr<CapacityWatch> keep = std::move(self_);
  on_end_(ToAbslStatus(status));
  absl::MutexLock lock(&mu_);
  ended_ = true;
}

bool CapacityWatch::AwaitEnd(absl::Duration timeout) {
  absl::MutexLock lock(&mu_);
  return mu_.AwaitWithTimeout(absl::Condition(&ended_), timeout);
}

}  // namespace fnrunner
