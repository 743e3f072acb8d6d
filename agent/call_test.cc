#include "agent/call.h"

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace fnrunner {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Pair;

// runner-protocol.md §3.2, compact as on the wire.
constexpr absl::string_view kSpecSample =
    R"({"id":"01E8S0W2ABNG8G00GZJ000000A","status":"running","image":"fndemo/hello:0.0.7",)"
    R"("type":"sync","url":"http://lb.example.com:8080/invoke/01E8RZZ9W5NG8G00GZJ0000002",)"
    R"("method":"POST","timeout":30,"idle_timeout":30,"memory":128,)"
    R"("config":{"FN_APP_ID":"01E8RZY4TPNG8G00GZJ0000001","FN_FN_ID":"01E8RZZ9W5NG8G00GZJ0000002",)"
    R"("FN_MEMORY":"128","FN_TYPE":"sync","GREETING":"hello"},)"
    R"("annotations":{"fnproject.io/fn/invokeEndpoint":)"
    R"("http://lb.example.com:8080/invoke/01E8RZZ9W5NG8G00GZJ0000002"},)"
    R"("headers":{"Accept":["*/*"],"Content-Length":["22"],"Content-Type":["application/json"],)"
    R"("Fn-Invoke-Type":["sync"],"User-Agent":["curl/7.68.0"]},)"
    R"("completed_at":"0001-01-01T00:00:00.000Z","created_at":"2020-05-06T10:11:12.345Z",)"
    R"("started_at":"2020-05-06T10:11:12.351Z","app_id":"01E8RZY4TPNG8G00GZJ0000001",)"
    R"("app_name":"demo","trigger_id":"","fn_id":"01E8RZZ9W5NG8G00GZJ0000002"})";

// A call carrying every field the runner uses, as an LB-side overrider would send it.
constexpr absl::string_view kFullCall =
    R"({"id":"01E8S0W2ABNG8G00GZJ000000B","app_id":"app1","app_name":"demo","fn_id":"fn1",)"
    R"("image":"fn-test/fdk:latest","type":"detached","timeout":45,"idle_timeout":120,)"
    R"("memory":256,"tmpfs_size":64,"cpus":"100m","config":{"B":"2","A":"b"},)"
    R"("annotations":{"x":{"k":[1,2]}},"headers":{"Content-Type":["text/plain"],)"
    R"("Fn-Http-H-X":["2","1"]},"method":"PUT","url":"http://x/invoke/fn1",)"
    R"("syslog_url":"tcp://logs:514","trigger_id":"trig1","delay":0,"payload":"",)"
    R"("execution_duration":0,"stats":[],"error":"","status":"running",)"
    R"("created_at":"2020-05-06T10:11:12.345Z"})";

absl::StatusOr<Call> ParseWith(absl::string_view fields) {
  return ParseCall(absl::StrCat(R"({"id":"c1",)", fields, "}"));
}

TEST(CallTest, ParsesSpecSample) {
  absl::StatusOr<Call> call = ParseCall(kSpecSample);

  ASSERT_THAT(call, IsOk());
  EXPECT_EQ(call->id, CallId{"01E8S0W2ABNG8G00GZJ000000A"});
  EXPECT_EQ(call->image, "fndemo/hello:0.0.7");
  EXPECT_EQ(call->type, CallType::kSync);
  EXPECT_EQ(call->url, "http://lb.example.com:8080/invoke/01E8RZZ9W5NG8G00GZJ0000002");
  EXPECT_EQ(call->method, "POST");
  EXPECT_EQ(call->timeout, absl::Seconds(30));
  EXPECT_EQ(call->idle_timeout, absl::Seconds(30));
  EXPECT_EQ(call->memory_mb, 128u);
  EXPECT_EQ(call->tmpfs_size_mb, 0u);
  EXPECT_EQ(call->milli_cpus, 0u);
  EXPECT_EQ(call->config.size(), 5u);
  EXPECT_EQ(call->config.at("GREETING"), "hello");
  EXPECT_THAT(
      call->annotations,
      ElementsAre(Pair("fnproject.io/fn/invokeEndpoint",
                       R"("http://lb.example.com:8080/invoke/01E8RZZ9W5NG8G00GZJ0000002")")));
  ASSERT_EQ(call->headers.size(), 5u);
  EXPECT_EQ(call->headers[2], (CallHeader{"Content-Type", {"application/json"}}));
  EXPECT_EQ(call->app_id, "01E8RZY4TPNG8G00GZJ0000001");
  EXPECT_EQ(call->app_name, "demo");
  EXPECT_EQ(call->trigger_id, "");
  EXPECT_EQ(call->fn_id, "01E8RZZ9W5NG8G00GZJ0000002");
  EXPECT_EQ(call->syslog_url, "");
}

TEST(CallTest, ParsesEveryRunnerField) {
  absl::StatusOr<Call> call = ParseCall(kFullCall);

  ASSERT_THAT(call, IsOk());
  EXPECT_EQ(call->type, CallType::kDetached);
  EXPECT_EQ(call->timeout, absl::Seconds(45));
  EXPECT_EQ(call->idle_timeout, absl::Seconds(120));
  EXPECT_EQ(call->memory_mb, 256u);
  EXPECT_EQ(call->tmpfs_size_mb, 64u);
  EXPECT_EQ(call->milli_cpus, 100u);
  EXPECT_THAT(call->config, ElementsAre(Pair("A", "b"), Pair("B", "2")));
  EXPECT_THAT(call->annotations, ElementsAre(Pair("x", R"({"k":[1,2]})")));
  EXPECT_THAT(call->headers, ElementsAre(CallHeader{"Content-Type", {"text/plain"}},
                                         CallHeader{"Fn-Http-H-X", {"2", "1"}}));
  EXPECT_EQ(call->method, "PUT");
  EXPECT_EQ(call->syslog_url, "tcp://logs:514");
  EXPECT_EQ(call->trigger_id, "trig1");
}

struct CpusCase {
  std::string json;
  absl::StatusCode code;
  uint64_t milli_cpus;        // when OK
  absl::string_view message;  // when not OK
};

TEST(CallTest, CpusParsesLikeFn) {
  const CpusCase cases[] = {
      {R"("250m")", absl::StatusCode::kOk, 250, ""},
      {R"("0.25")", absl::StatusCode::kOk, 250, ""},
      {R"("")", absl::StatusCode::kOk, 0, ""},
      {"null", absl::StatusCode::kOk, 0, ""},
      {R"(" 2 ")", absl::StatusCode::kOk, 2000, ""},
      {R"("0m")", absl::StatusCode::kOk, 0, ""},
      {R"("1024000m")", absl::StatusCode::kOk, 1024000, ""},
      {R"("1024")", absl::StatusCode::kOk, 1024000, ""},
      {R"("0.0019")", absl::StatusCode::kOk, 1, ""},  // truncated, as Go converts
      {R"("1e3")", absl::StatusCode::kOk, 1000000, ""},
      {R"("+0.5")", absl::StatusCode::kOk, 500, ""},
      // fn reads the raw bytes and would reject this; we decode escapes first (the LB never
      // escapes digits, so nothing real differs).
      {R"("\u0031m")", absl::StatusCode::kOk, 1, ""},
      {"250", absl::StatusCode::kInvalidArgument, 0, kInvalidJsonMessage},
      {"0.25", absl::StatusCode::kInvalidArgument, 0, kInvalidJsonMessage},
      {"true", absl::StatusCode::kInvalidArgument, 0, kInvalidJsonMessage},
      {R"({"m":1})", absl::StatusCode::kInvalidArgument, 0, kInvalidJsonMessage},
      {R"(["1m"])", absl::StatusCode::kInvalidArgument, 0, kInvalidJsonMessage},
      {R"("1024001m")", absl::StatusCode::kInvalidArgument, 0, kInvalidCpusMessage},
      {R"("1024.5")", absl::StatusCode::kInvalidArgument, 0, kInvalidCpusMessage},
      {R"("-1m")", absl::StatusCode::kInvalidArgument, 0, kInvalidCpusMessage},
      {R"("-0.5")", absl::StatusCode::kInvalidArgument, 0, kInvalidCpusMessage},
      {R"("1.5m")", absl::StatusCode::kInvalidArgument, 0, kInvalidCpusMessage},
      {R"("m")", absl::StatusCode::kInvalidArgument, 0, kInvalidCpusMessage},
      {R"("100mm")", absl::StatusCode::kInvalidArgument, 0, kInvalidCpusMessage},
      {R"("+100m")", absl::StatusCode::kInvalidArgument, 0, kInvalidCpusMessage},
      {R"("two")", absl::StatusCode::kInvalidArgument, 0, kInvalidCpusMessage},
      {R"("nan")", absl::StatusCode::kInvalidArgument, 0, kInvalidCpusMessage},
      {R"("inf")", absl::StatusCode::kInvalidArgument, 0, kInvalidCpusMessage},
      {R"("1e400")", absl::StatusCode::kInvalidArgument, 0, kInvalidCpusMessage},
      {R"("0x1p-2")", absl::StatusCode::kInvalidArgument, 0, kInvalidCpusMessage},
      {R"("99999999999999999999m")", absl::StatusCode::kInvalidArgument, 0, kInvalidCpusMessage},
  };
  for (const CpusCase& c : cases) {
    absl::StatusOr<Call> call = ParseWith(absl::StrCat(R"("cpus":)", c.json));

    SCOPED_TRACE(c.json);
    ASSERT_EQ(call.status().code(), c.code) << call.status();
    if (call.ok()) {
      EXPECT_EQ(call->milli_cpus, c.milli_cpus);
    } else {
      EXPECT_EQ(call.status().message(), c.message);
      EXPECT_EQ(FnErrorCode(call.status()), 400);
    }
  }
}

TEST(CallTest, CpusMessageIsFnsExactText) {
  EXPECT_EQ(kInvalidCpusMessage,
            "Cpus is invalid. Value should be either between [0.000 and 1024.000] or [0m and "
            "1024000m] milliCPU units");
}

TEST(CallTest, SyntaxErrorsCarryTheLibraryMessageAndErrorCodeZero) {
  for (absl::string_view json :
       {"", "{", R"({"id":})", "{} x", "nul", R"({"id":"\q"})", "{\"id\":\"\xff\"}"}) {
    absl::StatusOr<Call> call = ParseCall(json);

    SCOPED_TRACE(json);
    EXPECT_THAT(call, StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("parse error")));
    EXPECT_EQ(FnErrorCode(call.status()), 0);
  }
}

TEST(CallTest, NonObjectIsATypeError) {
  EXPECT_THAT(ParseCall("[1]"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "json: cannot unmarshal array into Go value of type models.Call"));
}

struct TypeErrorCase {
  std::string fields;
  std::string message;
};

TEST(CallTest, WrongTypesAreGoStyleErrorsNamingTheField) {
  const TypeErrorCase cases[] = {
      {R"("memory":"128")",
       "json: cannot unmarshal string into Go struct field Call.memory of type uint64"},
      {R"("memory":-1)",
       "json: cannot unmarshal number -1 into Go struct field Call.memory of type uint64"},
      {R"("memory":128.0)",
       "json: cannot unmarshal number 128.0 into Go struct field Call.memory of type uint64"},
      {R"("memory":18446744073709551616)", "Call.memory of type uint64"},
      {R"("timeout":"30")", "Call.timeout of type int32"},
      {R"("timeout":2147483648)",
       "number 2147483648 into Go struct field Call.timeout of type int32"},
      {R"("idle_timeout":-2147483649)", "Call.idle_timeout of type int32"},
      {R"("tmpfs_size":4294967296)", "Call.tmpfs_size of type uint32"},
      {R"("id":5)", "json: cannot unmarshal number into Go struct field Call.id of type string"},
      {R"("image":true)", "bool into Go struct field Call.image of type string"},
      {R"("type":["sync"])", "array into Go struct field Call.type of type string"},
      {R"("config":[])", "array into Go struct field Call.config of type models.Config"},
      {R"("config":{"A":1})", "number into Go struct field Call.config of type string"},
      {R"("annotations":"a")", "string into Go struct field Call.annotations"},
      {R"("headers":{"A":"x"})", "string into Go struct field Call.headers of type []string"},
      {R"("headers":{"A":[1]})", "number into Go struct field Call.headers of type string"},
      {R"("headers":[])", "array into Go struct field Call.headers of type http.Header"},
      {R"("delay":"1")", "Call.delay of type int32"},
      {R"("execution_duration":1.5)", "Call.execution_duration"},
      {R"("created_at":0)", "Call.created_at"},
      {R"("stats":{})", "Call.stats"},
      {R"("status":1)", "Call.status of type string"},
  };
  for (const TypeErrorCase& c : cases) {
    absl::StatusOr<Call> call = ParseWith(c.fields);

    SCOPED_TRACE(c.fields);
    EXPECT_THAT(call, StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr(c.message)));
    EXPECT_EQ(FnErrorCode(call.status()), 0);
  }
}

TEST(CallTest, FirstTypeErrorInDocumentOrderWins) {
  EXPECT_THAT(ParseWith(R"("timeout":"x","memory":"y")"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("Call.timeout")));
}

TEST(CallTest, CpusErrorWinsOverEarlierTypeError) {
  absl::StatusOr<Call> call = ParseWith(R"("memory":"x","cpus":5)");

  EXPECT_THAT(call, StatusIs(absl::StatusCode::kInvalidArgument, kInvalidJsonMessage));
  EXPECT_EQ(FnErrorCode(call.status()), 400);
}

TEST(CallTest, KeysMatchCaseInsensitively) {
  absl::StatusOr<Call> call = ParseCall(R"({"ID":"c9","App_Id":"a","MEMORY":5,"Cpus":"1m"})");

  ASSERT_THAT(call, IsOk());
  EXPECT_EQ(call->id, CallId{"c9"});
  EXPECT_EQ(call->app_id, "a");
  EXPECT_EQ(call->memory_mb, 5u);
  EXPECT_EQ(call->milli_cpus, 1u);
}

TEST(CallTest, LaterKeyDifferingOnlyInCaseWins) {
  EXPECT_THAT(ParseWith(R"("memory":1,"Memory":2)"),
              IsOkAndHolds(::testing::Field(&Call::memory_mb, 2u)));
}

TEST(CallTest, NullMeansAbsent) {
  absl::StatusOr<Call> call =
      ParseWith(R"("memory":null,"image":null,"config":null,"headers":null,"annotations":null,)"
                R"("timeout":null,"type":null,"created_at":null,"stats":null)");

  ASSERT_THAT(call, IsOk());
  EXPECT_EQ(call->memory_mb, 0u);
  EXPECT_EQ(call->image, "");
  EXPECT_THAT(call->config, IsEmpty());
  EXPECT_THAT(call->headers, IsEmpty());
  EXPECT_EQ(call->timeout, absl::ZeroDuration());
  EXPECT_EQ(call->type, CallType::kSync);
}

TEST(CallTest, NullMapElementsBecomeEmptyStrings) {
  absl::StatusOr<Call> call =
      ParseWith(R"("config":{"A":null},"headers":{"X":["v",null],"Y":null})");

  ASSERT_THAT(call, IsOk());
  EXPECT_THAT(call->config, ElementsAre(Pair("A", "")));
  EXPECT_THAT(call->headers, ElementsAre(CallHeader{"X", {"v", ""}}, CallHeader{"Y", {}}));
}

TEST(CallTest, UnknownKeysAreIgnored) {
  EXPECT_THAT(ParseWith(R"("future":{"x":[1,{}]},"memory":7)"),
              IsOkAndHolds(::testing::Field(&Call::memory_mb, 7u)));
}

TEST(CallTest, SlotHashIdIsNotReadFromJson) {
  // It travels in TryCall, not in the call model; fn's model has no such key.
  EXPECT_THAT(ParseWith(R"("slot_hash_id":"abcd")"),
              IsOkAndHolds(::testing::Field(&Call::slot_hash_id, "")));
}

TEST(CallTest, AnnotationsKeepCompactJsonText) {
  absl::StatusOr<Call> call =
      ParseWith(R"("annotations":{"b": { "x" : [ 1, 2 ] },"a":"s","n":null,"f":1.5,"t":true})");

  ASSERT_THAT(call, IsOk());
  EXPECT_THAT(call->annotations,
              ElementsAre(Pair("a", R"("s")"), Pair("b", R"({"x":[1,2]})"), Pair("f", "1.5"),
                          Pair("n", "null"), Pair("t", "true")));
}

TEST(CallTest, TypeIsDetachedOnlyForDetached) {
  for (auto [text, want] : {std::pair<const char*, CallType>{"detached", CallType::kDetached},
                            {"sync", CallType::kSync},
                            {"", CallType::kSync},
                            {"async", CallType::kSync}}) {
    EXPECT_THAT(ParseWith(absl::StrCat(R"("type":")", text, R"(")")),
                IsOkAndHolds(::testing::Field(&Call::type, want)))
        << text;
  }
}

TEST(CallTest, AcceptsUnicodeEscapes) {
  EXPECT_THAT(ParseWith(R"("image":"fn\u002ftest\u003c1\u003e")"),
              IsOkAndHolds(::testing::Field(&Call::image, "fn/test<1>")));
}

TEST(CallTest, DatesAreNotInterpreted) {
  EXPECT_THAT(ParseWith(R"("created_at":"yesterday","started_at":"","completed_at":"x")"), IsOk());
}

TEST(CallTest, ReservationIsMemoryPlusTmpfsInBytes) {
  Call call;
  call.memory_mb = 128;
  call.tmpfs_size_mb = 64;
  call.milli_cpus = 250;

  EXPECT_EQ(call.Reservation(), (Resources{.memory_bytes = 192 * kBytesPerMb, .milli_cpus = 250}));
}

TEST(CallTest, ReservationSaturatesInsteadOfOverflowing) {
  for (uint64_t memory_mb : {uint64_t{1} << 44, UINT64_MAX - 1, UINT64_MAX}) {
    Call call;
    call.memory_mb = memory_mb;
    call.tmpfs_size_mb = 2;

    EXPECT_EQ(call.Reservation().memory_bytes, UINT64_MAX) << memory_mb;
  }
}

struct FitsCase {
  uint64_t memory_mb;
  uint32_t tmpfs_mb;
  uint64_t milli_cpus;
  absl::StatusCode code;
};

TEST(CallTest, CheckFitsComparesWithTotalCapacity) {
  const Resources total{.memory_bytes = 1024 * kBytesPerMb, .milli_cpus = 2000};
  const FitsCase cases[] = {
      {0, 0, 0, absl::StatusCode::kOk},
      {1024, 0, 2000, absl::StatusCode::kOk},
      {960, 64, 0, absl::StatusCode::kOk},
      {961, 64, 0, absl::StatusCode::kFailedPrecondition},
      {1025, 0, 0, absl::StatusCode::kFailedPrecondition},
      {0, 1025, 0, absl::StatusCode::kFailedPrecondition},
      {128, 0, 2001, absl::StatusCode::kFailedPrecondition},
      {uint64_t{1} << 44, 0, 0, absl::StatusCode::kFailedPrecondition},  // would wrap to 0
      {UINT64_MAX, 1, 0, absl::StatusCode::kFailedPrecondition},
  };
  for (const FitsCase& c : cases) {
    Call call;
    call.memory_mb = c.memory_mb;
    call.tmpfs_size_mb = c.tmpfs_mb;
    call.milli_cpus = c.milli_cpus;

    absl::Status status = CheckFits(call, total);

    SCOPED_TRACE(::testing::Message()
                 << c.memory_mb << "+" << c.tmpfs_mb << " MB, " << c.milli_cpus << " mCPU");
    EXPECT_EQ(status.code(), c.code) << status;
  }
}

TEST(CallTest, TooBigIsFnsResourceError) {
  Call call;
  call.memory_mb = 2048;

  absl::Status status = CheckFits(call, Resources{.memory_bytes = kBytesPerMb, .milli_cpus = 1});

  EXPECT_THAT(status, StatusIs(absl::StatusCode::kFailedPrecondition,
                               "Requested CPU/Memory cannot be allocated"));
  EXPECT_EQ(FnErrorCode(status), 400);
}

TEST(CallTest, FnErrorCodeIsZeroWithoutPayload) {
  EXPECT_EQ(FnErrorCode(absl::OkStatus()), 0);
  EXPECT_EQ(FnErrorCode(absl::InvalidArgumentError("x")), 0);
}

}  // namespace
}  // namespace fnrunner
