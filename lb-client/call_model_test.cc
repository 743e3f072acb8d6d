#include "lb-client/call_model.h"

#include <set>
#include <string>

#include "absl/strings/match.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "lb-client/call_id.h"

namespace fnrunner {
namespace {

using ::testing::MatchesRegex;

LbCall SampleCall() {
  LbCall call;
  call.id = "01E8S0W2ABNG8G00GZJ000000A";
  call.app_id = "01E8RZY4TPNG8G00GZJ0000001";
  call.app_name = "demo";
  call.fn_id = "01E8RZZ9W5NG8G00GZJ0000002";
  call.image = "fndemo/hello:0.0.7";
  call.url = "http://lb.example.com:8080/invoke/01E8RZZ9W5NG8G00GZJ0000002";
  call.timeout = absl::Seconds(30);
  call.idle_timeout = absl::Seconds(30);
  call.memory_mb = 128;
  call.config = {{"GREETING", "hello"}};
  call.headers = {{"Content-Type", {"application/json"}}, {"Accept", {"*/*"}}};
  call.created_at = absl::FromUnixMillis(1588759872345);
  call.started_at = absl::FromUnixMillis(1588759872351);
  return call;
}

TEST(CallModelJsonTest, WritesFnsSampleInFnsKeyOrder) {
  // runner-protocol.md §3.2 without annotations, compact.
  EXPECT_EQ(CallModelJson(SampleCall()),
            R"({"id":"01E8S0W2ABNG8G00GZJ000000A","status":"running",)"
            R"("image":"fndemo/hello:0.0.7","type":"sync",)"
            R"("url":"http://lb.example.com:8080/invoke/01E8RZZ9W5NG8G00GZJ0000002",)"
            R"("method":"POST","timeout":30,"idle_timeout":30,"memory":128,)"
            R"("config":{"FN_APP_ID":"01E8RZY4TPNG8G00GZJ0000001",)"
            R"("FN_FN_ID":"01E8RZZ9W5NG8G00GZJ0000002","FN_MEMORY":"128","FN_TYPE":"sync",)"
            R"("GREETING":"hello"},)"
            R"("headers":{"Accept":["*/*"],"Content-Type":["application/json"]},)"
            R"("completed_at":"0001-01-01T00:00:00.000Z","created_at":"2020-05-06T10:11:12.345Z",)"
            R"("started_at":"2020-05-06T10:11:12.351Z","app_id":"01E8RZY4TPNG8G00GZJ0000001",)"
            R"("app_name":"demo","trigger_id":"","fn_id":"01E8RZZ9W5NG8G00GZJ0000002"})");
}

TEST(CallModelJsonTest, WritesCpusAsMilliCpuStringAndTmpfsAndAnnotations) {
  LbCall call = SampleCall();
  call.milli_cpus = 250;
  call.tmpfs_size_mb = 16;
  call.annotations = {{"fnproject.io/x", R"({"a":1})"}};

  const std::string json = CallModelJson(call);

  EXPECT_TRUE(absl::StrContains(json, R"("tmpfs_size":16,"memory":128,"cpus":"250m",)")) << json;
  EXPECT_TRUE(absl::StrContains(json, R"("annotations":{"fnproject.io/x":{"a":1}},)")) << json;
}

TEST(CallModelJsonTest, OmitsZeroAndEmptyFieldsAsFnDoes) {
  LbCall call;
  call.id = "x";
  call.image = "";
  call.type = "";
  call.method = "";
  call.timeout = absl::ZeroDuration();
  call.idle_timeout = absl::ZeroDuration();
  call.memory_mb = 0;

  const std::string json = CallModelJson(call);

  EXPECT_EQ(json.find("\"image\""), std::string::npos) << json;
  EXPECT_EQ(json.find("\"type\""), std::string::npos) << json;
  EXPECT_EQ(json.find("\"timeout\""), std::string::npos) << json;
  EXPECT_EQ(json.find("\"memory\""), std::string::npos) << json;
  EXPECT_EQ(json.find("\"headers\""), std::string::npos) << json;
  EXPECT_EQ(json.find("\"cpus\""), std::string::npos) << json;
}

TEST(CallModelJsonTest, EscapesLikeGo) {
  LbCall call;
  call.id = "<a&b>\"\\\n\t\x01";
  call.app_name = "caf\xc3\xa9 \xff \xe2\x80\xa8";  // é, an invalid byte, U+2028

  const std::string json = CallModelJson(call);

  EXPECT_TRUE(absl::StrContains(json, R"("id":"\u003ca\u0026b\u003e\"\\\n\t\u0001")")) << json;
  EXPECT_TRUE(absl::StrContains(json, "\"app_name\":\"caf\xc3\xa9 \\ufffd \\u2028\"")) << json;
}

TEST(EffectiveConfigTest, AddsFnsVariablesOverridingTheCallsOwn) {
  LbCall call = SampleCall();
  call.type = "detached";
  call.config["FN_MEMORY"] = "1";

  const auto config = EffectiveConfig(call);

  EXPECT_EQ(config.at("FN_MEMORY"), "128");
  EXPECT_EQ(config.at("FN_TYPE"), "sync");
  EXPECT_EQ(config.at("FN_FN_ID"), call.fn_id);
  EXPECT_EQ(config.at("FN_APP_ID"), call.app_id);
  EXPECT_EQ(config.at("GREETING"), "hello");
}

TEST(FnDateTimeTest, TruncatesToMilliseconds) {
  EXPECT_EQ(FnDateTime(absl::FromUnixNanos(1588759872345999999)), "2020-05-06T10:11:12.345Z");
  EXPECT_EQ(FnDateTime(absl::FromUnixSeconds(0)), "1970-01-01T00:00:00.000Z");
}

TEST(SlotHashIdTest, IsLowercaseHexOfSha256AndStable) {
  EXPECT_THAT(SlotHashId(SampleCall()), MatchesRegex("[0-9a-f]{64}"));
  EXPECT_EQ(SlotHashId(SampleCall()), SlotHashId(SampleCall()));
}

TEST(SlotHashIdTest, CoversWhatIsBakedIntoAContainer) {
  const std::string base = SlotHashId(SampleCall());
  std::set<std::string> keys = {base};
  auto add = [&](auto mutate) {
    LbCall call = SampleCall();
    mutate(call);
    return keys.insert(SlotHashId(call)).second;
  };

  EXPECT_TRUE(add([](LbCall& c) { c.fn_id = "other"; }));
  EXPECT_TRUE(add([](LbCall& c) { c.app_id = "other"; }));
  EXPECT_TRUE(add([](LbCall& c) { c.image = "other"; }));
  EXPECT_TRUE(add([](LbCall& c) { c.memory_mb = 256; }));
  EXPECT_TRUE(add([](LbCall& c) { c.milli_cpus = 100; }));
  EXPECT_TRUE(add([](LbCall& c) { c.timeout = absl::Seconds(31); }));
  EXPECT_TRUE(add([](LbCall& c) { c.idle_timeout = absl::Seconds(31); }));
  EXPECT_TRUE(add([](LbCall& c) { c.tmpfs_size_mb = 1; }));
  EXPECT_TRUE(add([](LbCall& c) { c.config["X"] = "1"; }));
  EXPECT_TRUE(add([](LbCall& c) { c.annotations["X"] = "1"; }));
  EXPECT_TRUE(add([](LbCall& c) { c.syslog_url = "tcp://x"; }));
}

TEST(SlotHashIdTest, IgnoresPerRequestFields) {
  LbCall call = SampleCall();
  call.id = "another";
  call.headers = {{"X", {"y"}}};
  call.url = "http://elsewhere";
  call.method = "GET";
  call.created_at = absl::Now();

  EXPECT_EQ(SlotHashId(call), SlotHashId(SampleCall()));
}

TEST(CallIdGeneratorTest, MakesTwentySixCrockfordCharacters) {
  CallIdGenerator ids(7);

  EXPECT_THAT(ids.Next(absl::FromUnixMillis(1588759872345)),
              MatchesRegex("[0-9A-HJKMNP-TV-Z]{26}"));
}

TEST(CallIdGeneratorTest, EncodesTheMillisecondsFirst) {
  CallIdGenerator ids(7);

  // ULID's time prefix: 48 bits of milliseconds in the first 10 characters.
  EXPECT_EQ(ids.Next(absl::FromUnixMillis(1588759872345)).substr(0, 10), "01E7MQFGTS");
}

TEST(CallIdGeneratorTest, IdsIncreaseWithinAMillisecondAndWhenTheClockStepsBack) {
  CallIdGenerator ids(7);
  const absl::Time t = absl::FromUnixMillis(1588759872345);

  const std::string a = ids.Next(t);
  const std::string b = ids.Next(t);
  const std::string c = ids.Next(t - absl::Seconds(5));
  const std::string d = ids.Next(t + absl::Milliseconds(1));

  EXPECT_LT(a, b);
  EXPECT_LT(b, c);
  EXPECT_LT(c, d);
}

TEST(CallIdGeneratorTest, SameSeedSameIds) {
  CallIdGenerator one(99);
  CallIdGenerator two(99);
  const absl::Time t = absl::FromUnixMillis(1);

  EXPECT_EQ(one.Next(t), two.Next(t));
}

}  // namespace
}  // namespace fnrunner
