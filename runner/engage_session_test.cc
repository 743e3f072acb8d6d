#include "runner/engage_session.h"

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "agent/fake_agent.h"
#include "base/fake_clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "prometheus/registry.h"
#include "runner/engage_tracker.h"
#include "runner/metrics.h"
#include "runner/test_util.h"

namespace fnrunner {
namespace {

using ::fnrunner::testing::CallJson;
using ::fnrunner::testing::FrameMsg;
using ::fnrunner::testing::RecordingStream;
using ::fnrunner::testing::TryMsg;
using ::testing::ElementsAre;
using ::testing::IsEmpty;

// "start:200", "data:10240", "finished:ok", "finished:503" for each message.
std::vector<std::string> Kinds(const std::vector<RunnerMsg>& msgs) {
  std::vector<std::string> kinds;
  for (const RunnerMsg& m : msgs) {
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

std::string Output(const std::vector<RunnerMsg>& msgs) {
  std::string out;
  for (const RunnerMsg& m : msgs) {
    if (m.has_data()) out += m.data().data();
  }
  return out;
}

class EngageSessionTest : public ::testing::Test {
 protected:
  void StartSession() {
    session_ = std::make_unique<EngageSession>(
        EngageServices{options_, agent_, tracker_, metrics_, clock_}, stream_, "rid-1");
    session_->Start();
  }

  // Starts a session, sends the TryCall, then each frame once the session asked for it.
  void Exchange(const std::string& json, const std::vector<std::pair<std::string, bool>>& frames) {
    StartSession();
    session_->OnMessage(TryMsg(json));
    int read = 1;
    for (const auto& [data, eof] : frames) {
      ASSERT_TRUE(stream_.WaitForReads(++read)) << "frame " << read - 1 << " never requested";
      session_->OnMessage(FrameMsg(data, eof));
    }
  }

  const CallFinished& LastFinished() {
    last_ = stream_.sent();
    EXPECT_FALSE(last_.empty());
    EXPECT_TRUE(last_.back().has_finished());
    return last_.back().finished();
  }

  FakeClock clock_;
  FakeAgent agent_{clock_};
  EngageTracker tracker_;
  prometheus::Registry registry_;
  RunnerMetrics metrics_{registry_};
  EngageOptions options_;
  RecordingStream stream_;
  std::vector<RunnerMsg> last_;
  std::unique_ptr<EngageSession> session_;  // Last: destroyed before what it uses.
};

TEST_F(EngageSessionTest, SyncSuccessEchoesBodyAndEndsOk) {
  Exchange(CallJson("c1"), {{"hello ", false}, {"world", false}, {"", true}});

  ASSERT_TRUE(stream_.WaitForEnd());
  EXPECT_THAT(Kinds(stream_.sent()), ElementsAre("start:200", "data:11", "finished:ok"));
  EXPECT_EQ(Output(stream_.sent()), "hello world");
  EXPECT_TRUE(stream_.end()->ok());
  EXPECT_EQ(agent_.calls().at(0).body, "hello world");
  EXPECT_TRUE(agent_.calls().at(0).body_complete);
}

TEST_F(EngageSessionTest, EofFrameMayCarryData) {
  Exchange(CallJson(), {{"abc", false}, {"def", true}});

  ASSERT_TRUE(stream_.WaitForEnd());
  EXPECT_EQ(agent_.calls().at(0).body, "abcdef");
  EXPECT_EQ(Output(stream_.sent()), "abcdef");
}

TEST_F(EngageSessionTest, EmptyBodyAndEmptyResponseSendStartAndFinished) {
  FakeAgent::Script script;
  script.headers = {{"Content-Type", "text/plain"}};
  agent_.SetScript(script);

  Exchange(CallJson(), {{"", true}});

  ASSERT_TRUE(stream_.WaitForEnd());
  EXPECT_THAT(Kinds(stream_.sent()), ElementsAre("start:200", "finished:ok"));
  const std::vector<RunnerMsg> sent = stream_.sent();
  const HttpRespMeta& http = sent[0].result_start().http();
  ASSERT_EQ(http.headers_size(), 1);
  EXPECT_EQ(http.headers(0).key(), "Content-Type");
  EXPECT_EQ(http.headers(0).value(), "text/plain");
}

TEST_F(EngageSessionTest, SplitsOutputIntoFramesOfAtMost10240Bytes) {
  FakeAgent::Script script;
  script.body = {std::string(25000, 'x'), "", std::string(10240, 'y')};
  agent_.SetScript(script);

  Exchange(CallJson(), {{"", true}});

  ASSERT_TRUE(stream_.WaitForEnd());
  EXPECT_THAT(Kinds(stream_.sent()), ElementsAre("start:200", "data:10240", "data:10240",
                                                 "data:4520", "data:10240", "finished:ok"));
  for (const RunnerMsg& m : stream_.sent()) {
    if (m.has_data()) {
      EXPECT_FALSE(m.data().eof());
    }
  }
}

TEST_F(EngageSessionTest, ReadsNextFrameOnlyAfterTheAgentWantsIt) {
  FakeAgent::Script script;
  script.read_body = false;  // The agent takes nothing...
  script.stall = true;       // ...and waits.
  agent_.SetScript(script);
  StartSession();
  session_->OnMessage(TryMsg(CallJson()));
  ASSERT_TRUE(stream_.WaitForReads(2));

  session_->OnMessage(FrameMsg("first", false));
  ASSERT_TRUE(agent_.WaitForStalled(1, absl::Seconds(10)));

  EXPECT_EQ(stream_.reads(), 2);  // No OnBodyWanted yet: no third read.
  session_->OnBodyWanted();
  EXPECT_EQ(stream_.reads(), 3);
}

TEST_F(EngageSessionTest, FinishedCarriesEveryField) {
  FakeAgent::Script script;
  script.respond = false;
  agent_.SetScript(script);

  Exchange(CallJson("c7", "fn/img:1"), {{"", true}});

  ASSERT_TRUE(stream_.WaitForEnd());
  const CallFinished& f = LastFinished();
  EXPECT_TRUE(f.success());
  EXPECT_EQ(f.details(), "c7");
  EXPECT_EQ(f.image(), "fn/img:1");
  EXPECT_EQ(f.createdat(), "2023-11-14T22:13:20.000Z");  // FakeClock's start
  EXPECT_EQ(f.startedat(), "2023-11-14T22:13:20.000Z");
  EXPECT_EQ(f.completedat(), "2023-11-14T22:13:20.000Z");
  EXPECT_EQ(f.errorcode(), 0);
  EXPECT_EQ(f.ctrprepduration(), 0);
}

TEST_F(EngageSessionTest, ErrorBeforeOutputSendsOnlyFinished) {
  FakeAgent::Script script;
  script.respond = false;
  script.error = fn_errors::ContainerInitTimeout();
  agent_.SetScript(script);

  Exchange(CallJson("c2"), {{"", true}});

  ASSERT_TRUE(stream_.WaitForEnd());
  EXPECT_THAT(Kinds(stream_.sent()), ElementsAre("finished:504"));
  const CallFinished& f = LastFinished();
  EXPECT_EQ(f.errorstr(), fn_errors::ContainerInitTimeout().message);
  EXPECT_TRUE(f.erroruser());
  EXPECT_EQ(f.details(), "c2");
  EXPECT_TRUE(stream_.end()->ok());
}

TEST_F(EngageSessionTest, ErrorAfterOutputKeepsOutputThenFinished) {
  FakeAgent::Script script;
  script.body = {"partial"};
  script.error = fn_errors::ResponseTooBig();
  agent_.SetScript(script);

  Exchange(CallJson(), {{"", true}});

  ASSERT_TRUE(stream_.WaitForEnd());
  EXPECT_THAT(Kinds(stream_.sent()), ElementsAre("start:200", "data:7", "finished:502"));
  EXPECT_EQ(LastFinished().errorstr(), "function response body too large");
}

TEST_F(EngageSessionTest, AgentNackIsFinished503WithoutOutput) {
  agent_.SetScript(FakeAgent::Nack());

  Exchange(CallJson("c3", "img"), {});

  ASSERT_TRUE(stream_.WaitForEnd());
  EXPECT_THAT(Kinds(stream_.sent()), ElementsAre("finished:503"));
  const CallFinished& f = LastFinished();
  EXPECT_EQ(f.errorstr(), "Timed out - server too busy");
  EXPECT_FALSE(f.erroruser());
  EXPECT_EQ(f.details(), "c3");
  EXPECT_EQ(f.image(), "img");
  EXPECT_FALSE(f.createdat().empty());
  EXPECT_TRUE(f.startedat().empty());
  EXPECT_EQ(f.schedulerduration(), 0);
}

TEST_F(EngageSessionTest, Never503AfterOutputStarted) {
  FakeAgent::Script script;
  script.body = {"x"};
  script.error = fn_errors::ServerBusy();
  agent_.SetScript(script);

  Exchange(CallJson(), {{"", true}});

  ASSERT_TRUE(stream_.WaitForEnd());
  EXPECT_THAT(Kinds(stream_.sent()), ElementsAre("start:200", "data:1", "finished:500"));
}

TEST_F(EngageSessionTest, MalformedJsonIsErrorCodeZeroWithoutDetails) {
  StartSession();

  session_->OnMessage(TryMsg("{not json"));

  ASSERT_TRUE(stream_.WaitForEnd());
  EXPECT_THAT(Kinds(stream_.sent()), ElementsAre("finished:0"));
  const CallFinished& f = LastFinished();
  EXPECT_FALSE(f.success());
  EXPECT_FALSE(f.errorstr().empty());
  EXPECT_EQ(f.details(), "");
  EXPECT_EQ(f.createdat(), "");
  EXPECT_TRUE(stream_.end()->ok());
  EXPECT_THAT(agent_.calls(), IsEmpty());
}

TEST_F(EngageSessionTest, StatusImageIsRefusedWith400) {
  options_.status_image = "fn/status:1";
  StartSession();

  session_->OnMessage(TryMsg(CallJson("c4", "fn/status:1")));

  ASSERT_TRUE(stream_.WaitForEnd());
  const CallFinished& f = LastFinished();
  EXPECT_EQ(f.errorcode(), 400);
  EXPECT_EQ(f.errorstr(), "Invalid Fn image");
  EXPECT_EQ(f.details(), "");  // fn had no call object yet
}

TEST_F(EngageSessionTest, DetachedIsRefusedWith501WhenDisabled) {
  StartSession();

  session_->OnMessage(TryMsg(CallJson("c5", "img", R"(,"type":"detached")")));

  ASSERT_TRUE(stream_.WaitForEnd());
  const CallFinished& f = LastFinished();
  EXPECT_EQ(f.errorcode(), 501);
  EXPECT_EQ(f.errorstr(), "Detach call functions are not supported on this server");
  EXPECT_EQ(f.details(), "c5");
  EXPECT_FALSE(f.createdat().empty());
}

TEST_F(EngageSessionTest, DetachedAcksWith202AtExecutionStartAndSendsNoData) {
  options_.enable_detach = true;
  FakeAgent::Script script;
  script.body = {"discarded"};
  agent_.SetScript(script);

  Exchange(CallJson("c6", "img", R"(,"type":"detached")"), {{"in", true}});

  ASSERT_TRUE(stream_.WaitForEnd());
  EXPECT_THAT(Kinds(stream_.sent()), ElementsAre("start:202", "finished:ok"));
  EXPECT_EQ(stream_.sent()[0].result_start().http().headers_size(), 0);
}

TEST_F(EngageSessionTest, DrainingNacksWith503BeforeSubmitting) {
  tracker_.StartDraining();
  StartSession();

  session_->OnMessage(TryMsg(CallJson("c8")));

  ASSERT_TRUE(stream_.WaitForEnd());
  EXPECT_THAT(Kinds(stream_.sent()), ElementsAre("finished:503"));
  EXPECT_EQ(LastFinished().details(), "c8");
  EXPECT_THAT(agent_.calls(), IsEmpty());
}

TEST_F(EngageSessionTest, FirstMessageNotTryCallIsUnknownProtocolFailure) {
  StartSession();

  session_->OnMessage(FrameMsg("data", true));

  ASSERT_TRUE(stream_.WaitForEnd());
  EXPECT_THAT(stream_.sent(), IsEmpty());
  EXPECT_EQ(stream_.end()->code(), absl::StatusCode::kUnknown);
  EXPECT_EQ(stream_.end()->message(), "Protocol failure: expected ClientMsg_Try");
}

TEST_F(EngageSessionTest, HalfCloseBeforeTryCallIsUnknownProtocolFailure) {
  StartSession();

  session_->OnInputClosed();

  ASSERT_TRUE(stream_.WaitForEnd());
  EXPECT_EQ(stream_.end()->message(), "Protocol failure: expected ClientMsg_Try");
}

TEST_F(EngageSessionTest, TryCallDuringBodyAbortsCallWithoutFinished) {
  agent_.SetScript(FakeAgent::Echo());
  StartSession();
  session_->OnMessage(TryMsg(CallJson()));
  ASSERT_TRUE(stream_.WaitForReads(2));

  session_->OnMessage(TryMsg(CallJson()));

  ASSERT_TRUE(stream_.WaitForEnd());
  EXPECT_EQ(stream_.end()->code(), absl::StatusCode::kUnknown);
  EXPECT_EQ(stream_.end()->message(), "Protocol failure: expected ClientMsg_Data");
  ASSERT_TRUE(agent_.WaitForEnded(1, absl::Seconds(10)));
  EXPECT_TRUE(agent_.calls().at(0).cancelled);
  EXPECT_THAT(stream_.sent(), IsEmpty());
}

TEST_F(EngageSessionTest, HalfCloseBeforeEofIsExpectedData) {
  StartSession();
  session_->OnMessage(TryMsg(CallJson()));
  ASSERT_TRUE(stream_.WaitForReads(2));

  session_->OnInputClosed();

  ASSERT_TRUE(stream_.WaitForEnd());
  EXPECT_EQ(stream_.end()->message(), "Protocol failure: expected ClientMsg_Data");
}

TEST_F(EngageSessionTest, NothingIsReadAfterEof) {
  Exchange(CallJson(), {{"only", true}});

  ASSERT_TRUE(stream_.WaitForEnd());
  EXPECT_EQ(stream_.reads(), 2);  // the TryCall and the one frame
}

TEST_F(EngageSessionTest, ClientCancelCancelsCallAndSendsNothingMore) {
  FakeAgent::Script script;
  script.stall = true;
  agent_.SetScript(script);
  Exchange(CallJson(), {{"", true}});
  ASSERT_TRUE(agent_.WaitForStalled(1, absl::Seconds(10)));

  session_->OnCancelled();

  ASSERT_TRUE(agent_.WaitForEnded(1, absl::Seconds(10)));
  EXPECT_TRUE(agent_.calls().at(0).cancelled);
  EXPECT_EQ(stream_.end()->code(), absl::StatusCode::kCancelled);
  EXPECT_THAT(stream_.sent(), IsEmpty());
}

TEST_F(EngageSessionTest, NoTryCallWithinInputTimeoutEndsWithGrpc503) {
  options_.input_timeout = absl::Seconds(5);
  StartSession();

  session_->CheckDeadline(clock_.Now() + absl::Seconds(4), /*draining=*/false);
  EXPECT_FALSE(stream_.end().has_value());
  session_->CheckDeadline(clock_.Now() + absl::Seconds(5), /*draining=*/false);

  ASSERT_TRUE(stream_.end().has_value());
  EXPECT_EQ(stream_.end()->raw_code(), 503);
  EXPECT_EQ(stream_.end()->message(), "Timed out - server too busy");
}

TEST_F(EngageSessionTest, DrainingRefusesAStreamWithoutTryCallAtTheNextTick) {
  options_.input_timeout = absl::Seconds(5);
  StartSession();

  session_->CheckDeadline(clock_.Now(), /*draining=*/true);

  ASSERT_TRUE(stream_.end().has_value());
  EXPECT_EQ(stream_.end()->raw_code(), 503);
  EXPECT_EQ(stream_.end()->message(), "Timed out - server too busy");
}

TEST_F(EngageSessionTest, DrainingLetsACallStillReceivingItsBodyGoOn) {
  options_.input_timeout = absl::Seconds(5);
  Exchange(CallJson(), {{"partial", false}});
  ASSERT_TRUE(stream_.WaitForReads(3));  // The agent asked for more.

  session_->CheckDeadline(clock_.Now(), /*draining=*/true);

  EXPECT_FALSE(stream_.end().has_value());
  EXPECT_FALSE(agent_.calls().at(0).cancelled);
}

TEST_F(EngageSessionTest, InputTimeoutRunsFromCreationEvenBeforeStart) {
  // The tracker knows a session from its constructor on; the reactor calls Start() after.
  options_.input_timeout = absl::Seconds(5);
  session_ = std::make_unique<EngageSession>(
      EngageServices{options_, agent_, tracker_, metrics_, clock_}, stream_, "rid-1");

  session_->CheckDeadline(clock_.Now() + absl::Seconds(5), /*draining=*/false);
  session_->Start();

  ASSERT_TRUE(stream_.end().has_value());
  EXPECT_EQ(stream_.end()->raw_code(), 503);
  EXPECT_EQ(stream_.reads(), 0);  // ended: no read for a TryCall that would never come
}

TEST_F(EngageSessionTest, MissingEofTimesOutWith504) {
  options_.input_timeout = absl::Seconds(5);
  Exchange(CallJson(), {{"partial", false}});
  ASSERT_TRUE(stream_.WaitForReads(3));  // The agent asked for more.

  session_->CheckDeadline(clock_.Now() + absl::Seconds(6), /*draining=*/false);

  ASSERT_TRUE(stream_.WaitForEnd());
  EXPECT_THAT(Kinds(stream_.sent()), ElementsAre("finished:504"));
  EXPECT_EQ(LastFinished().errorstr(), "Timed out");
  EXPECT_TRUE(agent_.calls().at(0).cancelled);
}

TEST_F(EngageSessionTest, WaitingForTheAgentIsNotAnInputTimeout) {
  options_.input_timeout = absl::Seconds(5);
  FakeAgent::Script script;
  script.stall = true;
  agent_.SetScript(script);
  Exchange(CallJson(), {{"", true}});
  ASSERT_TRUE(agent_.WaitForStalled(1, absl::Seconds(10)));

  session_->CheckDeadline(clock_.Now() + absl::Hours(1), /*draining=*/false);

  EXPECT_FALSE(stream_.end().has_value());
  agent_.Release();
  ASSERT_TRUE(stream_.WaitForEnd());
  EXPECT_THAT(Kinds(stream_.sent()).back(), "finished:ok");
}

TEST_F(EngageSessionTest, OversizedHeadersFailTheCallWith502) {
  FakeAgent::Script script;
  script.headers = {{"X-Big", std::string(5 << 20, 'h')}};
  script.body = {"body"};
  agent_.SetScript(script);

  Exchange(CallJson(), {{"", true}});

  ASSERT_TRUE(stream_.WaitForEnd());
  EXPECT_THAT(Kinds(stream_.sent()), ElementsAre("finished:502"));
  EXPECT_EQ(LastFinished().errorstr(), "function response header too large");
}

TEST_F(EngageSessionTest, HopByHopHeadersAreStripped) {
  FakeAgent::Script script;
  script.headers = {{"Connection", "close"}, {"Fn-Http-Status", "201"}, {"te", "gzip"},
                    {"Te", "trailers"}, {"Transfer-Encoding", "chunked"}};
  agent_.SetScript(script);

  Exchange(CallJson(), {{"", true}});

  ASSERT_TRUE(stream_.WaitForEnd());
  const std::vector<RunnerMsg> sent = stream_.sent();
  const HttpRespMeta& http = sent[0].result_start().http();
  ASSERT_EQ(http.headers_size(), 2);
  EXPECT_EQ(http.headers(0).key(), "Fn-Http-Status");
  EXPECT_EQ(http.headers(1).key(), "Te");
}

TEST_F(EngageSessionTest, ResponseDataStopsWhenTheStreamRefusesRoom) {
  stream_.RefuseRoom();
  FakeAgent::Script script;
  script.body = {"a", "b"};
  agent_.SetScript(script);

  Exchange(CallJson(), {{"", true}});

  ASSERT_TRUE(stream_.WaitForEnd());
  // The agent saw OnResponseData return false and finished (cancelled).
  EXPECT_THAT(Kinds(stream_.sent()), ElementsAre("start:200", "finished:0"));
}

TEST_F(EngageSessionTest, TrackerCountsStreamsAndCalls) {
  Exchange(CallJson(), {{"", true}});
  ASSERT_TRUE(stream_.WaitForEnd());
  EXPECT_EQ(tracker_.counters().active, 1);
  EXPECT_EQ(tracker_.counters().calls_in_flight, 0);

  session_->Detach();

  const EngageTracker::Counters c = tracker_.counters();
  EXPECT_EQ(c.active, 0);
  EXPECT_EQ(c.requests_received, 1u);
  EXPECT_EQ(c.requests_handled, 1u);
}

TEST_F(EngageSessionTest, DetachCancelsAStalledCallAndCountsIt) {
  FakeAgent::Script script;
  script.stall = true;
  agent_.SetScript(script);
  Exchange(CallJson(), {{"", true}});
  ASSERT_TRUE(agent_.WaitForStalled(1, absl::Seconds(10)));
  EXPECT_EQ(tracker_.counters().calls_in_flight, 1);

  session_->Detach();

  EXPECT_EQ(tracker_.counters().calls_in_flight, 0);
  EXPECT_TRUE(agent_.calls().at(0).cancelled);
  EXPECT_FALSE(agent_.calls().at(0).finished);
}

}  // namespace
}  // namespace fnrunner
