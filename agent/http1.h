#pragma once

// The slice of HTTP/1.1 (RFC 9112) the agent speaks with a function over its unix socket:
// the request head and chunked framing it sends, the response head and body it reads.
// Pure functions and small state machines; no I/O.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "agent/agent.h"

namespace fnrunner {

// Header fields in wire order; a name may repeat (each value of a multi-valued header).
using HeaderList = std::vector<HttpHeaderField>;

// fn's hop-by-hop list (spec §4.5), compared case-insensitively: Connection, Proxy-Connection,
// Keep-Alive, Proxy-Authenticate, Proxy-Authorization, Trailer, Transfer-Encoding, Upgrade,
// and Te unless its value is exactly "trailers". Headers named in Connection are not removed
// (fn does not remove them either, §10.28).
bool IsHopByHopHeader(absl::string_view name, absl::string_view value);
// `headers` without the hop-by-hop ones, in order.
HeaderList StripHopByHopHeaders(HeaderList headers);

// First value of `name` (case-insensitive), if present.
std::optional<absl::string_view> FindHeader(const HeaderList& headers, absl::string_view name);

// InvalidArgument unless `name` is an RFC 9110 token and `value` has no CR, LF or NUL: such
// bytes would let a caller inject header lines or a second request.
absl::Status ValidateHeaderField(absl::string_view name, absl::string_view value);

// "<method> <target> HTTP/1.1\r\n" then each field as "Name: value\r\n", then "\r\n".
// The fields must have passed ValidateHeaderField().
std::string SerializeRequestHead(absl::string_view method, absl::string_view target,
                                 const HeaderList& headers);

// Chunked transfer coding of a request body: each non-empty piece is ChunkHeader(size),
// the bytes, kChunkEnd; the body ends with kLastChunk (no trailers).
std::string ChunkHeader(size_t size);
inline constexpr absl::string_view kChunkEnd = "\r\n";
inline constexpr absl::string_view kLastChunk = "0\r\n\r\n";

struct ResponseHead {
  int minor_version = 1;  // HTTP/1.<minor_version>
  int status = 0;
  std::string reason;
  HeaderList headers;
};

// Parses a response head (status line and header fields, up to the empty line) from the
// start of a buffer that grows between calls. Used by one thread; one head per parser.
class ResponseHeadParser {
 public:
  explicit ResponseHeadParser(size_t max_bytes) : max_bytes_(max_bytes) {}

  struct Parsed {
    ResponseHead head;
    size_t size = 0;  // bytes of `buffer` the head took, including the empty line
  };
  // `buffer` holds every byte received so far (the previous call's bytes are its prefix).
  // nullopt: the head is not complete yet. ResourceExhausted: no complete head within
  // `max_bytes`. InvalidArgument: not an HTTP/1.x response head (including obs-fold lines,
  // which RFC 9112 lets a client reject).
  absl::StatusOr<std::optional<Parsed>> Parse(absl::string_view buffer);

 private:
  size_t max_bytes_;
  size_t scanned_ = 0;  // bytes already searched for the end of the head
};

enum class BodyFraming { kNone, kContentLength, kChunked, kUntilClose };
struct BodyFormat {
  BodyFraming framing = BodyFraming::kNone;
  uint64_t content_length = 0;  // for kContentLength
};

// How the body of a response to a POST is delimited (RFC 9112 §6.3): none for 1xx, 204 and
// 304; chunked if Transfer-Encoding ends in "chunked" (Content-Length is then ignored); until
// close for any other Transfer-Encoding or no length at all. InvalidArgument for an invalid
// or conflicting Content-Length.
absl::StatusOr<BodyFormat> ResponseBodyFormat(const ResponseHead& head);

// Whether the connection may carry the next exchange after this response: HTTP/1.1,
// no "Connection: close", and a body that does not end by closing.
bool ResponseKeepsConnection(const ResponseHead& head, const BodyFormat& format);

// Decodes one response body incrementally. Used by one thread.
class BodyDecoder {
 public:
  // `max_trailer_bytes` bounds the trailer section of a chunked body (trailers are dropped).
  BodyDecoder(BodyFormat format, size_t max_trailer_bytes);

  struct Step {
    size_t consumed = 0;     // bytes of `input` used up
    absl::string_view data;  // body bytes found: a view into `input`, possibly empty
  };
  // Decodes from the front of `input`. Call again with the unconsumed rest until a step
  // consumes nothing (more input is needed) or done() is true. InvalidArgument if the
  // chunked framing is malformed, ResourceExhausted if the trailers are too large.
  absl::StatusOr<Step> Decode(absl::string_view input);
  // The peer closed the connection. OK for a body that ends by closing (done() is then
  // true); DataLoss if the body was cut short.
  absl::Status OnEof();
  bool done() const { return state_ == State::kDone; }

 private:
  enum class State { kSize, kData, kDataEnd, kTrailers, kUntilClose, kDone };
  absl::StatusOr<Step> DecodeChunkedLine(absl::string_view input);

  State state_;
  bool chunked_ = false;
  uint64_t remaining_ = 0;  // body bytes left in the current chunk or Content-Length body
  const size_t max_trailer_bytes_;
  size_t trailer_bytes_ = 0;
};

}  // namespace fnrunner
