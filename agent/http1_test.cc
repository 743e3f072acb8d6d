#include "agent/http1.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace fnrunner {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

// Feeds `wire` to a fresh decoder `piece_bytes` at a time, as reads would deliver it, and
// returns the decoded body; the input is exhausted, so EOF is signalled at the end.
absl::StatusOr<std::string> DecodeAll(BodyFormat format, absl::string_view wire, size_t piece_bytes,
                                      size_t max_trailer_bytes = 1024) {
  BodyDecoder decoder(format, max_trailer_bytes);
  std::string pending;
  std::string body;
  while (!decoder.done()) {
    absl::StatusOr<BodyDecoder::Step> step = decoder.Decode(pending);
    if (!step.ok()) return step.status();
    absl::StrAppend(&body, step->data);
    pending.erase(0, step->consumed);
    if (step->consumed > 0) continue;
    if (wire.empty()) {
      if (absl::Status eof = decoder.OnEof(); !eof.ok()) return eof;
      break;
    }
    size_t n = std::min(piece_bytes, wire.size());
    absl::StrAppend(&pending, wire.substr(0, n));
    wire.remove_prefix(n);
  }
  return body;
}

TEST(Http1Test, HopByHopHeadersFollowFnList) {
  struct Case {
    const char* name;
    const char* value;
    bool hop;
  };
  const Case cases[] = {
      {"Connection", "close", true},
      {"proxy-connection", "x", true},
      {"KEEP-ALIVE", "timeout=5", true},
      {"Proxy-Authenticate", "x", true},
      {"Proxy-Authorization", "x", true},
      {"Trailer", "x", true},
      {"Transfer-Encoding", "chunked", true},
      {"Upgrade", "h2c", true},
      {"Te", "gzip", true},
      {"te", "trailers", false},
      {"Te", "Trailers", true},
      {"Content-Type", "text/plain", false},
      {"Content-Length", "5", false},
      {"Fn-Call-Id", "x", false},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(IsHopByHopHeader(c.name, c.value), c.hop) << c.name << ": " << c.value;
  }
}

TEST(Http1Test, StripHopByHopKeepsOrderAndRepeats) {
  HeaderList headers = {{"A", "1"}, {"Connection", "close"}, {"A", "2"}, {"Te", "trailers"}};

  EXPECT_THAT(StripHopByHopHeaders(headers),
              ElementsAre(HttpHeaderField{"A", "1"}, HttpHeaderField{"A", "2"},
                          HttpHeaderField{"Te", "trailers"}));
}

TEST(Http1Test, ValidateHeaderFieldRejectsInjection) {
  EXPECT_THAT(ValidateHeaderField("X-Ok", "any value\tat all"), IsOk());
  EXPECT_THAT(ValidateHeaderField("X-Bad", "a\r\nX-Injected: 1"),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(ValidateHeaderField("X-Bad", "a\nb"), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(ValidateHeaderField("X-Bad", std::string("a\0b", 3)),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(ValidateHeaderField("Bad Name", "v"), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(ValidateHeaderField("Bad:Name", "v"), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(ValidateHeaderField("", "v"), StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(Http1Test, SerializesRequestHeadAndChunks) {
  EXPECT_EQ(SerializeRequestHead("POST", "/call", {{"Host", "localhost"}, {"A", "b"}}),
            "POST /call HTTP/1.1\r\nHost: localhost\r\nA: b\r\n\r\n");
  EXPECT_EQ(ChunkHeader(1), "1\r\n");
  EXPECT_EQ(ChunkHeader(10240), "2800\r\n");
}

TEST(Http1Test, ParsesHeadArrivingByteByByte) {
  const std::string wire =
      "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nX-Two:  a b \r\nX-Two: c\r\n\r\nbody";
  ResponseHeadParser parser(1024);
  std::string buffer;
  std::optional<ResponseHeadParser::Parsed> parsed;
  for (char c : wire) {
    buffer.push_back(c);
    absl::StatusOr<std::optional<ResponseHeadParser::Parsed>> result = parser.Parse(buffer);
    ASSERT_THAT(result, IsOk());
    if (result->has_value()) {
      parsed = **result;
      break;
    }
  }

  ASSERT_TRUE(parsed.has_value());
  EXPECT_EQ(parsed->size, wire.size() - 4);
  EXPECT_EQ(parsed->head.status, 200);
  EXPECT_EQ(parsed->head.minor_version, 1);
  EXPECT_EQ(parsed->head.reason, "OK");
  EXPECT_THAT(parsed->head.headers,
              ElementsAre(HttpHeaderField{"Content-Type", "text/plain"},
                          HttpHeaderField{"X-Two", "a b"}, HttpHeaderField{"X-Two", "c"}));
}

TEST(Http1Test, ParsesBareLineFeedsAndMissingReason) {
  ResponseHeadParser parser(1024);

  absl::StatusOr<std::optional<ResponseHeadParser::Parsed>> parsed =
      parser.Parse("HTTP/1.0 502\nA: b\n\n");

  ASSERT_THAT(parsed, IsOk());
  ASSERT_TRUE(parsed->has_value());
  EXPECT_EQ((*parsed)->head.status, 502);
  EXPECT_EQ((*parsed)->head.minor_version, 0);
  EXPECT_EQ((*parsed)->head.reason, "");
  EXPECT_EQ((*parsed)->size, 19u);
}

TEST(Http1Test, RejectsMalformedHeads) {
  const char* heads[] = {
      "HTTP/2 200 OK\r\n\r\n",
      "HTTP/1.1 20 OK\r\n\r\n",
      "HTTP/1.1 2000 OK\r\n\r\n",
      "HTTP/1.1 abc OK\r\n\r\n",
      "ICY 200 OK\r\n\r\n",
      "\r\nHTTP/1.1 200 OK\r\n\r\n",
      "HTTP/1.1 200 OK\r\nNoColon\r\n\r\n",
      "HTTP/1.1 200 OK\r\nA : b\r\n\r\n",
      "HTTP/1.1 200 OK\r\nA: b\r\n folded\r\n\r\n",
      "HTTP/1.1 200 OK\r\nA: b\rc\r\n\r\n",
  };
  for (const char* head : heads) {
    ResponseHeadParser parser(1024);
    EXPECT_THAT(parser.Parse(head), StatusIs(absl::StatusCode::kInvalidArgument)) << head;
  }
}

TEST(Http1Test, HeadOverLimitIsResourceExhausted) {
  ResponseHeadParser parser(64);
  std::string head = "HTTP/1.1 200 OK\r\nX-Big: " + std::string(100, 'x');

  EXPECT_THAT(parser.Parse(head), StatusIs(absl::StatusCode::kResourceExhausted));
}

TEST(Http1Test, HeadExactlyAtLimitIsAccepted) {
  const std::string head = "HTTP/1.1 200 OK\r\n\r\n";
  ResponseHeadParser parser(head.size());

  absl::StatusOr<std::optional<ResponseHeadParser::Parsed>> parsed = parser.Parse(head);

  ASSERT_THAT(parsed, IsOk());
  EXPECT_TRUE(parsed->has_value());
}

TEST(Http1Test, BodyFormatFollowsRfc9112) {
  struct Case {
    int status;
    HeaderList headers;
    BodyFraming framing;
    uint64_t length;
  };
  const Case cases[] = {
      {200, {{"Content-Length", "12"}}, BodyFraming::kContentLength, 12},
      {200, {{"content-length", "3, 3"}}, BodyFraming::kContentLength, 3},
      {200, {{"Transfer-Encoding", "chunked"}}, BodyFraming::kChunked, 0},
      {200, {{"Transfer-Encoding", "gzip, Chunked"}}, BodyFraming::kChunked, 0},
      {200, {{"Transfer-Encoding", "chunked"}, {"Content-Length", "5"}}, BodyFraming::kChunked, 0},
      {200, {{"Transfer-Encoding", "gzip"}}, BodyFraming::kUntilClose, 0},
      {200, {}, BodyFraming::kUntilClose, 0},
      {204, {{"Content-Length", "5"}}, BodyFraming::kNone, 0},
      {304, {}, BodyFraming::kNone, 0},
      {502, {{"Content-Length", "0"}}, BodyFraming::kContentLength, 0},
  };
  for (const Case& c : cases) {
    ResponseHead head{1, c.status, "", c.headers};
    absl::StatusOr<BodyFormat> format = ResponseBodyFormat(head);
    ASSERT_THAT(format, IsOk()) << c.status;
    EXPECT_EQ(format->framing, c.framing) << c.status;
    EXPECT_EQ(format->content_length, c.length) << c.status;
  }
}

TEST(Http1Test, BadContentLengthIsInvalid) {
  for (const char* value : {"-1", "1x", "", "3, 4", "99999999999999999999999"}) {
    ResponseHead head{1, 200, "", {{"Content-Length", value}}};
    EXPECT_THAT(ResponseBodyFormat(head), StatusIs(absl::StatusCode::kInvalidArgument)) << value;
  }
}

TEST(Http1Test, KeepsConnectionOnlyForFramedHttp11) {
  const BodyFormat framed{BodyFraming::kContentLength, 1};

  EXPECT_TRUE(ResponseKeepsConnection({1, 200, "", {}}, framed));
  EXPECT_FALSE(ResponseKeepsConnection({0, 200, "", {}}, framed));
  EXPECT_FALSE(
      ResponseKeepsConnection({1, 200, "", {{"Connection", "keep-alive, Close"}}}, framed));
  EXPECT_FALSE(ResponseKeepsConnection({1, 200, "", {}}, {BodyFraming::kUntilClose, 0}));
}

TEST(Http1Test, DecodesChunkedBodyInAnyPieces) {
  const std::string wire =
      "5;ext=1\r\nhello\r\n1\r\n \r\nA\r\n0123456789\r\n0\r\nTrailer-A: x\r\n\r\n";
  for (size_t piece : {1, 2, 7, 1000}) {
    EXPECT_THAT(DecodeAll({BodyFraming::kChunked, 0}, wire, piece),
                IsOkAndHolds(std::string("hello 0123456789")))
        << piece;
  }
}

TEST(Http1Test, DecodesContentLengthAndUntilClose) {
  EXPECT_THAT(DecodeAll({BodyFraming::kContentLength, 5}, "abcde", 2),
              IsOkAndHolds(std::string("abcde")));
  EXPECT_THAT(DecodeAll({BodyFraming::kContentLength, 0}, "", 2), IsOkAndHolds(std::string()));
  EXPECT_THAT(DecodeAll({BodyFraming::kUntilClose, 0}, "to the end", 3),
              IsOkAndHolds(std::string("to the end")));
  EXPECT_THAT(DecodeAll({BodyFraming::kNone, 0}, "", 3), IsOkAndHolds(std::string()));
}

TEST(Http1Test, DecoderStopsAtEndOfContentLength) {
  BodyDecoder decoder({BodyFraming::kContentLength, 3}, 1024);

  absl::StatusOr<BodyDecoder::Step> step = decoder.Decode("abcHTTP/1.1");

  ASSERT_THAT(step, IsOk());
  EXPECT_EQ(step->consumed, 3u);
  EXPECT_EQ(step->data, "abc");
  EXPECT_TRUE(decoder.done());
}

TEST(Http1Test, TruncatedBodiesAreDataLoss) {
  EXPECT_THAT(DecodeAll({BodyFraming::kContentLength, 10}, "abc", 2),
              StatusIs(absl::StatusCode::kDataLoss));
  EXPECT_THAT(DecodeAll({BodyFraming::kChunked, 0}, "5\r\nhel", 2),
              StatusIs(absl::StatusCode::kDataLoss));
  EXPECT_THAT(DecodeAll({BodyFraming::kChunked, 0}, "0\r\n", 2),
              StatusIs(absl::StatusCode::kDataLoss));
}

TEST(Http1Test, MalformedChunksAreInvalid) {
  const char* wires[] = {"x\r\n", "\r\n", "5\r\nhelloXX\r\n", "1234567890abcdef0\r\n", "-1\r\n"};
  for (const char* wire : wires) {
    EXPECT_THAT(DecodeAll({BodyFraming::kChunked, 0}, wire, 100),
                StatusIs(absl::StatusCode::kInvalidArgument))
        << wire;
  }
}

TEST(Http1Test, ChunkSizeLineTooLongIsInvalid) {
  std::string wire = "5;" + std::string(5000, 'e');

  EXPECT_THAT(DecodeAll({BodyFraming::kChunked, 0}, wire, 100),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("too long")));
}

TEST(Http1Test, TrailersOverLimitAreResourceExhausted) {
  std::string wire = "0\r\nX-Trailer: " + std::string(200, 't') + "\r\n\r\n";

  EXPECT_THAT(DecodeAll({BodyFraming::kChunked, 0}, wire, 16, /*max_trailer_bytes=*/64),
              StatusIs(absl::StatusCode::kResourceExhausted));
}

}  // namespace
}  // namespace fnrunner
