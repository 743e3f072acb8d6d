// The contract between our LB and our runner, checked against the runner's own code: the call
// model JSON the LB writes is what the runner's parser reads, and the slot key the LB sends
// (SlotHashId) is the key the runner would compute itself (HashSlotKey), which is also the
// key it reports in capacity snapshots. lb-client may not depend on agent/; tests may.

#include <string>

#include "agent/call.h"
#include "agent/slot_key.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "lb-client/call_model.h"
#include "tests/testing/status_matchers.h"

namespace fnrunner {
namespace {

using ::testing::ElementsAre;
using ::testing::Pair;

LbCall FullCall() {
  LbCall call;
  call.id = "01M8JHT8PDVMGKMRE063AN9AV5";
  call.app_id = "app-1";
  call.app_name = "app";
  call.fn_id = "fn-1";
  call.image = "fn-test/fdk:latest";
  call.url = "http://lb/invoke/fn-1";
  call.method = "PUT";
  call.timeout = absl::Seconds(45);
  call.idle_timeout = absl::Seconds(90);
  call.memory_mb = 192;
  call.tmpfs_size_mb = 8;
  call.milli_cpus = 250;
  call.config = {{"GREETING", "hi <&>"}, {"EMPTY", ""}};
  call.annotations = {{"fnproject.io/a", R"({"x":[1,2]})"}, {"b", R"("s")"}};
  call.headers = {{"Content-Type", {"text/plain"}}, {"X-Multi", {"1", "2"}}};
  call.syslog_url = "tcp://logs:514";
  return call;
}

TEST(SlotKeyContractTest, TheRunnerParsesTheLbsCallModel) {
  const LbCall lb = FullCall();

  absl::StatusOr<Call> parsed = ParseCall(CallModelJson(lb));

  ASSERT_THAT(parsed, IsOk());
  EXPECT_EQ(parsed->id.value, lb.id);
  EXPECT_EQ(parsed->app_id, "app-1");
  EXPECT_EQ(parsed->fn_id, "fn-1");
  EXPECT_EQ(parsed->image, lb.image);
  EXPECT_EQ(parsed->type, CallType::kSync);
  EXPECT_EQ(parsed->timeout, absl::Seconds(45));
  EXPECT_EQ(parsed->idle_timeout, absl::Seconds(90));
  EXPECT_EQ(parsed->memory_mb, 192u);
  EXPECT_EQ(parsed->tmpfs_size_mb, 8u);
  EXPECT_EQ(parsed->milli_cpus, 250u);
  EXPECT_EQ(parsed->method, "PUT");
  EXPECT_EQ(parsed->url, lb.url);
  EXPECT_EQ(parsed->syslog_url, lb.syslog_url);
  EXPECT_EQ(parsed->config.at("GREETING"), "hi <&>");
  EXPECT_EQ(parsed->config.at("FN_MEMORY"), "192");
  EXPECT_EQ(parsed->config.at("FN_TYPE"), "sync");
  EXPECT_EQ(parsed->config.at("FN_FN_ID"), "fn-1");
  EXPECT_EQ(parsed->config.at("FN_APP_ID"), "app-1");
  EXPECT_THAT(parsed->headers, ElementsAre(CallHeader{"Content-Type", {"text/plain"}},
                                           CallHeader{"X-Multi", {"1", "2"}}));
}

TEST(SlotKeyContractTest, TheLbsSlotHashIdIsTheKeyTheRunnerComputes) {
  for (LbCall call : {FullCall(), LbCall{}}) {
    call.id = "01M8JHT8PDVMGKMRE063AN9AV5";
    absl::StatusOr<Call> parsed = ParseCall(CallModelJson(call));
    ASSERT_THAT(parsed, IsOk());

    EXPECT_EQ(SlotHashId(call), HashSlotKey(*parsed).Hex());
  }
}

TEST(SlotKeyContractTest, TheRunnerUsesTheLbsSlotHashIdVerbatimAndReportsItAsSent) {
  const LbCall lb = FullCall();
  absl::StatusOr<Call> parsed = ParseCall(CallModelJson(lb));
  ASSERT_THAT(parsed, IsOk());
  parsed->slot_hash_id = SlotHashId(lb);  // as the runner copies TryCall.slot_hash_id in

  absl::StatusOr<SlotKey> key = SlotKeyOf(*parsed);

  ASSERT_THAT(key, IsOk());
  EXPECT_EQ(key->Hex(), SlotHashId(lb));  // what AgentSnapshot::Slot::slot_key carries
}

}  // namespace
}  // namespace fnrunner
