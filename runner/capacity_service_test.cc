#include "runner/capacity_service.h"

#include <chrono>
#include <memory>
#include <string>

#include "agent/fake_agent.h"
#include "base/fake_clock.h"
#include "gmock/gmock.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "proto/capacity.grpc.pb.h"

namespace fnrunner {
namespace {

using capacity::CapacitySnapshot;
using capacity::RunnerCapacity;
using ::testing::ElementsAre;
using ::testing::MatchesRegex;

std::chrono::system_clock::time_point Deadline() {
  return std::chrono::system_clock::now() + std::chrono::seconds(10);
}

AgentSnapshot Snapshot(int idle) {
  AgentSnapshot s;
  s.memory_total_bytes = 1 << 30;
  s.memory_reserved_bytes = 256 << 20;
  s.memory_evictable_bytes = 128 << 20;
  s.cpu_total_mcpus = 2000;
  s.cpu_reserved_mcpus = 500;
  s.cpu_evictable_mcpus = 250;
  s.calls_running = 3;
  s.calls_waiting = 1;
  s.slots.push_back({.slot_key = "ff01", .idle = idle, .paused = 2, .busy = 3, .starting = 4,
                     .waiting_calls = 5});
  s.slots.push_back({.slot_key = "0a", .busy = 1});
  return s;
}

class CapacityServiceTest : public ::testing::Test {
 protected:
  explicit CapacityServiceTest(absl::Duration poll_interval = absl::ZeroDuration())
      : service_({.runner_id = "runner-a", .poll_interval = poll_interval}, agent_,
                 poll_interval > absl::ZeroDuration() ? Clock::Real() : clock_) {
    agent_.SetSnapshot(Snapshot(1));
    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
    builder.RegisterService(&service_);
    server_ = builder.BuildAndStart();
    stub_ = RunnerCapacity::NewStub(grpc::CreateChannel(
        "127.0.0.1:" + std::to_string(port), grpc::InsecureChannelCredentials()));
  }
  ~CapacityServiceTest() override {
    service_.Shutdown();  // Else the server's shutdown waits out its deadline for Watch streams.
    server_->Shutdown(Deadline());
  }

  CapacitySnapshot Get() {
    grpc::ClientContext context;
    context.set_deadline(Deadline());
    CapacitySnapshot response;
    EXPECT_TRUE(stub_->Get(&context, capacity::GetRequest(), &response).ok());
    return response;
  }

  FakeClock clock_;
  FakeAgent agent_{clock_};
  CapacityService service_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<RunnerCapacity::Stub> stub_;
};

// One Watch stream read with the blocking API.
struct Watcher {
  explicit Watcher(RunnerCapacity::Stub& stub) {
    context.set_deadline(Deadline());
    reader = stub.Watch(&context, capacity::WatchRequest());
  }
  CapacitySnapshot Next() {
    CapacitySnapshot snapshot;
    EXPECT_TRUE(reader->Read(&snapshot));
    return snapshot;
  }
  grpc::ClientContext context;
  std::unique_ptr<grpc::ClientReader<CapacitySnapshot>> reader;
};

TEST(CapacityContentTest, CopiesEveryFieldAndSortsSlotsByKey) {
  AgentSnapshot agent = Snapshot(7);
  agent.draining = true;

  CapacitySnapshot s = CapacityContent(agent);

  EXPECT_TRUE(s.draining());
  EXPECT_EQ(s.memory_total_bytes(), 1 << 30);
  EXPECT_EQ(s.memory_reserved_bytes(), 256 << 20);
  EXPECT_EQ(s.memory_evictable_bytes(), 128 << 20);
  EXPECT_EQ(s.cpu_total_mcpus(), 2000);
  EXPECT_EQ(s.cpu_reserved_mcpus(), 500);
  EXPECT_EQ(s.cpu_evictable_mcpus(), 250);
  EXPECT_EQ(s.calls_running(), 3);
  EXPECT_EQ(s.calls_waiting(), 1);
  ASSERT_EQ(s.slots_size(), 2);
  EXPECT_EQ(s.slots(0).slot_key(), "0a");
  EXPECT_EQ(s.slots(1).slot_key(), "ff01");
  EXPECT_EQ(s.slots(1).idle(), 7);
  EXPECT_EQ(s.slots(1).paused(), 2);
  EXPECT_EQ(s.slots(1).busy(), 3);
  EXPECT_EQ(s.slots(1).starting(), 4);
  EXPECT_EQ(s.slots(1).waiting_calls(), 5);
  EXPECT_EQ(s.seq(), 0u);
}

TEST_F(CapacityServiceTest, GetAnswersTheAgentsSnapshotWithIdentity) {
  CapacitySnapshot s = Get();

  EXPECT_EQ(s.runner_id(), "runner-a");
  EXPECT_THAT(s.epoch(), MatchesRegex("[0-9a-f]{16}"));
  EXPECT_EQ(s.seq(), 1u);
  EXPECT_EQ(s.taken_at_unix_nanos(), absl::ToUnixNanos(clock_.Now()));
  EXPECT_EQ(s.memory_total_bytes(), 1 << 30);
  EXPECT_EQ(s.slots_size(), 2);
}

TEST_F(CapacityServiceTest, SeqStaysWhileUnchangedAndGrowsOnEachChange) {
  const CapacitySnapshot first = Get();
  clock_.Advance(absl::Seconds(1));
  const CapacitySnapshot same = Get();
  agent_.SetSnapshot(Snapshot(2));
  const CapacitySnapshot changed = Get();

  EXPECT_EQ(same.seq(), first.seq());
  EXPECT_EQ(same.epoch(), first.epoch());
  EXPECT_GT(same.taken_at_unix_nanos(), first.taken_at_unix_nanos());
  EXPECT_EQ(changed.seq(), first.seq() + 1);
  EXPECT_EQ(changed.slots(1).idle(), 2);
}

TEST_F(CapacityServiceTest, WatchSendsTheCurrentSnapshotAtOnce) {
  Watcher watcher(*stub_);

  CapacitySnapshot s = watcher.Next();

  EXPECT_EQ(s.seq(), 1u);
  EXPECT_EQ(s.runner_id(), "runner-a");
  EXPECT_EQ(s.slots(1).idle(), 1);
}

TEST_F(CapacityServiceTest, TickPushesAChangeToEveryWatcher) {
  Watcher a(*stub_);
  Watcher b(*stub_);
  ASSERT_EQ(a.Next().seq(), 1u);
  ASSERT_EQ(b.Next().seq(), 1u);

  agent_.SetSnapshot(Snapshot(0));
  service_.Tick();

  CapacitySnapshot from_a = a.Next();
  CapacitySnapshot from_b = b.Next();
  EXPECT_EQ(from_a.seq(), 2u);
  EXPECT_EQ(from_a.slots(1).idle(), 0);
  EXPECT_EQ(from_b.seq(), 2u);
}

TEST_F(CapacityServiceTest, UnchangedSnapshotIsRepeatedOnlyAfterTheKeepaliveInterval) {
  Watcher watcher(*stub_);
  ASSERT_EQ(watcher.Next().seq(), 1u);

  service_.Tick();  // unchanged, interval not passed: nothing is sent
  clock_.Advance(absl::Seconds(1));
  service_.Tick();  // unchanged, interval passed: the same seq again, newly stamped

  CapacitySnapshot repeated = watcher.Next();
  EXPECT_EQ(repeated.seq(), 1u);
  EXPECT_EQ(repeated.taken_at_unix_nanos(), absl::ToUnixNanos(clock_.Now()));
}

TEST_F(CapacityServiceTest, ClientCancelEndsTheStreamAndRemovesTheWatcher) {
  Watcher watcher(*stub_);
  ASSERT_EQ(watcher.Next().seq(), 1u);
  ASSERT_EQ(service_.watchers(), 1);

  watcher.context.TryCancel();

  EXPECT_EQ(watcher.reader->Finish().error_code(), grpc::StatusCode::CANCELLED);
  EXPECT_TRUE(service_.AwaitWatchers(0, absl::Seconds(10)));
}

TEST_F(CapacityServiceTest, ShutdownEndsOpenWatchStreamsWithUnavailable) {
  Watcher watcher(*stub_);
  ASSERT_EQ(watcher.Next().seq(), 1u);

  service_.Shutdown();

  CapacitySnapshot ignored;
  while (watcher.reader->Read(&ignored)) {
  }
  EXPECT_EQ(watcher.reader->Finish().error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_TRUE(service_.AwaitWatchers(0, absl::Seconds(10)));
}

TEST_F(CapacityServiceTest, WatchAfterShutdownIsRefused) {
  service_.Shutdown();

  Watcher watcher(*stub_);

  CapacitySnapshot ignored;
  EXPECT_FALSE(watcher.reader->Read(&ignored));
  EXPECT_EQ(watcher.reader->Finish().error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(service_.watchers(), 0);
}

TEST_F(CapacityServiceTest, DrainingIsReported) {
  AgentSnapshot draining = Snapshot(1);
  draining.draining = true;
  agent_.SetSnapshot(draining);

  EXPECT_TRUE(Get().draining());
}

TEST_F(CapacityServiceTest, WatchersPushedInOrderSeeIncreasingSeqs) {
  Watcher watcher(*stub_);
  ASSERT_EQ(watcher.Next().seq(), 1u);

  std::vector<uint64_t> seqs;
  for (int idle = 10; idle < 15; ++idle) {
    agent_.SetSnapshot(Snapshot(idle));
    service_.Tick();
    seqs.push_back(watcher.Next().seq());
  }

  EXPECT_THAT(seqs, ElementsAre(2u, 3u, 4u, 5u, 6u));
}

class CapacityServicePollTest : public CapacityServiceTest {
 protected:
  CapacityServicePollTest() : CapacityServiceTest(absl::Milliseconds(5)) {}
};

TEST_F(CapacityServicePollTest, PollThreadPushesChangesWithoutTicks) {
  Watcher watcher(*stub_);
  CapacitySnapshot first = watcher.Next();

  agent_.SetSnapshot(Snapshot(9));

  // Keep-alives of the old content may come first; the change arrives within the deadline.
  CapacitySnapshot s = watcher.Next();
  while (s.seq() == first.seq()) s = watcher.Next();
  EXPECT_EQ(s.seq(), first.seq() + 1);
  EXPECT_EQ(s.slots(1).idle(), 9);
}

}  // namespace
}  // namespace fnrunner
