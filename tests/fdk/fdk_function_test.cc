// Per-call behaviours of fn-test/fdk (Fn-Test-* request headers, tests/functions/README.md),
// exercised over the unix socket of a real container. Every later integration test relies on
// these behaviours, so each has its own test here.

#include <string>
#include <vector>

#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/fdk/fdk_fixture.h"
#include "tests/testing/status_matchers.h"

namespace fnrunner {
namespace {

using ::testing::ElementsAre;
using ::testing::Eq;
using ::testing::HasSubstr;
using ::testing::Optional;

// The content Fn-Test-Output-Bytes streams: byte i is 'a' + i % 26.
std::string Alphabet(size_t size) {
  std::string out;
  for (size_t i = 0; i < size; ++i) out += static_cast<char>('a' + i % 26);
  return out;
}

TEST_F(FdkFunctionTest, EchoesBodyAndCopiesContentType) {
  ASSERT_THAT(StartFunction(), IsOk());

  absl::StatusOr<HttpResponse> response =
      Call({{"Content-Type", "text/x-test; charset=utf-8"}}, "hello, function");

  ASSERT_THAT(response, IsOk());
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(response->body, "hello, function");
  EXPECT_THAT(response->Header("Content-Type"), Optional(Eq("text/x-test; charset=utf-8")));
  EXPECT_THAT(response->Header("Content-Length"), Optional(Eq("15")));
  EXPECT_FALSE(response->chunked);
}

TEST_F(FdkFunctionTest, EchoWithoutContentTypeSendsNone) {
  ASSERT_THAT(StartFunction(), IsOk());

  absl::StatusOr<HttpResponse> response = Call({}, "x");

  ASSERT_THAT(response, IsOk());
  EXPECT_EQ(response->body, "x");
  EXPECT_EQ(response->Header("Content-Type"), std::nullopt);
}

TEST_F(FdkFunctionTest, EchoesChunkedRequestBody) {
  ASSERT_THAT(StartFunction(), IsOk());
  absl::StatusOr<UdsHttpClient> client = UdsHttpClient::Connect(SocketPath());
  ASSERT_THAT(client, IsOk());
  HttpRequest request;
  request.body = Alphabet(10'000);
  request.chunked = true;
  request.chunk_bytes = 777;

  absl::StatusOr<HttpResponse> response = client->RoundTrip(request, kCallTimeout);

  ASSERT_THAT(response, IsOk());
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(response->body, request.body);
}

TEST_F(FdkFunctionTest, KeepAliveServesRequestsInSequence) {
  ASSERT_THAT(StartFunction(), IsOk());
  absl::StatusOr<UdsHttpClient> client = UdsHttpClient::Connect(SocketPath());
  ASSERT_THAT(client, IsOk());

  std::vector<std::string> bodies;
  for (const char* body : {"first", "", "third"}) {
    HttpRequest request;
    request.body = body;
    absl::StatusOr<HttpResponse> response = client->RoundTrip(request, kCallTimeout);
    ASSERT_THAT(response, IsOk());
    bodies.push_back(response->body);
  }

  EXPECT_THAT(bodies, ElementsAre("first", "", "third"));
}

TEST_F(FdkFunctionTest, ServesConnectionsConcurrently) {
  ASSERT_THAT(StartFunction(), IsOk());
  absl::StatusOr<UdsHttpClient> hung = UdsHttpClient::Connect(SocketPath());
  ASSERT_THAT(hung, IsOk());
  HttpRequest hang;
  hang.headers = {{"Fn-Test-Hang", "1"}};
  ASSERT_THAT(hung->SendHead(hang), IsOk());

  // A server that handled one connection at a time would be stuck in the hung call.
  absl::StatusOr<HttpResponse> response = Call({}, "still here");

  ASSERT_THAT(response, IsOk());
  EXPECT_EQ(response->body, "still here");
}

TEST_F(FdkFunctionTest, InfoDescribesRequestAndEnvironment) {
  ASSERT_THAT(StartFunction({"FN_APP_ID=app-1"}), IsOk());

  absl::StatusOr<HttpResponse> response = Call({{"fn-test-mode", "info"},
                                                {"Fn-Call-Id", "call-42"},
                                                {"Fn-Deadline", "2024-05-01T12:00:05Z"},
                                                {"X-Multi", "one"},
                                                {"x-multi", "two"}},
                                               "12345");

  ASSERT_THAT(response, IsOk());
  EXPECT_EQ(response->status, 200);
  EXPECT_THAT(response->Header("Content-Type"), Optional(Eq("application/json")));
  nlohmann::json info = nlohmann::json::parse(response->body, nullptr, /*allow_exceptions=*/false);
  ASSERT_FALSE(info.is_discarded()) << response->body;
  EXPECT_EQ(info["method"], "POST");
  EXPECT_EQ(info["path"], "/call");
  EXPECT_EQ(info["headers"]["X-Multi"], nlohmann::json({"one", "two"}));
  EXPECT_EQ(info["headers"]["Fn-Call-Id"], nlohmann::json({"call-42"}));
  EXPECT_EQ(info["headers"]["Host"], nlohmann::json({"localhost"}));
  EXPECT_EQ(info["env"]["FN_LISTENER"], "unix:/tmp/iofs/lsnr.sock");
  EXPECT_EQ(info["env"]["FN_FORMAT"], "http-stream");
  EXPECT_EQ(info["env"]["FN_APP_ID"], "app-1");
  EXPECT_EQ(info["call_id"], "call-42");
  EXPECT_EQ(info["deadline"], "2024-05-01T12:00:05Z");
  EXPECT_EQ(info["body_bytes"], 5);
}

TEST_F(FdkFunctionTest, SleepDelaysTheAnswer) {
  ASSERT_THAT(StartFunction(), IsOk());
  const absl::Time start = absl::Now();

  absl::StatusOr<HttpResponse> response = Call({{"Fn-Test-Sleep-Ms", "300"}}, "zzz");

  ASSERT_THAT(response, IsOk());
  EXPECT_GE(absl::Now() - start, absl::Milliseconds(300));
  EXPECT_EQ(response->body, "zzz");
}

TEST_F(FdkFunctionTest, StatusSetsTheStatusAndStillEchoes) {
  ASSERT_THAT(StartFunction(), IsOk());

  absl::StatusOr<HttpResponse> response = Call({{"Fn-Test-Status", "502"}}, "failed body");

  ASSERT_THAT(response, IsOk());
  EXPECT_EQ(response->status, 502);
  EXPECT_EQ(response->body, "failed body");
}

TEST_F(FdkFunctionTest, HeaderAddsResponseHeaders) {
  ASSERT_THAT(StartFunction(), IsOk());

  absl::StatusOr<HttpResponse> response = Call(
      {{"Fn-Test-Header", "X-Extra: one"}, {"fn-test-header", "X-Extra: two: with colon"}}, "b");

  ASSERT_THAT(response, IsOk());
  EXPECT_EQ(response->status, 200);
  EXPECT_THAT(response->Headers("X-Extra"), ElementsAre("one", "two: with colon"));
  EXPECT_EQ(response->body, "b");
}

TEST_F(FdkFunctionTest, OutputBytesStreamsChunksOfTheGivenSize) {
  ASSERT_THAT(StartFunction(), IsOk());

  absl::StatusOr<HttpResponse> response =
      Call({{"Fn-Test-Output-Bytes", "2500"}, {"Fn-Test-Chunk-Bytes", "1000"}}, "ignored");

  ASSERT_THAT(response, IsOk());
  EXPECT_EQ(response->status, 200);
  EXPECT_TRUE(response->chunked);
  EXPECT_THAT(response->chunk_sizes, ElementsAre(1000, 1000, 500));
  EXPECT_EQ(response->body, Alphabet(2500));
}

TEST_F(FdkFunctionTest, OutputBytesDefaultsToChunksOf8192) {
  ASSERT_THAT(StartFunction(), IsOk());

  absl::StatusOr<HttpResponse> response = Call({{"Fn-Test-Output-Bytes", "20000"}});

  ASSERT_THAT(response, IsOk());
  EXPECT_THAT(response->chunk_sizes, ElementsAre(8192, 8192, 3616));
  EXPECT_EQ(response->body, Alphabet(20000));
}

TEST_F(FdkFunctionTest, ChunkDelaySpacesTheChunks) {
  ASSERT_THAT(StartFunction(), IsOk());
  const absl::Time start = absl::Now();

  absl::StatusOr<HttpResponse> response = Call({{"Fn-Test-Output-Bytes", "3"},
                                                {"Fn-Test-Chunk-Bytes", "1"},
                                                {"Fn-Test-Chunk-Delay-Ms", "200"}});

  ASSERT_THAT(response, IsOk());
  EXPECT_GE(absl::Now() - start, absl::Milliseconds(400));  // Two gaps between three chunks.
  EXPECT_THAT(response->chunk_sizes, ElementsAre(1, 1, 1));
  EXPECT_EQ(response->body, "abc");
}

TEST_F(FdkFunctionTest, PrematureAnswersBeforeReadingTheBody) {
  ASSERT_THAT(StartFunction(), IsOk());
  absl::StatusOr<UdsHttpClient> client = UdsHttpClient::Connect(SocketPath());
  ASSERT_THAT(client, IsOk());
  HttpRequest request;
  request.headers = {{"Fn-Test-Premature", "1"}};
  request.body = Alphabet(1 << 20);  // Far more than socket buffers hold.

  // Only the head is sent: the answer must come without the body.
  ASSERT_THAT(client->SendHead(request), IsOk());
  absl::StatusOr<HttpResponse> early = client->ReadResponse(kCallTimeout);
  ASSERT_THAT(early, IsOk());
  EXPECT_EQ(early->status, 200);
  EXPECT_EQ(early->body, "premature");
  // The function drains the body, so the connection still serves the next call.
  ASSERT_THAT(client->Send(request.body), IsOk());
  HttpRequest next;
  next.body = "next";
  absl::StatusOr<HttpResponse> response = client->RoundTrip(next, kCallTimeout);

  ASSERT_THAT(response, IsOk());
  EXPECT_EQ(response->body, "next");
}

TEST_F(FdkFunctionTest, CrashAbortKillsTheFunction) {
  ASSERT_THAT(StartFunction(), IsOk());

  absl::StatusOr<HttpResponse> response = Call({{"Fn-Test-Crash", "abort"}}, "boom");

  EXPECT_THAT(response, StatusIs(absl::StatusCode::kUnavailable));
  // docker-init (--init) exits 128 + the signal that killed its child: SIGABRT is 6.
  EXPECT_THAT(container().WaitExit(kStartTimeout), IsOkAndHolds(134));
}

TEST_F(FdkFunctionTest, CrashExitExitsWithTheCode) {
  ASSERT_THAT(StartFunction(), IsOk());

  absl::StatusOr<HttpResponse> response = Call({{"Fn-Test-Crash", "exit:7"}});

  EXPECT_THAT(response, StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_THAT(container().WaitExit(kStartTimeout), IsOkAndHolds(7));
}

TEST_F(FdkFunctionTest, CrashCloseDropsOnlyTheConnection) {
  ASSERT_THAT(StartFunction(), IsOk());

  absl::StatusOr<HttpResponse> dropped = Call({{"Fn-Test-Crash", "close"}}, "x");
  absl::StatusOr<HttpResponse> next = Call({}, "after");

  EXPECT_THAT(dropped, StatusIs(absl::StatusCode::kUnavailable));
  ASSERT_THAT(next, IsOk());
  EXPECT_EQ(next->body, "after");
  EXPECT_THAT(container().Inspect("{{.State.Running}}"), IsOkAndHolds("true"));
}

TEST_F(FdkFunctionTest, HangNeverAnswers) {
  ASSERT_THAT(StartFunction(), IsOk());

  // The one wait that must run out: an answer can only be shown absent by waiting for it.
  absl::StatusOr<HttpResponse> response =
      Call({{"Fn-Test-Hang", "1"}}, "", absl::Milliseconds(500));

  EXPECT_THAT(response, StatusIs(absl::StatusCode::kDeadlineExceeded));
  EXPECT_THAT(container().Inspect("{{.State.Running}}"), IsOkAndHolds("true"));
}

TEST_F(FdkFunctionTest, AllocWithinTheMemoryLimitAnswers) {
  ASSERT_THAT(StartFunction({}, {"--memory=64m", "--memory-swap=64m"}), IsOk());

  absl::StatusOr<HttpResponse> response = Call({{"Fn-Test-Alloc-Mb", "16"}}, "fits");

  ASSERT_THAT(response, IsOk());
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(response->body, "fits");
}

TEST_F(FdkFunctionTest, AllocBeyondTheMemoryLimitGetsTheFunctionKilled) {
  ASSERT_THAT(StartFunction({}, {"--memory=32m", "--memory-swap=32m"}), IsOk());

  absl::StatusOr<HttpResponse> response = Call({{"Fn-Test-Alloc-Mb", "64"}});

  EXPECT_THAT(response, StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_THAT(container().WaitExit(kStartTimeout), IsOkAndHolds(128 + 9));
  EXPECT_THAT(container().Inspect("{{.State.OOMKilled}}"), IsOkAndHolds("true"));
}

TEST_F(FdkFunctionTest, InvalidTestHeaderGets400AndKeepsTheConnection) {
  ASSERT_THAT(StartFunction(), IsOk());
  absl::StatusOr<UdsHttpClient> client = UdsHttpClient::Connect(SocketPath());
  ASSERT_THAT(client, IsOk());
  HttpRequest bad;
  bad.headers = {{"Fn-Test-Sleep-Ms", "soon"}};
  HttpRequest good;
  good.body = "ok";

  absl::StatusOr<HttpResponse> rejected = client->RoundTrip(bad, kCallTimeout);
  absl::StatusOr<HttpResponse> next = client->RoundTrip(good, kCallTimeout);

  ASSERT_THAT(rejected, IsOk());
  EXPECT_EQ(rejected->status, 400);
  EXPECT_THAT(rejected->body, HasSubstr("Fn-Test-Sleep-Ms"));
  ASSERT_THAT(next, IsOk());
  EXPECT_EQ(next->body, "ok");
}

TEST_F(FdkFunctionTest, ServesOnlyPostToCall) {
  ASSERT_THAT(StartFunction(), IsOk());
  absl::StatusOr<UdsHttpClient> client = UdsHttpClient::Connect(SocketPath());
  ASSERT_THAT(client, IsOk());
  HttpRequest wrong_path;
  wrong_path.path = "/other";
  HttpRequest wrong_method;
  wrong_method.method = "GET";

  absl::StatusOr<HttpResponse> not_found = client->RoundTrip(wrong_path, kCallTimeout);
  absl::StatusOr<HttpResponse> not_allowed = client->RoundTrip(wrong_method, kCallTimeout);

  ASSERT_THAT(not_found, IsOk());
  EXPECT_EQ(not_found->status, 404);
  ASSERT_THAT(not_allowed, IsOk());
  EXPECT_EQ(not_allowed->status, 405);
}

TEST_F(FdkFunctionTest, MalformedRequestGets400AndTheFunctionSurvives) {
  ASSERT_THAT(StartFunction(), IsOk());
  absl::StatusOr<UdsHttpClient> client = UdsHttpClient::Connect(SocketPath());
  ASSERT_THAT(client, IsOk());

  ASSERT_THAT(client->Send("NOT HTTP AT ALL\r\nContent-Length: lots\r\n\r\n"), IsOk());
  absl::StatusOr<HttpResponse> rejected = client->ReadResponse(kCallTimeout);
  absl::StatusOr<HttpResponse> next = Call({}, "fine");

  ASSERT_THAT(rejected, IsOk());
  EXPECT_EQ(rejected->status, 400);
  ASSERT_THAT(next, IsOk());
  EXPECT_EQ(next->body, "fine");
}

}  // namespace
}  // namespace fnrunner
