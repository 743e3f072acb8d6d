#include "runner/wire_format.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace fnrunner {
namespace {

const absl::Time kT = absl::FromUnixMicros(1588759872345678);  // 2020-05-06T10:11:12.345678Z

TEST(WireFormatTest, DatesAreRfc3339UtcWithTruncatedMilliseconds) {
  EXPECT_EQ(FormatFnDate(kT), "2020-05-06T10:11:12.345Z");
  EXPECT_EQ(FormatFnDate(absl::FromUnixSeconds(0)), "");
  EXPECT_EQ(FormatFnDate(absl::InfinitePast()), "");
}

TEST(WireFormatTest, StripsHopByHopHeadersCaseInsensitively) {
  std::vector<HttpHeaderField> headers = {{"keep-alive", "1"}, {"X-A", "1"},
                                          {"UPGRADE", "h2"},   {"X-A", "2"},
                                          {"TE", "trailers"},  {"Proxy-Authorization", "x"}};

  EXPECT_THAT(StripHopByHop(headers),
              ::testing::ElementsAre(HttpHeaderField{"X-A", "1"}, HttpHeaderField{"X-A", "2"},
                                     HttpHeaderField{"TE", "trailers"}));
}

TEST(WireFormatTest, ResultStartSetsTheHttpOneof) {
  RunnerMsg msg = ResultStartMsg(200, {{"A", "1"}, {"A", "2"}});

  ASSERT_TRUE(msg.result_start().has_http());
  EXPECT_EQ(msg.result_start().http().status_code(), 200);
  ASSERT_EQ(msg.result_start().http().headers_size(), 2);
  EXPECT_EQ(msg.result_start().http().headers(1).value(), "2");
}

TEST(WireFormatTest, FinishedForACompletedCall) {
  FinishedFields f;
  f.call_id = "c";
  f.image = "i";
  f.created_at = kT;
  f.started_at = kT + absl::Milliseconds(342);
  f.completed_at = kT + absl::Milliseconds(371);
  f.scheduler = absl::Milliseconds(342);
  f.execution = absl::Milliseconds(29);
  f.image_pull_wait = absl::Seconds(2);
  f.container_create = absl::Milliseconds(300);
  f.init_start = absl::Milliseconds(40);

  const CallFinished m = FinishedMsg(f, kT).finished();

  EXPECT_TRUE(m.success());
  EXPECT_EQ(m.details(), "c");
  EXPECT_EQ(m.createdat(), "2020-05-06T10:11:12.345Z");
  EXPECT_EQ(m.startedat(), "2020-05-06T10:11:12.687Z");
  EXPECT_EQ(m.completedat(), "2020-05-06T10:11:12.716Z");
  EXPECT_EQ(m.schedulerduration(), 342000000);
  EXPECT_EQ(m.executionduration(), 29000000);
  EXPECT_EQ(m.imagepullwaitduration(), 2000000000);
  EXPECT_EQ(m.ctrcreateduration(), 300000000);
  EXPECT_EQ(m.initstarttime(), 40000000);
  EXPECT_EQ(m.ctrprepduration(), 0);
}

TEST(WireFormatTest, FinishedForACallThatNeverStarted) {
  FinishedFields f;
  f.call_id = "c";
  f.created_at = kT;
  f.scheduler = absl::Seconds(1);  // ignored: never started
  f.error = FnError{503, "Timed out - server too busy", false};

  const CallFinished m = FinishedMsg(f, kT).finished();

  EXPECT_FALSE(m.success());
  EXPECT_EQ(m.errorcode(), 503);
  EXPECT_EQ(m.startedat(), "");
  EXPECT_EQ(m.completedat(), "");
  EXPECT_EQ(m.schedulerduration(), 0);
}

TEST(WireFormatTest, StartedButNotCompletedUsesNow) {
  FinishedFields f;
  f.created_at = kT;
  f.started_at = kT;

  const CallFinished m = FinishedMsg(f, kT + absl::Seconds(1)).finished();

  EXPECT_EQ(m.completedat(), "2020-05-06T10:11:13.345Z");
}

}  // namespace
}  // namespace fnrunner
