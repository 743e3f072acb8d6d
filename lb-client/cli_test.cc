// The fnlb tool's pieces: flag parsing, fn's LB answers, the workload, statistics, and the
// call and bench commands against in-process fake runners.

#include <sstream>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "lb-client/bench_command.h"
#include "lb-client/bench_stats.h"
#include "lb-client/bench_workload.h"
#include "lb-client/call_command.h"
#include "lb-client/cli_args.h"
#include "lb-client/http_answer.h"
#include "lb-client/json_output.h"
#include "lb-client/testing/fake_runner.h"
#include "nlohmann/json.hpp"
#include "tests/testing/status_matchers.h"

namespace fnrunner {
namespace {

using ::fnrunner::testing::EngageScript;
using ::fnrunner::testing::FakeRunner;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Pair;

// ---- CliArgs ----

TEST(CliArgsTest, ParsesValueBooleanAndRepeatedFlags) {
  auto args = CliArgs::Parse({"--image", "img", "--memory=256", "--json", "--header", "A:1",
                              "--header=B:2"},
                             {"image", "memory", "header"}, {"json"});

  ASSERT_THAT(args, IsOk());
  EXPECT_EQ(args->GetOr("image", ""), "img");
  EXPECT_THAT(args->GetInt("memory", 128), IsOkAndHolds(256));
  EXPECT_TRUE(args->Has("json"));
  EXPECT_THAT(args->GetAll("header"), ElementsAre("A:1", "B:2"));
  EXPECT_THAT(args->GetSeconds("missing", absl::Seconds(3)), IsOkAndHolds(absl::Seconds(3)));
}

TEST(CliArgsTest, RejectsUnknownFlagsMissingValuesAndPositionals) {
  EXPECT_THAT(CliArgs::Parse({"--nope"}, {"a"}, {}), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(CliArgs::Parse({"--a"}, {"a"}, {}), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(CliArgs::Parse({"stray"}, {"a"}, {}), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(CliArgs::Parse({"--json=1"}, {}, {"json"}),
              StatusIs(absl::StatusCode::kInvalidArgument));
  auto bad_number = CliArgs::Parse({"--memory", "lots"}, {"memory"}, {});
  ASSERT_THAT(bad_number, IsOk());
  EXPECT_THAT(bad_number->GetInt("memory", 1), StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(CallFromFlagsTest, BuildsTheCallFromFlags) {
  auto args = CliArgs::Parse({"--image", "img", "--memory", "64", "--timeout", "5", "--fn-id",
                              "f", "--header", "X-A: one", "--header", "X-A:two", "--config",
                              "K=V=W", "--cpus", "250"},
                             {"image", "memory", "timeout", "fn-id", "header", "config", "cpus"},
                             {});
  ASSERT_THAT(args, IsOk());

  auto call = CallFromFlags(*args);

  ASSERT_THAT(call, IsOk());
  EXPECT_EQ(call->image, "img");
  EXPECT_EQ(call->memory_mb, 64u);
  EXPECT_EQ(call->timeout, absl::Seconds(5));
  EXPECT_EQ(call->fn_id, "f");
  EXPECT_EQ(call->app_id, "fnlb-app");
  EXPECT_EQ(call->milli_cpus, 250u);
  EXPECT_THAT(call->headers.at("X-A"), ElementsAre("one", "two"));
  EXPECT_EQ(call->config.at("K"), "V=W");
}

// ---- fn's LB answers (runner-protocol.md §9.5) ----

HttpAnswer Answer(const PlacementResult& result, const BufferingSink& sink) {
  return LbAnswer(result, sink, "call-1");
}

std::string Header(const HttpAnswer& answer, const std::string& name) {
  for (const auto& [n, v] : answer.headers) {
    if (n == name) return v;
  }
  return "<absent>";
}

TEST(LbAnswerTest, SuccessIsTheRunnersStatusHeadersAndBody) {
  BufferingSink sink;
  sink.OnStart(200, {{"Content-Type", "text/plain"}, {"Content-Length", "999"}});
  sink.OnData("he");
  sink.OnData("llo");
  PlacementResult result;
  result.placed = true;

  HttpAnswer answer = Answer(result, sink);

  EXPECT_EQ(answer.status, 200);
  EXPECT_EQ(answer.body, "hello");
  EXPECT_EQ(Header(answer, "Content-Type"), "text/plain");
  EXPECT_EQ(Header(answer, "Content-Length"), "5");
  EXPECT_EQ(Header(answer, "Fn-Call-Id"), "call-1");
}

TEST(LbAnswerTest, ARunnerErrorIsItsCodeWithFnsJsonBodyAndTheOutputDiscarded) {
  BufferingSink sink;
  sink.OnStart(200, {{"X-Kept", "yes"}});
  sink.OnData("partial");
  PlacementResult result;
  result.placed = true;
  result.finished = CallFinished();
  result.fn_error_code = 502;
  result.status = absl::InternalError("function failed");

  HttpAnswer answer = Answer(result, sink);

  EXPECT_EQ(answer.status, 502);
  EXPECT_EQ(answer.body, "{\"message\":\"function failed\"}\n");
  EXPECT_EQ(Header(answer, "X-Kept"), "yes");
  EXPECT_EQ(Header(answer, "Content-Type"), "application/json; charset=utf-8");
}

TEST(LbAnswerTest, ErrorCodeZeroIsFnsStatus200Quirk) {
  BufferingSink sink;
  PlacementResult result;
  result.placed = true;
  result.finished = CallFinished();
  result.status = absl::InternalError("docker said no");

  EXPECT_EQ(Answer(result, sink).status, 200);
}

TEST(LbAnswerTest, GivingUpIs503WithRetryAfter) {
  BufferingSink sink;
  PlacementResult result;
  result.status = absl::ResourceExhaustedError(kServerTooBusy);

  HttpAnswer answer = Answer(result, sink);

  EXPECT_EQ(answer.status, 503);
  EXPECT_EQ(answer.body, "{\"message\":\"Timed out - server too busy\"}\n");
  EXPECT_EQ(Header(answer, "Retry-After"), "15");
}

TEST(LbAnswerTest, BrokenStreamsAre500) {
  BufferingSink sink;
  PlacementResult broken;
  broken.placed = true;
  broken.status = absl::InternalError("stream reset");
  PlacementResult late = broken;
  late.status = absl::DeadlineExceededError("deadline");

  EXPECT_EQ(Answer(broken, sink).body, "{\"message\":\"internal server error\"}\n");
  EXPECT_EQ(Answer(late, sink).body,
            "{\"message\":\"Unable to service the request for the reservation period\"}\n");
  EXPECT_EQ(Answer(late, sink).status, 500);
}

TEST(IsValidUtf8Test, AcceptsUtf8AndRejectsBrokenSequences) {
  EXPECT_TRUE(IsValidUtf8("plain caf\xc3\xa9 \xf0\x9f\x98\x80"));
  EXPECT_FALSE(IsValidUtf8("\xff"));
  EXPECT_FALSE(IsValidUtf8("\xc3"));
  EXPECT_FALSE(IsValidUtf8("\xed\xa0\x80"));  // a surrogate
  EXPECT_FALSE(IsValidUtf8("\xc0\xaf"));      // overlong
}

// ---- Workload and statistics ----

TEST(ZipfSamplerTest, FollowsOneOverRankToTheS) {
  ZipfSampler zipf(4, 1.0);
  std::mt19937_64 gen(1);
  std::vector<int> counts(4);

  for (int i = 0; i < 100000; ++i) ++counts[zipf.Sample(gen)];

  // 1 : 1/2 : 1/3 : 1/4, normalised by 25/12.
  EXPECT_NEAR(zipf.Probability(0), 0.48, 0.001);
  EXPECT_NEAR(counts[0], 48000, 1000);
  EXPECT_NEAR(counts[1], 24000, 1000);
  EXPECT_NEAR(counts[3], 12000, 1000);
}

TEST(ZipfSamplerTest, ExponentZeroIsUniform) {
  ZipfSampler zipf(5, 0);

  EXPECT_NEAR(zipf.Probability(4), 0.2, 1e-9);
}

TEST(ParseBurstTest, ParsesCallsSecondsAndFunction) {
  EXPECT_THAT(ParseBurst("12@2.5", 10), IsOk());
  EXPECT_EQ(ParseBurst("12@2.5", 10)->calls, 12);
  EXPECT_EQ(ParseBurst("12@2.5", 10)->at, absl::Milliseconds(2500));
  EXPECT_EQ(ParseBurst("12@2.5", 10)->function, -1);
  EXPECT_EQ(ParseBurst("3@1/7", 10)->function, 7);
  EXPECT_THAT(ParseBurst("3@1/10", 10), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(ParseBurst("x@1", 10), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(ParseBurst("3", 10), StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(PoissonArrivalsTest, SameSeedSameTraceAtAboutTheRate) {
  ZipfSampler zipf(10, 1.0);

  auto a = PoissonArrivals(50, absl::Seconds(20), zipf, 3);
  auto b = PoissonArrivals(50, absl::Seconds(20), zipf, 3);

  ASSERT_EQ(a.size(), b.size());
  EXPECT_NEAR(static_cast<double>(a.size()), 1000, 100);
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].at, b[i].at);
    EXPECT_EQ(a[i].function, b[i].function);
  }
}

TEST(SummarizeTest, CountsPercentilesErrorsColdStartsAndLocality) {
  std::vector<CallRecord> records;
  for (int i = 1; i <= 100; ++i) {
    CallRecord r;
    r.latency = absl::Milliseconds(i);
    r.http_status = i <= 98 ? 200 : 503;
    r.attempts = 2;
    r.nacks = 1;
    r.cold = i <= 10;
    r.function = i % 2;
    r.runner = i % 2 == 0 ? "a" : (i % 4 == 1 ? "b" : "c");
    if (r.http_status != 200) r.error = "busy";
    records.push_back(r);
  }

  BenchSummary s = Summarize("p", records, absl::Seconds(10));

  EXPECT_EQ(s.calls, 100);
  EXPECT_EQ(s.ok, 98);
  EXPECT_DOUBLE_EQ(s.calls_per_second, 10);
  EXPECT_DOUBLE_EQ(s.p50_ms, 50);
  EXPECT_DOUBLE_EQ(s.p99_ms, 99);
  EXPECT_DOUBLE_EQ(s.max_ms, 100);
  EXPECT_EQ(s.nacks, 100);
  EXPECT_EQ(s.cold_starts, 10);
  EXPECT_THAT(s.errors_by_status, ElementsAre(Pair(503, 2)));
  EXPECT_EQ(s.error_examples.at(503), "busy");
  EXPECT_DOUBLE_EQ(s.runners_per_function, 1.5);  // function 0 on a; function 1 on b and c
  EXPECT_THAT(SummaryJson(s), HasSubstr("\"cold_starts\":10"));
}

// ---- The commands against fake runners ----

class CommandTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_THAT(a_.Start(), IsOk());
    ASSERT_THAT(b_.Start(), IsOk());
  }
  std::string Runners() { return a_.address() + "," + b_.address(); }

  FakeRunner a_;
  FakeRunner b_;
};

TEST_F(CommandTest, CallPrintsTheAnswerAndExitsZero) {
  std::istringstream in("from stdin");
  std::ostringstream out, err;

  const int code = RunCallCommand({"--runners", Runners(), "--image", "img"}, in, out, err);

  EXPECT_EQ(code, 0) << err.str();
  EXPECT_THAT(out.str(), HasSubstr("HTTP 200\n"));
  EXPECT_THAT(out.str(), HasSubstr("Content-Type: text/plain\n"));
  EXPECT_THAT(out.str(), HasSubstr("\n\nfrom stdin"));
}

TEST_F(CommandTest, CallJsonHasStatusBodyErrorAndTimings) {
  a_.SetDefault(EngageScript::kFail502);
  b_.SetDefault(EngageScript::kFail502);
  std::istringstream in;
  std::ostringstream out, err;

  const int code = RunCallCommand(
      {"--runners", Runners(), "--image", "img", "--body", "x", "--placer", "ch", "--json"}, in,
      out, err);

  EXPECT_EQ(code, 1);
  nlohmann::json j = nlohmann::json::parse(out.str());
  EXPECT_EQ(j["status"], 502);
  EXPECT_EQ(j["error"]["code"], 502);
  EXPECT_EQ(j["error"]["message"], "function failed");
  EXPECT_EQ(j["placer"], "ch");
  EXPECT_EQ(j["attempts"], 1);
  EXPECT_TRUE(j["timings"].contains("total_ms"));
  EXPECT_EQ(j["headers"]["Fn-Call-Id"][0], j["call_id"]);
}

TEST_F(CommandTest, CallWithoutRunnersOrImageIsAUsageError) {
  std::istringstream in;
  std::ostringstream out, err;

  EXPECT_EQ(RunCallCommand({"--image", "img"}, in, out, err), 2);
  EXPECT_EQ(RunCallCommand({"--runners", Runners()}, in, out, err), 2);
  EXPECT_THAT(err.str(), HasSubstr("--image is required"));
}

TEST_F(CommandTest, BenchReportsOneJsonLinePerPlacer) {
  std::ostringstream out, err;

  const int code = RunBenchCommand({"--runners", Runners(), "--placer", "naive,capacity",
                                    "--duration", "0.3", "--concurrency", "2", "--functions",
                                    "3", "--burst", "2@0.1", "--json"},
                                   out, err);

  EXPECT_EQ(code, 0) << err.str();
  std::istringstream lines(out.str());
  std::vector<nlohmann::json> runs;
  for (std::string line; std::getline(lines, line);) runs.push_back(nlohmann::json::parse(line));
  ASSERT_EQ(runs.size(), 2u);
  EXPECT_EQ(runs[0]["placer"], "naive");
  EXPECT_EQ(runs[1]["placer"], "capacity");
  for (const auto& run : runs) {
    EXPECT_GT(run["calls"].get<int>(), 2);
    EXPECT_EQ(run["ok"], run["calls"]);
  }
}

TEST_F(CommandTest, BenchThinkTimeSpacesEachCallersCalls) {
  std::ostringstream out, err;

  // One caller, 1 s of load, 0.2 s of think after each answer: at most 5 calls (the fake
  // runner answers at once); without --think it makes hundreds.
  const int code = RunBenchCommand({"--runners", Runners(), "--placer", "naive", "--duration",
                                    "1", "--concurrency", "1", "--functions", "1", "--think",
                                    "0.2", "--json"},
                                   out, err);

  ASSERT_EQ(code, 0) << err.str();
  const nlohmann::json run = nlohmann::json::parse(out.str());
  EXPECT_GE(run["calls"].get<int>(), 3);
  EXPECT_LE(run["calls"].get<int>(), 5);
  EXPECT_EQ(run["ok"], run["calls"]);
}

}  // namespace
}  // namespace fnrunner
