// HotAgent's scheduling with a FakeDriver, a scripted FakeFunctionIo and a FakeClock: no
// containers, no sockets, no sleeps. Time moves only by clock.Advance() + agent.Tick().

#include "agent/hot_agent.h"

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/synchronization/notification.h"
#include "agent/call.h"
#include "agent/fake_function_io.h"
#include "agent/fn_errors.h"
#include "agent/log_hub.h"
#include "agent/recording_call_events.h"
#include "agent/resource_tracker.h"
#include "base/fake_clock.h"
#include "drivers/fake_driver.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace fnrunner {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::SizeIs;

constexpr uint64_t kMiB = 1 << 20;
constexpr char kImage[] = "fn-test/fdk:latest";

Call MakeCall(const std::string& fn_id, uint64_t memory_mb = 128) {
  Call call;
  call.id = CallId{"call-" + fn_id};
  call.app_id = "app";
  call.fn_id = fn_id;
  call.image = kImage;
  call.timeout = absl::Seconds(30);
  call.idle_timeout = absl::Seconds(30);
  call.memory_mb = memory_mb;
  call.config = {{"FN_APP_ID", "app"}, {"FN_FN_ID", fn_id}};
  return call;
}

using RecordingEvents = RecordingCallEvents;

class HotAgentTest : public ::testing::Test {
 protected:
  explicit HotAgentTest(
      uint64_t memory_mb = 1024, bool non_blocking = false,
      HotAgentOptions::LaunchPolicy policy = HotAgentOptions::LaunchPolicy::kEstimate,
      int spares = 0, uint64_t spare_memory_mb = 0)
      : resources_(Resources{memory_mb * kMiB, 4000}) {
    driver_.AddImage(kImage);
    HotAgentOptions options;
    options.tick_interval = absl::ZeroDuration();  // Tests drive Tick().
    options.non_blocking = non_blocking;
    options.launch_policy = policy;
    options.spares_per_slot = spares;
    options.spare_memory_bytes = spare_memory_mb * kMiB;
    options.spare_window = absl::Seconds(60);
    agent_ = std::make_unique<HotAgent>(options, driver_, io_, resources_, logs_, clock_);
  }

  // Launches a test stalled at Start (start_gate_) must not outlive it.
  ~HotAgentTest() override {
    if (!start_gate_.HasBeenNotified()) start_gate_.Notify();
  }

  // A call with a body; the handle is kept so the call is not cancelled.
  RecordingEvents& Submit(Call call, std::string body = "hello") {
    RecordingEvents& events = SubmitWithoutBody(std::move(call));
    handles_.back()->AppendBody(std::move(body), true);
    return events;
  }
  // A call whose body the test appends later through handles_.back().
  RecordingEvents& SubmitWithoutBody(Call call) {
    events_.push_back(std::make_unique<RecordingEvents>());
    handles_.push_back(agent_->Submit(std::move(call), *events_.back()));
    return *events_.back();
  }

  const CallResult& Run(Call call) { return Submit(std::move(call)).Wait(); }

  void TickAfter(absl::Duration d) {
    clock_.Advance(d);
    agent_->Tick();
  }
  // Ticks, then waits for the work the tick started (pauses, removals) to finish. Only when
  // no call is blocked in its function: its exec task counts as work.
  void TickAndSettle(absl::Duration d) {
    TickAfter(d);
    agent_->WaitForTasks();
  }

  Resources Reserved() { return resources_.Snapshot().used; }

  // Containers the agent holds in any state but removal; a launch counts the moment it is
  // decided (driver calls happen later, on task threads).
  int Spares() {
    int n = 0;
    for (const AgentSnapshot::Slot& slot : agent_->Snapshot().slots) n += slot.spares;
    return n;
  }
  int Containers() {
    int n = 0;
    for (const AgentSnapshot::Slot& slot : agent_->Snapshot().slots) {
      n += slot.idle + slot.paused + slot.busy + slot.starting + slot.spares;
    }
    return n;
  }

  // Teaches the agent that a launch of "f" takes `launch` and a call `call`, then leaves its
  // one container busy with a call that hangs. Returns that call's events.
  RecordingEvents& OneBusyContainerAfterLearning(absl::Duration launch, absl::Duration call) {
    absl::Notification started;
    driver_.Stall(FakeDriver::Method::kStart, &started);
    io_.set_behavior(FakeFunctionIoFactory::Behavior::kBlock);
    RecordingEvents& first = Submit(MakeCall("f"));
    EXPECT_TRUE(driver_.AwaitStalled(FakeDriver::Method::kStart, 1, absl::Seconds(10)));
    clock_.Advance(launch);
    driver_.Stall(FakeDriver::Method::kStart, nullptr);
    started.Notify();
    io_.AwaitExchangesStarted(1);
    clock_.Advance(call);
    io_.set_behavior(FakeFunctionIoFactory::Behavior::kHang);  // for the next exchanges
    io_.Release(io_.exchanges()[0]);
    EXPECT_TRUE(first.Wait().success);
    RecordingEvents& busy = Submit(MakeCall("f"));
    io_.AwaitExchangesStarted(2);
    // Later launches stay "starting": a fake launch takes no clock time and would teach
    // the agent that launches are instant, and a ready container would change the counts.
    driver_.Stall(FakeDriver::Method::kStart, &start_gate_);
    return busy;
  }

  // For a call with a 2 s timeout: not over after 1 s, then fn's 504, its container removed
  // and everything released.
  void ExpectTimesOutAfterTwoSeconds(RecordingEvents& events) {
    TickAfter(absl::Seconds(1));
    EXPECT_FALSE(events.finished());
    TickAfter(absl::Seconds(1));

    const CallResult& result = events.Wait();
    EXPECT_EQ(result.error_code, 504);
    EXPECT_EQ(result.error_message, "Timed out");
    agent_->WaitForTasks();
    EXPECT_THAT(driver_.live_containers(), IsEmpty());
    EXPECT_EQ(Reserved(), Resources{});
  }

  FakeClock clock_;
  FakeDriver driver_;
  absl::Notification start_gate_;  // before agent_: outlives the agent's stalled tasks
  FakeFunctionIoFactory io_;
  ResourceTracker resources_;
  LogHub logs_;
  std::unique_ptr<HotAgent> agent_;
  std::vector<std::unique_ptr<RecordingEvents>> events_;
  std::vector<std::unique_ptr<CallHandle>> handles_;
};

TEST_F(HotAgentTest, SequentialCallsReuseOneContainer) {
  const CallResult& first = Run(MakeCall("f"));
  const CallResult& second = Run(MakeCall("f"));

  EXPECT_TRUE(first.success) << first.error_message;
  EXPECT_TRUE(second.success) << second.error_message;
  EXPECT_EQ(events_[0]->body(), "hello");
  EXPECT_EQ(driver_.calls(FakeDriver::Method::kCreate), 1);
  ASSERT_THAT(io_.exchanges(), SizeIs(2));
  EXPECT_EQ(io_.exchanges()[0], io_.exchanges()[1]);
}

TEST_F(HotAgentTest, FirstCallOnANewContainerReportsEachLaunchPhase) {
  Call call = MakeCall("f");
  call.image = "fresh/image:1";
  driver_.SetPullable(call.image);
  absl::Notification pulled, created;
  driver_.Stall(FakeDriver::Method::kPullImage, &pulled);
  driver_.Stall(FakeDriver::Method::kCreate, &created);
  RecordingEvents& events = Submit(call);
  // The clock moves only while the launch is inside a phase, so each duration is exact.
  ASSERT_TRUE(driver_.AwaitStalled(FakeDriver::Method::kPullImage, 1, absl::Seconds(10)));
  clock_.Advance(absl::Milliseconds(11));
  pulled.Notify();
  ASSERT_TRUE(driver_.AwaitStalled(FakeDriver::Method::kCreate, 1, absl::Seconds(10)));
  clock_.Advance(absl::Milliseconds(7));
  created.Notify();

  const CallResult first = events.Wait();
  const CallResult second = Run(call);

  EXPECT_TRUE(first.success) << first.error_message;
  EXPECT_EQ(first.image_pull_wait, absl::Milliseconds(11));
  EXPECT_EQ(first.container_create, absl::Milliseconds(7));
  EXPECT_EQ(first.scheduler, absl::Milliseconds(18));
  EXPECT_EQ(second.image_pull_wait, absl::ZeroDuration());  // a hot container: no launch
  EXPECT_EQ(second.container_create, absl::ZeroDuration());
  EXPECT_EQ(driver_.pulled_images(), std::vector<std::string>{"fresh/image:1"});
}

TEST_F(HotAgentTest, TakesTheMostRecentlyIdleContainer) {
  io_.set_behavior(FakeFunctionIoFactory::Behavior::kBlock);
  RecordingEvents& a = Submit(MakeCall("f"));
  RecordingEvents& b = Submit(MakeCall("f"));
  io_.AwaitExchangesStarted(2);
  // Which call runs on which container is up to the agent's threads; the test only needs
  // one container to go idle a second before the other.
  const std::string older = io_.exchanges()[0];
  const std::string newer = io_.exchanges()[1];
  io_.Release(older);
  while (!a.finished() && !b.finished()) absl::SleepFor(absl::Milliseconds(1));
  clock_.Advance(absl::Seconds(1));
  io_.Release(newer);
  a.Wait();
  b.Wait();

  Run(MakeCall("f"));

  EXPECT_EQ(driver_.calls(FakeDriver::Method::kCreate), 2);
  EXPECT_EQ(io_.exchanges().back(), newer);
}

TEST_F(HotAgentTest, LaunchesOneContainerPerConcurrentWaiter) {
  io_.set_readiness(FakeFunctionIoFactory::Readiness::kNever);
  for (int i = 0; i < 3; ++i) Submit(MakeCall("f"));

  io_.AwaitWaitingForReady(3);

  EXPECT_THAT(io_.prepared(), SizeIs(3));
  EXPECT_EQ(agent_->Snapshot().slots.at(0).starting, 3);
  EXPECT_EQ(agent_->Snapshot().calls_waiting, 3);
}

TEST_F(HotAgentTest, InitTimeoutFailsTheCallWithFnsErrorAndRemovesTheContainer) {
  io_.set_readiness(FakeFunctionIoFactory::Readiness::kNever);
  RecordingEvents& events = Submit(MakeCall("f"));
  io_.AwaitWaitingForReady(1);

  TickAfter(absl::Seconds(5));

  const CallResult& result = events.Wait();
  EXPECT_EQ(result.error_code, 504);
  EXPECT_EQ(result.error_message, fn_errors::ContainerInitTimeout().message);
  agent_->WaitForTasks();
  EXPECT_THAT(driver_.live_containers(), IsEmpty());
  EXPECT_THAT(io_.destroyed(), SizeIs(1));
  EXPECT_EQ(Reserved(), Resources{});
}

TEST_F(HotAgentTest, BadSocketFailsWithInitFailure) {
  io_.set_readiness(FakeFunctionIoFactory::Readiness::kBadSocket);

  const CallResult& result = Run(MakeCall("f"));

  EXPECT_EQ(result.error_code, 502);
  EXPECT_EQ(result.error_message, fn_errors::ContainerInitFail().message);
  agent_->WaitForTasks();
  EXPECT_THAT(driver_.live_containers(), IsEmpty());
  EXPECT_EQ(Reserved(), Resources{});
}

TEST_F(HotAgentTest, IdleContainerIsPausedThenThawedForTheNextCall) {
  Run(MakeCall("f"));
  TickAndSettle(absl::Milliseconds(50));
  ASSERT_THAT(driver_.live_containers(), SizeIs(1));
  const ContainerId id = driver_.live_containers()[0];
  EXPECT_EQ(driver_.container(id)->state, "paused");
  EXPECT_EQ(agent_->Snapshot().slots.at(0).paused, 1);

  const CallResult& result = Run(MakeCall("f"));

  EXPECT_TRUE(result.success);
  EXPECT_EQ(driver_.calls(FakeDriver::Method::kUnpause), 1);
  EXPECT_EQ(driver_.container(id)->state, "running");
}

TEST_F(HotAgentTest, IdleContainerIsRetiredAfterItsIdleTimeout) {
  Run(MakeCall("f"));
  TickAndSettle(absl::Seconds(29));
  EXPECT_THAT(driver_.live_containers(), SizeIs(1));

  TickAndSettle(absl::Seconds(1));

  EXPECT_THAT(driver_.live_containers(), IsEmpty());
  EXPECT_THAT(io_.destroyed(), SizeIs(1));
  EXPECT_EQ(Reserved(), Resources{});
  EXPECT_THAT(agent_->Snapshot().slots, IsEmpty());
}

TEST_F(HotAgentTest, CallTimeoutGives504AndRemovesTheContainer) {
  io_.set_behavior(FakeFunctionIoFactory::Behavior::kHang);
  Call call = MakeCall("f");
  call.timeout = absl::Seconds(2);
  RecordingEvents& events = Submit(call);
  io_.AwaitExchangesStarted(1);

  ExpectTimesOutAfterTwoSeconds(events);
}

TEST_F(HotAgentTest, TheExchangeStartsOnlyOnceTheFirstBodyChunkIsThere) {
  Run(MakeCall("f"));  // A hot, idle container.
  RecordingEvents& events = SubmitWithoutBody(MakeCall("f"));
  // Assigned, but no task runs: an exchange started now would wait in it for the body.
  ASSERT_TRUE(agent_->WaitForTasksFor(absl::Seconds(5)));
  EXPECT_THAT(io_.exchanges(), SizeIs(1));
  EXPECT_FALSE(events.finished());

  handles_.back()->AppendBody("late", true);

  const CallResult& result = events.Wait();
  EXPECT_TRUE(result.success) << result.error_message;
  EXPECT_EQ(events.body(), "late");
  EXPECT_THAT(io_.exchanges(), SizeIs(2));
}

TEST_F(HotAgentTest, ABodyThatNeverComesTimesTheCallOutAndRemovesTheContainer) {
  Call call = MakeCall("f");
  call.timeout = absl::Seconds(2);
  Run(call);
  RecordingEvents& events = SubmitWithoutBody(call);
  ASSERT_TRUE(agent_->WaitForTasksFor(absl::Seconds(5)));

  ExpectTimesOutAfterTwoSeconds(events);
}

TEST_F(HotAgentTest, CancelBeforeTheBodyCameFinishesTheCall) {
  Run(MakeCall("f"));
  RecordingEvents& events = SubmitWithoutBody(MakeCall("f"));
  ASSERT_TRUE(agent_->WaitForTasksFor(absl::Seconds(5)));

  handles_.back()->Cancel();

  EXPECT_FALSE(events.Wait().success);
  agent_->WaitForTasks();
  EXPECT_EQ(agent_->Snapshot().calls_waiting, 0);
}

TEST_F(HotAgentTest, CrashGives502AndTheNextCallGetsAFreshContainer) {
  io_.set_behavior(FakeFunctionIoFactory::Behavior::kCrash);
  const CallResult& crashed = Run(MakeCall("f"));
  io_.set_behavior(FakeFunctionIoFactory::Behavior::kEcho);
  agent_->WaitForTasks();

  const CallResult& next = Run(MakeCall("f"));

  EXPECT_EQ(crashed.error_code, 502);
  EXPECT_TRUE(crashed.user_error);
  EXPECT_TRUE(next.success);
  EXPECT_EQ(driver_.calls(FakeDriver::Method::kCreate), 2);
}

TEST_F(HotAgentTest, FunctionAnswering502KeepsItsContainer) {
  io_.set_behavior(FakeFunctionIoFactory::Behavior::kFail502);
  const CallResult& failed = Run(MakeCall("f"));
  io_.set_behavior(FakeFunctionIoFactory::Behavior::kEcho);

  const CallResult& next = Run(MakeCall("f"));

  EXPECT_EQ(failed.error_message, "function failed");
  EXPECT_TRUE(next.success);
  EXPECT_EQ(driver_.calls(FakeDriver::Method::kCreate), 1);
}

TEST_F(HotAgentTest, CancelWhileExecutingReleasesEverything) {
  io_.set_behavior(FakeFunctionIoFactory::Behavior::kHang);
  RecordingEvents& events = Submit(MakeCall("f"));
  io_.AwaitExchangesStarted(1);

  handles_.back()->Cancel();

  EXPECT_FALSE(events.Wait().success);
  agent_->WaitForTasks();
  EXPECT_THAT(driver_.live_containers(), IsEmpty());
  EXPECT_EQ(Reserved(), Resources{});
}

TEST_F(HotAgentTest, CancelWhileWaitingForAContainerFinishesTheCall) {
  io_.set_readiness(FakeFunctionIoFactory::Readiness::kNever);
  RecordingEvents& events = Submit(MakeCall("f"));
  io_.AwaitWaitingForReady(1);

  handles_.back()->Cancel();

  EXPECT_FALSE(events.Wait().success);
  EXPECT_EQ(agent_->Snapshot().calls_waiting, 0);
}

TEST_F(HotAgentTest, ShutdownRefusesWaitersRemovesContainersAndReleasesEverything) {
  Run(MakeCall("idle"));
  io_.set_readiness(FakeFunctionIoFactory::Readiness::kNever);
  RecordingEvents& waiting = Submit(MakeCall("waiting"));
  io_.AwaitWaitingForReady(1);

  agent_->Shutdown(absl::Seconds(1));

  EXPECT_EQ(waiting.Wait().error_code, 503);
  EXPECT_THAT(driver_.live_containers(), IsEmpty());
  EXPECT_EQ(Reserved(), Resources{});
  RecordingEvents& late = Submit(MakeCall("late"));
  EXPECT_EQ(late.Wait().error_code, 503);
}

TEST_F(HotAgentTest, ShutdownLetsRunningCallsFinishWithinTheGrace) {
  io_.set_behavior(FakeFunctionIoFactory::Behavior::kBlock);
  RecordingEvents& running = Submit(MakeCall("f"));
  io_.AwaitExchangesStarted(1);
  io_.Release(io_.exchanges()[0]);

  agent_->Shutdown(absl::Seconds(30));

  EXPECT_TRUE(running.Wait().success);
  EXPECT_THAT(driver_.live_containers(), IsEmpty());
  EXPECT_EQ(Reserved(), Resources{});
}

TEST_F(HotAgentTest, MissingImageThatCannotBePulledFailsWithFnsPullError) {
  Call call = MakeCall("f");
  call.image = "nowhere/missing:1";
  driver_.FailAlways(FakeDriver::Method::kPullImage, absl::NotFoundError("manifest unknown"));

  const CallResult& result = Run(call);

  EXPECT_EQ(result.error_code, 404);
  EXPECT_EQ(result.error_message, "Failed to pull image 'nowhere/missing:1': manifest unknown");
  agent_->WaitForTasks();
  EXPECT_EQ(Reserved(), Resources{});
}

TEST_F(HotAgentTest, PullsWithTheCallsRegistryToken) {
  Call call = MakeCall("f");
  call.image = "private/image:1";
  call.extensions["FN_REGISTRY_TOKEN"] = "secret-token";
  driver_.SetPullable(call.image);

  const CallResult& result = Run(call);

  EXPECT_TRUE(result.success) << result.error_message;
  EXPECT_EQ(driver_.pull_tokens(), std::vector<std::string>{"secret-token"});
}

// A runner with room for two 128 MiB containers.
class SmallHotAgentTest : public HotAgentTest {
 protected:
  SmallHotAgentTest() : HotAgentTest(256) {}
};

TEST_F(SmallHotAgentTest, EvictsTheLeastRecentlyIdleContainerOfAnotherFunction) {
  Run(MakeCall("a"));
  const ContainerId a = driver_.live_containers()[0];
  clock_.Advance(absl::Seconds(1));
  Run(MakeCall("b"));

  const CallResult& c = Run(MakeCall("c"));

  EXPECT_TRUE(c.success) << c.error_message;
  agent_->WaitForTasks();
  EXPECT_FALSE(driver_.container(a).has_value());  // evicted
  EXPECT_THAT(driver_.live_containers(), SizeIs(2));
}

TEST_F(SmallHotAgentTest, EvictsNothingUnlessThatCoversTheWholeShortfall) {
  Run(MakeCall("a"));  // idle, 128 MiB
  io_.set_behavior(FakeFunctionIoFactory::Behavior::kBlock);
  RecordingEvents& busy = Submit(MakeCall("b"));  // busy, 128 MiB
  io_.AwaitExchangesStarted(2);
  const std::string b_container = io_.exchanges()[1];

  RecordingEvents& big = Submit(MakeCall("big", 256));  // needs both

  // Submit() decides at once; an evicted container would no longer count as idle.
  AgentSnapshot snap = agent_->Snapshot();
  EXPECT_EQ(snap.memory_evictable_bytes, static_cast<int64_t>(128 * kMiB));
  EXPECT_EQ(snap.calls_waiting, 1);
  EXPECT_FALSE(big.finished());

  // Exchanges read the behaviour when they start: the blocked one keeps kBlock.
  io_.set_behavior(FakeFunctionIoFactory::Behavior::kEcho);
  io_.Release(b_container);  // "b" goes idle: now a + b cover it
  busy.Wait();

  EXPECT_TRUE(big.Wait().success);
  agent_->WaitForTasks();
  EXPECT_THAT(driver_.live_containers(), SizeIs(1));
}

TEST_F(SmallHotAgentTest, BusyContainersAreNeverEvicted) {
  Run(MakeCall("a"));
  io_.set_behavior(FakeFunctionIoFactory::Behavior::kBlock);
  Submit(MakeCall("b"));
  io_.AwaitExchangesStarted(2);

  RecordingEvents& more_a = Submit(MakeCall("a"));   // takes the idle "a" container
  RecordingEvents& third_a = Submit(MakeCall("a"));  // no room; both containers are busy
  io_.AwaitExchangesStarted(3);

  EXPECT_FALSE(third_a.finished());
  EXPECT_EQ(agent_->Snapshot().calls_waiting, 1);
  EXPECT_EQ(driver_.calls(FakeDriver::Method::kRemove), 0);
  io_.Release(io_.exchanges()[2]);
  more_a.Wait();
  EXPECT_TRUE(third_a.Wait().success);  // reuses the container "a" released
}

class NonBlockingHotAgentTest : public HotAgentTest {
 protected:
  NonBlockingHotAgentTest() : HotAgentTest(128, /*non_blocking=*/true) {}
};

TEST_F(NonBlockingHotAgentTest, RefusesWith503AtOnceWhenNothingIsEvictable) {
  io_.set_behavior(FakeFunctionIoFactory::Behavior::kBlock);
  Submit(MakeCall("a"));
  io_.AwaitExchangesStarted(1);

  // No clock advance, no Tick(): the refusal comes from Submit's own admission decision.
  const CallResult& refused = Submit(MakeCall("b")).Wait();

  EXPECT_EQ(refused.error_code, 503);
  EXPECT_EQ(refused.error_message, "Timed out - server too busy");
  EXPECT_THAT(io_.prepared(), SizeIs(1));
}

TEST_F(NonBlockingHotAgentTest, EvictsInsteadOfRefusingWhenAnIdleContainerCoversIt) {
  Run(MakeCall("a"));

  const CallResult& b = Run(MakeCall("b"));

  EXPECT_TRUE(b.success) << b.error_message;
}

// The estimate launch policy: short calls wait for their busy container (it serves one every
// millisecond, a new container takes 300 ms), until one has waited a launch's time.
TEST_F(HotAgentTest, ShortCallsWaitForTheBusyContainerRatherThanStartMore) {
  OneBusyContainerAfterLearning(absl::Milliseconds(300), absl::Milliseconds(1));
  io_.set_behavior(FakeFunctionIoFactory::Behavior::kEcho);

  for (int i = 0; i < 3; ++i) SubmitWithoutBody(MakeCall("f"));
  TickAfter(absl::Milliseconds(299));

  EXPECT_EQ(Containers(), 1);
  // The busy call hangs: after a launch's time every waiter is overdue and gets a container.
  TickAfter(absl::Milliseconds(1));
  EXPECT_EQ(Containers(), 4);
}

TEST_F(HotAgentTest, SlowCallsStartAContainerPerWaitingCall) {
  OneBusyContainerAfterLearning(absl::Milliseconds(300), absl::Milliseconds(500));

  for (int i = 0; i < 3; ++i) SubmitWithoutBody(MakeCall("f"));

  EXPECT_EQ(Containers(), 4);
}

TEST_F(HotAgentTest, WaitersBeyondWhatTheContainersServeInALaunchStartContainers) {
  // 100 ms calls, 300 ms launches: each container serves 3 waiters in a launch's time, the
  // busy one from now, a new one from when it is ready. 8 waiters: 3 + 3 + 2, two launches.
  OneBusyContainerAfterLearning(absl::Milliseconds(300), absl::Milliseconds(100));

  for (int i = 0; i < 8; ++i) SubmitWithoutBody(MakeCall("f"));

  EXPECT_EQ(Containers(), 1 + 2);
}

TEST_F(HotAgentTest, CallsForANewFunctionWaitForItsStartingContainerWhenCallsAreShort) {
  // "f" taught the agent: launches take 300 ms, calls 1 ms. "g" has no call time yet.
  OneBusyContainerAfterLearning(absl::Milliseconds(300), absl::Milliseconds(1));

  for (int i = 0; i < 3; ++i) SubmitWithoutBody(MakeCall("g"));

  EXPECT_EQ(Containers(), 1 + 1);  // f's busy one and one starting for g's three calls
}

class FnLaunchPolicyTest : public HotAgentTest {
 protected:
  FnLaunchPolicyTest() : HotAgentTest(1024, false, HotAgentOptions::LaunchPolicy::kFn) {}
};

TEST_F(FnLaunchPolicyTest, EveryWaitingCallStartsAContainer) {
  OneBusyContainerAfterLearning(absl::Milliseconds(300), absl::Milliseconds(1));

  for (int i = 0; i < 3; ++i) SubmitWithoutBody(MakeCall("f"));

  EXPECT_EQ(Containers(), 4);
}

// Frozen spares: 2 per function, at most 512 MiB of the 1 GiB, 60 s after a call had to wait.
class SparesTest : public HotAgentTest {
 protected:
  SparesTest() : HotAgentTest(1024, false, HotAgentOptions::LaunchPolicy::kEstimate, 2, 512) {}
};

TEST_F(HotAgentTest, NoSparesUnlessAsked) {
  Run(MakeCall("f"));
  agent_->WaitForTasks();

  EXPECT_EQ(Containers(), 1);
  EXPECT_EQ(Spares(), 0);
}

TEST_F(SparesTest, ACallThatWaitedForAStartGivesItsFunctionSpares) {
  Run(MakeCall("f"));
  agent_->WaitForTasks();

  EXPECT_EQ(Containers(), 1 + 2);
  EXPECT_EQ(Spares(), 2);
  EXPECT_EQ(driver_.calls(FakeDriver::Method::kCreate), 3);
  TickAndSettle(absl::Milliseconds(50));  // idle spares freeze like any idle container
  EXPECT_EQ(driver_.calls(FakeDriver::Method::kPause), 3);
}

TEST_F(SparesTest, AScaleUpTakesASpareInsteadOfWaitingForAStart) {
  Run(MakeCall("f"));
  agent_->WaitForTasks();
  const std::vector<std::string> existing = io_.prepared();  // the used one and two spares
  // From now on no container can be created: whatever serves the next calls exists already.
  absl::Notification never;
  driver_.Stall(FakeDriver::Method::kCreate, &never);
  io_.set_behavior(FakeFunctionIoFactory::Behavior::kBlock);

  RecordingEvents& first = Submit(MakeCall("f"));
  io_.AwaitExchangesStarted(2);
  RecordingEvents& second = Submit(MakeCall("f"));
  io_.AwaitExchangesStarted(3);
  for (const std::string& name : io_.exchanges()) io_.Release(name);

  EXPECT_TRUE(first.Wait().success);
  EXPECT_TRUE(second.Wait().success);
  EXPECT_THAT(existing, ::testing::Contains(io_.exchanges()[1]));
  EXPECT_THAT(existing, ::testing::Contains(io_.exchanges()[2]));
  driver_.Stall(FakeDriver::Method::kCreate, nullptr);
  never.Notify();  // the replacement spares may start now
  agent_->WaitForTasks();  // before `never` goes
}

TEST_F(SparesTest, SparesAreEvictedBeforeOtherIdleContainers) {
  // f: one used container (idle since t=0) and two spares (idle since t=0 too, but spares).
  Run(MakeCall("f", 256));
  agent_->WaitForTasks();
  ASSERT_EQ(Spares(), 2);
  const std::string used = io_.exchanges()[0];
  clock_.Advance(absl::Seconds(1));

  // g needs 512 MiB of the 1 GiB: 256 are free (f holds 3 x 256); one eviction covers it.
  const CallResult& g = Run(MakeCall("g", 512));

  EXPECT_TRUE(g.success) << g.error_message;
  agent_->WaitForTasks();
  EXPECT_EQ(Spares(), 1);
  bool used_alive = false;
  for (const std::string& name : io_.prepared()) {
    if (name == used) used_alive = true;
  }
  EXPECT_TRUE(used_alive);
  EXPECT_THAT(io_.destroyed(), ::testing::Not(::testing::Contains(used)))
      << "prepared " << ::testing::PrintToString(io_.prepared()) << " exchanges "
      << ::testing::PrintToString(io_.exchanges());
}

TEST_F(SparesTest, SparesRetireAfterTheIdleTimeoutAndStopAfterTheWindow) {
  Call call = MakeCall("f");
  call.idle_timeout = absl::Seconds(10);
  Run(call);
  agent_->WaitForTasks();
  ASSERT_EQ(Containers(), 3);

  TickAndSettle(absl::Seconds(10));

  EXPECT_EQ(Containers(), 0);
  EXPECT_THAT(driver_.live_containers(), IsEmpty());
  // The window (60 s) is still open, but only a start on a call's path makes new spares.
  EXPECT_EQ(Spares(), 0);
}

class SmallSpareBudgetTest : public HotAgentTest {
 protected:
  SmallSpareBudgetTest()
      : HotAgentTest(1024, false, HotAgentOptions::LaunchPolicy::kEstimate, 4, 256) {}
};

TEST_F(SmallSpareBudgetTest, SparesStayWithinTheirMemoryShare) {
  Run(MakeCall("f"));  // 128 MiB each: the 256 MiB share holds two of the four asked for
  agent_->WaitForTasks();

  EXPECT_EQ(Spares(), 2);
  EXPECT_EQ(Reserved().memory_bytes, 3 * 128 * kMiB);
}

}  // namespace
}  // namespace fnrunner
