// The hot-slot agent against a real dockerd and the FDK test image (tests/functions): the
// behaviours of the agent issue that only a real engine and a real function can prove.

#include <memory>
#include <string>
#include <vector>

#include "absl/random/random.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "agent/call.h"
#include "agent/fdk_function_io.h"
#include "agent/hot_agent.h"
#include "agent/log_hub.h"
#include "agent/recording_call_events.h"
#include "agent/resource_tracker.h"
#include "base/clock.h"
#include "drivers/docker/cgroup_freezer.h"
#include "drivers/docker/docker_driver.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/docker_cli.h"
#include "tests/testing/poll.h"
#include "tests/testing/status_matchers.h"
#include "tests/testing/temp_dir.h"

namespace fnrunner {
namespace {

using ::testing::IsEmpty;
using ::testing::SizeIs;

constexpr char kImage[] = "fn-test/fdk:latest";
constexpr uint64_t kMiB = 1 << 20;
constexpr uint64_t kMaxResponseBytes = 100'000;

class HotAgentDockerTest : public ::testing::Test {
 protected:
  void SetUp() override { Start(/*memory_mb=*/1024); }

  // (Re)builds the agent with `memory_mb` of capacity (and `spares` per function).
  void Start(uint64_t memory_mb, int spares = 0) {
    ASSERT_THAT(RequireImage(kImage), IsOk());
    absl::StatusOr<TempDir> iofs = TempDir::Create(TempDir::Mode::kWorldWritable);
    ASSERT_THAT(iofs, IsOk());
    iofs_root_ = std::make_unique<TempDir>(*std::move(iofs));

    DockerDriver::Options driver_options;
    absl::BitGen gen;
    driver_options.container_label_tag =
        absl::StrFormat("fn-runner-test-agent-%08x", absl::Uniform<uint32_t>(gen));
    absl::StatusOr<std::unique_ptr<DockerDriver>> driver = DockerDriver::Create(driver_options);
    ASSERT_THAT(driver, IsOk());
    driver_ = *std::move(driver);
    label_tag_ = driver_options.container_label_tag;

    FdkFunctionIoOptions io_options;
    io_options.iofs.root = iofs_root_->path();
    io_options.client.max_response_bytes = kMaxResponseBytes;
    io_ = std::make_unique<FdkFunctionIoFactory>(io_options);
    resources_ = std::make_unique<ResourceTracker>(Resources{memory_mb * kMiB, 4000});

    HotAgentOptions options;
    options.freeze_idle = absl::Milliseconds(50);
    options.init_timeout = absl::Seconds(3);
    options.tick_interval = absl::Milliseconds(10);
    options.container_labels = {{"fn-runner-test", "1"}};
    options.spares_per_slot = spares;
    options.spare_memory_bytes = memory_mb * kMiB / 2;
    agent_ = std::make_unique<HotAgent>(options, *driver_, *io_, *resources_, logs_,
                                        Clock::Real());
  }

  void TearDown() override {
    if (agent_ == nullptr) return;
    agent_->Shutdown(absl::Seconds(10));
    // Every container removed and every reservation released, on every path.
    EXPECT_THAT(Containers(), IsEmpty());
    EXPECT_EQ(resources_->Snapshot().used, Resources{});
    agent_.reset();
    driver_.reset();
  }

  static Call MakeCall(const std::string& fn_id, uint64_t memory_mb = 64) {
    static int counter = 0;
    Call call;
    call.id = CallId{absl::StrCat("call-", fn_id, "-", ++counter)};
    call.app_id = "app";
    call.fn_id = fn_id;
    call.image = kImage;
    call.timeout = absl::Seconds(30);
    call.idle_timeout = absl::Seconds(30);
    call.memory_mb = memory_mb;
    call.config = {{"FN_APP_ID", "app"}, {"FN_FN_ID", fn_id}};
    call.method = "POST";
    return call;
  }

  RecordingCallEvents& Submit(Call call, std::string body = "ping") {
    events_.push_back(std::make_unique<RecordingCallEvents>());
    handles_.push_back(agent_->Submit(std::move(call), *events_.back()));
    handles_.back()->AppendBody(std::move(body), true);
    return *events_.back();
  }

  // Waits (bounded) until the engine reports container `id` as paused.
  // Frozen whichever way the driver froze it: the engine's pause (docker shows Paused) or the
  // cgroup freezer (docker shows it running; its cgroup says frozen).
  static absl::Status AwaitPaused(const std::string& id) {
    return PollUntil(
        [&] {
          absl::StatusOr<std::string> state =
              RunDocker({"inspect", "-f", "{{.State.Paused}} {{.State.Pid}}", id});
          if (!state.ok()) return false;
          std::pair<std::string, std::string> fields =
              absl::StrSplit(absl::StripAsciiWhitespace(*state), ' ');
          if (fields.first == "true") return true;
          int64_t pid = 0;
          if (!absl::SimpleAtoi(fields.second, &pid)) return false;
          absl::StatusOr<FreezerFile> file = CgroupFreezer().Locate(pid);
          if (!file.ok()) return false;
          absl::StatusOr<bool> frozen = CgroupFreezer::IsFrozen(*file);
          return frozen.ok() && *frozen;
        },
        absl::Seconds(10), "container paused");
  }

  std::vector<ContainerSummary> Containers() {
    absl::StatusOr<std::vector<ContainerSummary>> list =
        driver_->ListContainers({{"fn-agent-classifier", label_tag_}});
    EXPECT_THAT(list, IsOk());
    return list.ok() ? *list : std::vector<ContainerSummary>{};
  }

  std::unique_ptr<TempDir> iofs_root_;
  std::unique_ptr<DockerDriver> driver_;
  std::string label_tag_;
  std::unique_ptr<FdkFunctionIoFactory> io_;
  std::unique_ptr<ResourceTracker> resources_;
  LogHub logs_;
  std::unique_ptr<HotAgent> agent_;
  std::vector<std::unique_ptr<RecordingCallEvents>> events_;
  std::vector<std::unique_ptr<CallHandle>> handles_;
};

TEST_F(HotAgentDockerTest, SequentialCallsReuseOneContainer) {
  std::vector<ContainerId> seen;
  for (int i = 0; i < 3; ++i) {
    RecordingCallEvents& events = Submit(MakeCall("f"), absl::StrCat("ping ", i));
    const CallResult& result = events.Wait();
    ASSERT_TRUE(result.success) << result.error_message;
    EXPECT_EQ(events.body(), absl::StrCat("ping ", i));
    std::vector<ContainerSummary> containers = Containers();
    ASSERT_THAT(containers, SizeIs(1));
    seen.push_back(containers[0].id);
  }

  EXPECT_EQ(seen[0], seen[1]);
  EXPECT_EQ(seen[1], seen[2]);
}

TEST_F(HotAgentDockerTest, FirstCallReportsMeasuredLaunchTimings) {
  const CallResult& result = Submit(MakeCall("f")).Wait();

  ASSERT_TRUE(result.success) << result.error_message;
  EXPECT_GT(result.container_create, absl::ZeroDuration());
  EXPECT_GT(result.init_start, absl::ZeroDuration());
  EXPECT_GT(result.execution, absl::ZeroDuration());
  EXPECT_GE(result.scheduler, result.container_create + result.init_start);
}

TEST_F(HotAgentDockerTest, ConcurrentCallsStartOneContainerEach) {
  std::vector<RecordingCallEvents*> calls;
  for (int i = 0; i < 3; ++i) {
    Call call = MakeCall("f");
    call.headers.push_back({"Fn-Test-Sleep-Ms", {"1500"}});
    calls.push_back(&Submit(call));
  }
  ASSERT_THAT(PollUntil([&] { return agent_->Snapshot().calls_running == 3; },
                        absl::Seconds(20), "3 calls running"),
              IsOk());

  EXPECT_THAT(Containers(), SizeIs(3));
  for (RecordingCallEvents* events : calls) EXPECT_TRUE(events->Wait().success);
}

TEST_F(HotAgentDockerTest, IdleContainerIsPausedThenRemoved) {
  Call call = MakeCall("f");
  call.idle_timeout = absl::Seconds(2);
  ASSERT_TRUE(Submit(call).Wait().success);
  std::vector<ContainerSummary> containers = Containers();
  ASSERT_THAT(containers, SizeIs(1));
  const std::string id = containers[0].id.value;

  EXPECT_THAT(AwaitPaused(id), IsOk());
  EXPECT_THAT(PollUntil([&] { return Containers().empty(); }, absl::Seconds(15),
                        "idle container removed"),
              IsOk());
}

TEST_F(HotAgentDockerTest, PausedContainerIsThawedForTheNextCall) {
  ASSERT_TRUE(Submit(MakeCall("f")).Wait().success);
  const std::string id = Containers().at(0).id.value;
  ASSERT_THAT(AwaitPaused(id), IsOk());

  RecordingCallEvents& events = Submit(MakeCall("f"), "after thaw");

  ASSERT_TRUE(events.Wait().success) << events.Wait().error_message;
  EXPECT_EQ(events.body(), "after thaw");
  EXPECT_EQ(Containers().at(0).id.value, id);
}

TEST_F(HotAgentDockerTest, SmallMemoryBudgetEvictsAnotherFunctionsIdleContainer) {
  agent_->Shutdown(absl::Seconds(5));
  Start(/*memory_mb=*/160);
  ASSERT_TRUE(Submit(MakeCall("a", 128)).Wait().success);

  const CallResult& b = Submit(MakeCall("b", 128)).Wait();

  ASSERT_TRUE(b.success) << b.error_message;
  ASSERT_THAT(PollUntil([&] { return Containers().size() == 1; }, absl::Seconds(10),
                        "a's container evicted"),
              IsOk());
  EXPECT_EQ(Containers().at(0).labels.at("fn.fn_id"), "b");
}

TEST_F(HotAgentDockerTest, CrashGives502AndTheNextCallGetsAFreshContainer) {
  ASSERT_TRUE(Submit(MakeCall("f")).Wait().success);
  const ContainerId first = Containers().at(0).id;
  Call crash = MakeCall("f");
  crash.headers.push_back({"Fn-Test-Crash", {"abort"}});

  const CallResult& crashed = Submit(crash).Wait();
  const CallResult& next = Submit(MakeCall("f")).Wait();

  EXPECT_EQ(crashed.error_code, 502);
  EXPECT_EQ(crashed.error_message, "error receiving function response");
  EXPECT_TRUE(next.success) << next.error_message;
  ASSERT_THAT(PollUntil([&] { return Containers().size() == 1; }, absl::Seconds(10),
                        "crashed container removed"),
              IsOk());
  EXPECT_NE(Containers().at(0).id, first);
}

TEST_F(HotAgentDockerTest, NeverListeningFunctionGivesInitTimeoutAndLeaksNothing) {
  Call call = MakeCall("silent");
  call.config["FDK_TEST_NO_SOCKET"] = "1";

  const CallResult& result = Submit(call).Wait();

  EXPECT_EQ(result.error_code, 504);
  EXPECT_EQ(result.error_message,
            "Container initialization timed out, please ensure you are using the latest fdk "
            "and check the logs");
  EXPECT_THAT(PollUntil([&] { return Containers().empty(); }, absl::Seconds(10),
                        "container removed"),
              IsOk());
}

TEST_F(HotAgentDockerTest, HangGives504AndItsContainerIsRemoved) {
  Call call = MakeCall("f");
  call.timeout = absl::Seconds(1);
  call.headers.push_back({"Fn-Test-Hang", {"1"}});

  const CallResult& result = Submit(call).Wait();

  EXPECT_EQ(result.error_code, 504);
  EXPECT_EQ(result.error_message, "Timed out");
  EXPECT_THAT(PollUntil([&] { return Containers().empty(); }, absl::Seconds(10),
                        "hung container removed"),
              IsOk());
}

TEST_F(HotAgentDockerTest, TooBigOutputFailsAfterExactlyTheAllowedBytes) {
  Call call = MakeCall("f");
  call.headers.push_back({"Fn-Test-Output-Bytes", {"300000"}});
  RecordingCallEvents& events = Submit(call);

  const CallResult& result = events.Wait();

  EXPECT_EQ(result.error_code, 502);
  EXPECT_EQ(result.error_message, "function response body too large");
  EXPECT_EQ(events.body().size(), kMaxResponseBytes);
}

TEST_F(HotAgentDockerTest, StreamsALargeResponseByteExact) {
  Call call = MakeCall("f");
  call.headers.push_back({"Fn-Test-Output-Bytes", {"99999"}});
  RecordingCallEvents& events = Submit(call);

  ASSERT_TRUE(events.Wait().success) << events.Wait().error_message;

  const std::string body = events.body();
  ASSERT_EQ(body.size(), 99999u);
  for (size_t i = 0; i < body.size(); ++i) {
    ASSERT_EQ(body[i], static_cast<char>('a' + i % 26)) << "at byte " << i;
  }
}

TEST_F(HotAgentDockerTest, HostileSymlinkFunctionIsRefused) {
  Call call = MakeCall("hostile");
  call.config["FDK_TEST_HOSTILE_SYMLINK"] = "/var/run/docker.sock";

  const CallResult& result = Submit(call).Wait();

  EXPECT_EQ(result.error_code, 502);
  EXPECT_EQ(result.error_message,
            "Container failed to initialize, please ensure you are using the latest fdk and "
            "check the logs");
}

TEST_F(HotAgentDockerTest, FunctionLogLinesReachTheLogHubTaggedWithTheCall) {
  absl::Mutex mu;
  std::vector<FunctionLogLine> lines;
  auto subscription = logs_.Subscribe([&](const FunctionLogLine& line) {
    absl::MutexLock lock(&mu);
    lines.push_back(line);
  });
  Call call = MakeCall("chatty");
  call.headers.push_back({"Fn-Test-Log-Lines", {"3"}});
  const std::string call_id = call.id.value;

  ASSERT_TRUE(Submit(call).Wait().success);

  ASSERT_THAT(PollUntil(
                  [&] {
                    absl::MutexLock lock(&mu);
                    return lines.size() >= 3;
                  },
                  absl::Seconds(10), "3 log lines"),
              IsOk());
  absl::MutexLock lock(&mu);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(lines[i].data, absl::StrCat("line ", i, " ", call_id));
    EXPECT_EQ(lines[i].call_id, call_id);
    EXPECT_EQ(lines[i].fn_id, "chatty");
  }
}

// FN_SPARES on the real engine: after a cold call the function keeps a frozen spare, a
// second concurrent call thaws it instead of waiting for a start, and the spare is evicted
// first when another function needs the room.
TEST_F(HotAgentDockerTest, ASpareServesTheScaleUpAndIsEvictedFirst) {
  agent_->Shutdown(absl::Seconds(5));
  Start(/*memory_mb=*/384, /*spares=*/1);
  const CallResult& cold = Submit(MakeCall("f")).Wait();
  ASSERT_TRUE(cold.success) << cold.error_message;
  EXPECT_GT(cold.container_create, absl::ZeroDuration());
  ASSERT_THAT(PollUntil([&] { return Containers().size() == 2; }, absl::Seconds(10),
                        "a spare next to the used container"),
              IsOk());
  ASSERT_THAT(PollUntil(
                  [&] {
                    // Both idle (evictable): the spare is ready, not starting.
                    AgentSnapshot snap = agent_->Snapshot();
                    return snap.slots.size() == 1 && snap.slots[0].spares == 1 &&
                           snap.memory_evictable_bytes == static_cast<int64_t>(2 * 64 * kMiB);
                  },
                  absl::Seconds(10), "the spare ready"),
              IsOk());

  // Two calls at once: one on the used container, one on the spare; neither waits for a start.
  Call slow = MakeCall("f");
  slow.headers.push_back({"Fn-Test-Sleep-Ms", {"300"}});
  RecordingCallEvents& a = Submit(slow);
  RecordingCallEvents& b = Submit(slow);
  ASSERT_TRUE(a.Wait().success) << a.Wait().error_message;
  ASSERT_TRUE(b.Wait().success) << b.Wait().error_message;
  EXPECT_EQ(a.Wait().container_create, absl::ZeroDuration());
  EXPECT_EQ(b.Wait().container_create, absl::ZeroDuration());

  // g needs 256 MiB of the 384. f holds 3 x 64: its two used containers and the spare that
  // replaced the one taken. One eviction covers the shortfall: the spare goes, not a used one.
  auto spares = [&] {
    int n = 0;
    for (const AgentSnapshot::Slot& slot : agent_->Snapshot().slots) n += slot.spares;
    return n;
  };
  ASSERT_THAT(PollUntil([&] { return spares() == 1 && Containers().size() == 3; },
                        absl::Seconds(10), "the replacement spare"),
              IsOk());
  const CallResult& g = Submit(MakeCall("g", 256)).Wait();
  EXPECT_TRUE(g.success) << g.error_message;
  EXPECT_THAT(PollUntil([&] { return spares() == 0 && Containers().size() == 3; },
                        absl::Seconds(10), "f's two used containers and g's"),
              IsOk());
}

}  // namespace
}  // namespace fnrunner
