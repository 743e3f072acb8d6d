#include "drivers/docker/engine_client.h"

#include "absl/strings/str_cat.h"
#include "drivers/docker/fake_http_transport.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace fnrunner {
namespace {

using ::testing::HasSubstr;

EngineRequest Req(std::string method, std::string path) {
  EngineRequest request;
  request.method = std::move(method);
  request.path = std::move(path);
  return request;
}

struct ErrorCase {
  int http_status;
  std::string body;
  absl::StatusCode want;
  std::string message;
};

class EngineErrorTest : public ::testing::TestWithParam<ErrorCase> {};

TEST_P(EngineErrorTest, MapsStatusAndKeepsEngineMessage) {
  const ErrorCase& c = GetParam();

  absl::Status status = StatusFromEngineReply(c.http_status, c.body, "doing it");

  EXPECT_THAT(status, StatusIs(c.want, HasSubstr(c.message)));
}

INSTANTIATE_TEST_SUITE_P(
    Table, EngineErrorTest,
    ::testing::Values(
        ErrorCase{200, "{}", absl::StatusCode::kOk, ""},
        ErrorCase{204, "", absl::StatusCode::kOk, ""},
        ErrorCase{304, "", absl::StatusCode::kOk, ""},
        ErrorCase{400, R"({"message":"bad tmpfs"})", absl::StatusCode::kInvalidArgument,
                  "doing it: bad tmpfs"},
        ErrorCase{401, R"({"message":"who"})", absl::StatusCode::kPermissionDenied, "who"},
        ErrorCase{404, R"({"message":"No such container: x"})", absl::StatusCode::kNotFound,
                  "No such container: x"},
        ErrorCase{409, R"({"message":"is not running"})", absl::StatusCode::kFailedPrecondition,
                  "is not running"},
        ErrorCase{422, "", absl::StatusCode::kInvalidArgument, "HTTP 422"},
        ErrorCase{500, R"({"message":"oci runtime"})", absl::StatusCode::kInternal, "oci runtime"},
        ErrorCase{503, "not json at all", absl::StatusCode::kUnavailable, "not json at all"},
        ErrorCase{504, "", absl::StatusCode::kUnavailable, "HTTP 504"}),
    [](const ::testing::TestParamInfo<ErrorCase>& info) {
      return absl::StrCat("Http", info.param.http_status, "_", info.index);
    });

TEST(EngineClientTest, CapsApiVersionAtWhatWeKnow) {
  FakeHttpTransport transport;
  transport.Reply("GET", "/version", 200, R"({"ApiVersion":"1.45"})");
  EngineClient engine(transport, absl::Seconds(1));

  ASSERT_THAT(engine.Negotiate(), IsOk());

  EXPECT_EQ(engine.ApiVersion(), "1.41");
}

TEST(EngineClientTest, UsesOlderDaemonVersion) {
  FakeHttpTransport transport;
  transport.Reply("GET", "/version", 200, R"({"ApiVersion":"1.40"})");
  EngineClient engine(transport, absl::Seconds(1));
  ASSERT_THAT(engine.Negotiate(), IsOk());

  ASSERT_THAT(engine.Send(Req("GET", "/_ping")), IsOk());

  EXPECT_EQ(transport.requests().back().path, "/v1.40/_ping");
}

TEST(EngineClientTest, RejectsTooOldDaemon) {
  FakeHttpTransport transport;
  transport.Reply("GET", "/version", 200, R"({"ApiVersion":"1.39"})");
  EngineClient engine(transport, absl::Seconds(1));

  EXPECT_THAT(engine.Negotiate(), StatusIs(absl::StatusCode::kFailedPrecondition));
}

TEST(EngineClientTest, GarbageVersionReplyIsInternal) {
  FakeHttpTransport transport;
  transport.Reply("GET", "/version", 200, R"({"ApiVersion":42})");
  EngineClient engine(transport, absl::Seconds(1));

  EXPECT_THAT(engine.Negotiate(), StatusIs(absl::StatusCode::kInternal));
}

TEST(EngineClientTest, DaemonDownIsUnavailable) {
  FakeHttpTransport transport;
  transport.Fail("GET", "/version", absl::UnavailableError("connect: no such file"));
  EngineClient engine(transport, absl::Seconds(1));

  EXPECT_THAT(engine.Negotiate(), StatusIs(absl::StatusCode::kUnavailable));
}

TEST(EngineClientTest, NegotiatesLazilyOnceTheDaemonIsBack) {
  FakeHttpTransport transport;
  transport.Fail("GET", "/version", absl::UnavailableError("down"));
  EngineClient engine(transport, absl::Seconds(1));
  ASSERT_THAT(engine.Negotiate(), StatusIs(absl::StatusCode::kUnavailable));
  transport.Reply("GET", "/version", 200, R"({"ApiVersion":"1.41"})");

  EXPECT_THAT(engine.Send(Req("GET", "/_ping")), IsOk());
  EXPECT_EQ(transport.requests().back().path, "/v1.41/_ping");
}

TEST(EngineClientTest, TimeoutIsUnavailableUnlessCallerSaysOtherwise) {
  FakeHttpTransport transport;
  transport.Fail("POST", "/containers/x/pause", absl::DeadlineExceededError("timed out"));
  transport.Fail("POST", "/containers/x/wait", absl::DeadlineExceededError("timed out"));
  EngineClient engine(transport, absl::Seconds(1));

  EXPECT_THAT(engine.Send(Req("POST", "/containers/x/pause")),
              StatusIs(absl::StatusCode::kUnavailable, HasSubstr("no answer")));
  EXPECT_THAT(engine.Send(Req("POST", "/containers/x/wait"), absl::StatusCode::kDeadlineExceeded),
              StatusIs(absl::StatusCode::kDeadlineExceeded));
}

TEST(EngineClientTest, SendJsonRejectsNonJsonReply) {
  FakeHttpTransport transport;
  transport.Reply("GET", "/info", 200, "<html>");
  EngineClient engine(transport, absl::Seconds(1));

  EXPECT_THAT(engine.SendJson(Req("GET", "/info"), "info"), StatusIs(absl::StatusCode::kInternal));
}

TEST(UrlEncodeTest, KeepsUnreservedAndRequestedCharacters) {
  EXPECT_EQ(UrlEncode("a b/c:d"), "a%20b%2Fc%3Ad");
  EXPECT_EQ(UrlEncode("fn-test/fdk:latest", ":/"), "fn-test/fdk:latest");
  EXPECT_EQ(UrlEncode(R"({"label":["a=b"]})"), "%7B%22label%22%3A%5B%22a%3Db%22%5D%7D");
}

}  // namespace
}  // namespace fnrunner
