// lb-client end to end: three real fn-runner processes with the hot agent on dockerd, the
// fn-test/fdk function, and our pool and placers in front (runner-protocol.md §9).

#include <signal.h>

#include <algorithm>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/random/random.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "base/clock.h"
#include "base/fake_clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "lb-client/call_id.h"
#include "lb-client/call_model.h"
#include "lb-client/capacity_placer.h"
#include "lb-client/capacity_watch.h"
#include "lb-client/http_answer.h"
#include "lb-client/json_output.h"
#include "lb-client/placer.h"
#include "lb-client/runner_pool.h"
#include "tests/runner/runner_process.h"
#include "tests/testing/docker_cli.h"
#include "tests/testing/poll.h"
#include "tests/testing/status_matchers.h"

namespace fnrunner::testing {
namespace {

constexpr char kImage[] = "fn-test/fdk:latest";

class LbE2eTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_THAT(RequireImage(kImage), IsOk()); }

  // Starts `n` runners; each gets its own container label tag (fn-runner-test-lb-...), which
  // the leftover check recognises, so containers of a killed runner can be found and removed.
  void StartRunners(int n, std::map<std::string, std::string> env = {}) {
    static absl::BitGen gen;
    const std::string run = absl::StrFormat("%08x", absl::Uniform<uint32_t>(gen));
    if (!env.contains("FN_ENABLE_NB_RESOURCE_TRACKER")) env["FN_ENABLE_NB_RESOURCE_TRACKER"] = "true";
    for (int i = 0; i < n; ++i) {
      tags_.push_back(absl::StrCat("fn-runner-test-lb-", run, "-", i));
      env["FN_CONTAINER_LABEL_TAG"] = tags_.back();
      runners_.push_back(std::make_unique<RunnerProcess>());
      ASSERT_THAT(runners_.back()->Start({}, env), IsOk());
    }
  }

  std::string Address(int i) { return absl::StrCat("127.0.0.1:", runners_[i]->grpc_port()); }

  void MakePool(bool watch_capacity, absl::Duration tick = absl::Milliseconds(100)) {
    RunnerPoolOptions options;
    options.tick_interval = tick;
    options.watch_capacity = watch_capacity;
    pool_ = std::make_unique<RunnerPool>(options);
    for (size_t i = 0; i < runners_.size(); ++i) ASSERT_THAT(pool_->Add(Address(i)), IsOk());
    pool_->Tick();
    pool_->AwaitFirstReports(absl::Now() + absl::Seconds(5));
  }

  void TearDown() override {
    // Our connections first: the runners' final Server::Shutdown waits for connected clients.
    pool_.reset();
    runners_.clear();  // SIGTERM and wait: a drained runner removes its containers
    for (const std::string& tag : tags_) {  // a killed one cannot
      absl::StatusOr<std::string> ids =
          RunDocker({"ps", "-aq", "--filter", "label=fn-agent-classifier=" + tag});
      if (!ids.ok() || ids->empty()) continue;
      for (absl::string_view id : absl::StrSplit(*ids, '\n', absl::SkipWhitespace())) {
        ExecDocker({"unpause", std::string(id)}).IgnoreError();  // may not be paused
        ExecDocker({"rm", "-f", std::string(id)}).IgnoreError();  // checked below
      }
    }
    for (const std::string& tag : tags_) {
      absl::StatusOr<std::string> left =
          RunDocker({"ps", "-aq", "--filter", "label=fn-agent-classifier=" + tag});
      EXPECT_TRUE(left.ok() && left->empty()) << "containers left for " << tag;
    }
  }

  static CallRequest Request(const std::string& fn_id, int memory_mb = 64,
                             const std::string& body = "hello") {
    static CallIdGenerator ids;
    CallRequest request;
    request.call.fn_id = fn_id;
    request.call.app_id = "lb-e2e";
    request.call.image = kImage;
    request.call.memory_mb = static_cast<uint64_t>(memory_mb);
    request.call.id = ids.Next(absl::Now());
    request.call.created_at = request.call.started_at = absl::Now();
    request.slot_hash_id = SlotHashId(request.call);
    request.body = body;
    return request;
  }

  static absl::Time Deadline() { return absl::Now() + absl::Seconds(60); }

  // Until the runner at `address` reports a call in a container.
  static bool WaitForBusy(const std::string& address) {
    auto client = RunnerClient::Create(address, ChannelOptions());
    if (!client.ok()) return false;
    return PollUntil(
               [&] {
                 auto s = (*client)->GetCapacity(absl::Seconds(2));
                 return s.ok() && s->calls_running() > 0;
               },
               absl::Seconds(20), "a call running on the runner")
        .ok();
  }

  // Until some runner's snapshot in the pool shows an idle or paused container for `slot`.
  bool WaitForWarm(const std::string& slot) {
    return PollUntil(
               [&] {
                 for (const RunnerState& r : pool_->Runners()) {
                   if (r.capacity == nullptr) continue;
                   for (const capacity::SlotCapacity& s : r.capacity->slots()) {
                     if (s.slot_key() == slot && s.idle() + s.paused() > 0) return true;
                   }
                 }
                 return false;
               },
               absl::Seconds(20), "a warm container")
        .ok();
  }

  std::vector<std::string> tags_;
  std::vector<std::unique_ptr<RunnerProcess>> runners_;
  std::unique_ptr<RunnerPool> pool_;
};

TEST_F(LbE2eTest, CallsSucceedThroughThePoolWithEveryPlacer) {
  StartRunners(3);
  MakePool(/*watch_capacity=*/true);
  PlacerOptions options;
  options.placer_timeout = absl::Seconds(30);
  CapacityPlacerOptions capacity_options;
  std::vector<std::unique_ptr<Placer>> placers;
  placers.push_back(MakeNaivePlacer(*pool_, Clock::Real(), options));
  placers.push_back(MakeConsistentHashPlacer(*pool_, options));
  placers.push_back(std::make_unique<CapacityPlacer>(*pool_, capacity_options));

  for (auto& placer : placers) {
    for (int i = 0; i < 4; ++i) {
      BufferingSink sink;
      const std::string body = absl::StrCat(placer->name(), " ", i);
      PlacementResult result = placer->Place(Request("echo", 64, body), sink, Deadline());

      ASSERT_THAT(result.status, IsOk()) << placer->name();
      EXPECT_EQ(sink.status(), 200);
      EXPECT_EQ(sink.body(), body);
    }
  }
}

TEST_F(LbE2eTest, CapacityPlacerSendsRepeatCallsToTheWarmContainer) {
  StartRunners(3);
  MakePool(/*watch_capacity=*/true);
  CapacityPlacer placer(*pool_, CapacityPlacerOptions());
  BufferingSink sink;

  PlacementResult first = placer.Place(Request("warm-fn"), sink, Deadline());
  const std::string first_slot = Request("warm-fn").slot_hash_id;
  std::vector<PlacementResult> later;
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(WaitForWarm(first_slot));
    later.push_back(placer.Place(Request("warm-fn"), sink, Deadline()));
  }

  ASSERT_THAT(first.status, IsOk());
  EXPECT_TRUE(IsColdStart(first));
  for (const PlacementResult& r : later) {
    ASSERT_THAT(r.status, IsOk());
    EXPECT_EQ(r.runner, first.runner);
    EXPECT_EQ(r.tier, "warm");
    EXPECT_FALSE(IsColdStart(r));
  }
}

TEST_F(LbE2eTest, NackedCallsLandElsewhere) {
  // Runner 0 has room for one 128 MB container; a long call holds it.
  StartRunners(3, {{"FN_MAX_TOTAL_MEMORY_BYTES", std::to_string(128 << 20)}});
  MakePool(/*watch_capacity=*/false);
  auto holder = RunnerClient::Create(Address(0), ChannelOptions());
  ASSERT_THAT(holder, IsOk());
  CallRequest hold = Request("holder", 128);
  hold.call.headers["Fn-Test-Sleep-Ms"] = {"4000"};
  AttemptResult held;
  BufferingSink hold_sink;
  std::thread hold_call([&] { held = (*holder)->Engage(hold, hold_sink, Deadline()); });
  ASSERT_TRUE(WaitForBusy(Address(0)));
  // fn's naive placer starting at runner 0: (nanos + 1) mod 3 == 0.
  FakeClock clock(absl::FromUnixSeconds(1'700'000'000) + absl::Nanoseconds(2));
  auto naive = MakeNaivePlacer(*pool_, clock, PlacerOptions());
  BufferingSink sink;

  PlacementResult result = naive->Place(Request("other", 128), sink, Deadline());
  hold_call.join();

  ASSERT_THAT(result.status, IsOk());
  EXPECT_EQ(result.nacks, 1);
  EXPECT_EQ(result.runner, Address(1));
  EXPECT_THAT(held.status, IsOk());
}

TEST_F(LbE2eTest, ARunnerKilledMidRunIsSkipped) {
  StartRunners(3);
  MakePool(/*watch_capacity=*/false);
  PlacerOptions options;
  options.placer_timeout = absl::Seconds(30);
  FakeClock clock;  // every pass starts at the same runner: the killed one, below
  auto placer = MakeNaivePlacer(*pool_, clock, options);
  const int first = static_cast<int>((absl::ToUnixNanos(clock.Now()) % 1'000'000'000 + 1) % 3);
  struct Outcome {
    absl::Time started;
    PlacementResult result;
  };
  absl::Mutex mu;
  std::vector<Outcome> outcomes;
  // The load runs until 3 s after the kill (set then); workers check it under the lock.
  absl::Time end = absl::InfiniteFuture();
  std::vector<std::thread> workers;
  for (int w = 0; w < 3; ++w) {
    workers.emplace_back([&] {
      while (true) {
        {
          absl::MutexLock lock(&mu);
          if (absl::Now() >= end) break;
        }
        CallRequest request = Request("kill-test");
        request.call.headers["Fn-Test-Sleep-Ms"] = {"100"};
        BufferingSink sink;
        const absl::Time started = absl::Now();
        PlacementResult result = placer->Place(request, sink, Deadline());
        absl::MutexLock lock(&mu);
        outcomes.push_back({started, std::move(result)});
      }
    });
  }

  ASSERT_THAT(PollUntil(
                  [&] {
                    absl::MutexLock lock(&mu);
                    return outcomes.size() >= 6;
                  },
                  absl::Seconds(30), "calls before the kill"),
              IsOk());
  const absl::Time killed = absl::Now();
  runners_[first]->Signal(SIGKILL);
  {
    absl::MutexLock lock(&mu);
    end = killed + absl::Seconds(3);
  }
  for (std::thread& t : workers) t.join();

  absl::MutexLock lock(&mu);
  int failed = 0;
  int after = 0;
  std::string failures;
  for (const Outcome& o : outcomes) {
    if (!o.result.status.ok()) {
      ++failed;
      // SIGKILL is not an instant reset of the runner's connections: a call started in the
      // few milliseconds before the process is gone may still go out to it and fail (seen
      // under load: +4 ms). None may fail once its death is visible.
      EXPECT_LT(o.started, killed + absl::Milliseconds(100)) << o.result.status;
      absl::StrAppend(&failures, "\n  started ", absl::FormatDuration(o.started - killed),
                      " after the kill on ", o.result.runner, ": ", o.result.status.ToString());
    }
    if (o.started > killed + absl::Milliseconds(500)) {
      ++after;
      EXPECT_THAT(o.result.status, IsOk());
      EXPECT_NE(o.result.runner, Address(first));
      EXPECT_EQ(o.result.errors, 0) << "the pool should know the runner is down";
    }
  }
  // Each of the 3 workers: the call in flight when it died, and one that raced with its death.
  EXPECT_LE(failed, 6) << failures;
  EXPECT_GT(after, 5);
}

TEST_F(LbE2eTest, CapacitySnapshotsFollowAContainerThroughItsLife) {
  // Room for 256 MB; paused only after 500 ms idle, so both states are seen.
  StartRunners(1, {{"FN_MAX_TOTAL_MEMORY_BYTES", std::to_string(256 << 20)},
                   {"FN_FREEZE_IDLE_MSECS", "500"}});
  auto client = RunnerClient::Create(Address(0), ChannelOptions());
  ASSERT_THAT(client, IsOk());
  CallRequest call = Request("life", 128);
  call.call.headers["Fn-Test-Sleep-Ms"] = {"1000"};
  absl::Mutex mu;
  std::vector<std::string> states;  // distinct consecutive states of the call's slot
  auto watch = (*client)->Watch(
      absl::Seconds(60),
      [&](const capacity::CapacitySnapshot& s) {
        std::string state = "gone";
        for (const capacity::SlotCapacity& slot : s.slots()) {
          if (slot.slot_key() != call.slot_hash_id) continue;
          if (slot.starting() > 0) state = "starting";
          else if (slot.busy() > 0) state = "busy";
          else if (slot.idle() > 0) state = "idle";
          else if (slot.paused() > 0) state = "paused";
        }
        absl::MutexLock lock(&mu);
        if (states.empty() || states.back() != state) states.push_back(state);
      },
      [](absl::Status) {});
  auto seen = [&](const std::string& state) {
    absl::MutexLock lock(&mu);
    auto has = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
      return std::find(states.begin(), states.end(), state) != states.end();
    };
    return mu.AwaitWithTimeout(absl::Condition(&has), absl::Seconds(20));
  };

  // The watch starts asynchronously: the call must not beat its first snapshot.
  ASSERT_TRUE(seen("gone"));

  BufferingSink sink;
  AttemptResult result = (*client)->Engage(call, sink, Deadline());
  ASSERT_THAT(result.status, IsOk());
  ASSERT_TRUE(seen("paused"));
  // A 256 MB function needs the paused container's memory: it is evicted.
  AttemptResult big = (*client)->Engage(Request("big", 256), sink, Deadline());
  ASSERT_THAT(big.status, IsOk());
  watch->Cancel();
  ASSERT_TRUE(watch->AwaitEnd(absl::Seconds(10)));

  absl::MutexLock lock(&mu);
  EXPECT_THAT(states, ::testing::ElementsAre("gone", "starting", "busy", "idle", "paused", "gone"));
}

}  // namespace
}  // namespace fnrunner::testing
