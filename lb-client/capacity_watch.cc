#include "lb-client/capacity_watch.h"

#include <pthread.h>

#include <thread>
#include <utility>

#include "proto/grpc_status.h"

namespace fnrunner {

std::shared_ptr<CapacityWatch> CapacityWatch::Start(capacity::RunnerCapacity::Stub& stub,
                                                    std::shared_ptr<AsyncOps> ops,
                                                    absl::Time deadline,
                                                    OnSnapshot on_snapshot, OnEnd on_end) {
  auto watch = std::make_shared<CapacityWatch>(std::move(ops), std::move(on_snapshot),
                                               std::move(on_end));
  watch->context_.set_deadline(absl::ToChronoTime(deadline));
  // The thread shares the watch until the stream is over; it may drop the last reference.
  std::thread([watch, &stub] { watch->Run(stub); }).detach();
  return watch;
}

void CapacityWatch::Run(capacity::RunnerCapacity::Stub& stub) {
  pthread_setname_np(pthread_self(), kThreadName);
  std::unique_ptr<grpc::ClientReader<capacity::CapacitySnapshot>> reader =
      stub.Watch(&context_, capacity::WatchRequest());
  capacity::CapacitySnapshot snapshot;
  while (reader->Read(&snapshot)) on_snapshot_(snapshot);
  on_end_(ToAbslStatus(reader->Finish()));
  absl::MutexLock lock(&mu_);
  ended_ = true;
}

bool CapacityWatch::AwaitEnd(absl::Duration timeout) {
  absl::MutexLock lock(&mu_);
  return mu_.AwaitWithTimeout(absl::Condition(&ended_), timeout);
}

}  // namespace fnrunner
