#include "agent/http1.h"

#include <algorithm>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace fnrunner {
namespace {

// A chunk-size line or the CRLF after chunk data; longer lines are an attack or a bug.
constexpr size_t kMaxChunkLineBytes = 4096;

bool IsTokenChar(char c) {
  return absl::ascii_isalnum(static_cast<unsigned char>(c)) ||
         absl::string_view("!#$%&'*+-.^_`|~").find(c) != absl::string_view::npos;
}

bool IsToken(absl::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), IsTokenChar);
}

absl::string_view TrimOws(absl::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// `line` without its terminating LF and an optional CR before it.
absl::string_view StripCr(absl::string_view line) {
  absl::ConsumeSuffix(&line, "\r");
  return line;
}

absl::Status ParseStatusLine(absl::string_view line, ResponseHead& head) {
  // HTTP/1.<digit> SP 3DIGIT [SP reason]
  if (line.size() < 12 || !absl::StartsWith(line, "HTTP/1.") ||
      !absl::ascii_isdigit(static_cast<unsigned char>(line[7])) || line[8] != ' ') {
    return absl::InvalidArgumentError(absl::StrCat("bad status line: ", line.substr(0, 64)));
  }
  head.minor_version = line[7] - '0';
  absl::string_view code = line.substr(9, 3);
  if (!std::all_of(code.begin(), code.end(),
                   [](char c) { return absl::ascii_isdigit(static_cast<unsigned char>(c)); }) ||
      (line.size() > 12 && line[12] != ' ')) {
    return absl::InvalidArgumentError(absl::StrCat("bad status code: ", line.substr(0, 64)));
  }
  head.status = (code[0] - '0') * 100 + (code[1] - '0') * 10 + (code[2] - '0');
  head.reason = std::string(line.size() > 13 ? line.substr(13) : "");
  return absl::OkStatus();
}

absl::Status ParseFieldLine(absl::string_view line, HeaderList& headers) {
  if (line.front() == ' ' || line.front() == '\t') {
    return absl::InvalidArgumentError("obsolete line folding in response header");
  }
  size_t colon = line.find(':');
  if (colon == absl::string_view::npos || !IsToken(line.substr(0, colon))) {
    return absl::InvalidArgumentError(
        absl::StrCat("bad response header line: ", line.substr(0, 64)));
  }
  absl::string_view value = TrimOws(line.substr(colon + 1));
  if (value.find_first_of(absl::string_view("\r\0", 2)) != absl::string_view::npos) {
    return absl::InvalidArgumentError("control character in response header value");
  }
  headers.push_back({std::string(line.substr(0, colon)), std::string(value)});
  return absl::OkStatus();
}

absl::StatusOr<uint64_t> ParseChunkSize(absl::string_view line) {
  absl::string_view digits = TrimOws(line.substr(0, line.find(';')));  // extensions ignored
  uint64_t size = 0;
  if (digits.empty() || digits.size() > 15) {
    return absl::InvalidArgumentError("bad chunk size line");
  }
  for (char c : digits) {
    int v = absl::ascii_isdigit(static_cast<unsigned char>(c)) ? c - '0'
            : (c >= 'a' && c <= 'f')                           ? c - 'a' + 10
            : (c >= 'A' && c <= 'F')                           ? c - 'A' + 10
                                                               : -1;
    if (v < 0) return absl::InvalidArgumentError("bad chunk size line");
    size = size * 16 + static_cast<uint64_t>(v);
  }
  return size;
}

}  // namespace

bool IsHopByHopHeader(absl::string_view name, absl::string_view value) {
  static constexpr absl::string_view kHopByHop[] = {
      "Connection",          "Proxy-Connection", "Keep-Alive",        "Proxy-Authenticate",
      "Proxy-Authorization", "Trailer",          "Transfer-Encoding", "Upgrade"};
  if (absl::EqualsIgnoreCase(name, "Te")) return value != "trailers";
  return std::any_of(std::begin(kHopByHop), std::end(kHopByHop),
                     [&](absl::string_view h) { return absl::EqualsIgnoreCase(name, h); });
}

HeaderList StripHopByHopHeaders(HeaderList headers) {
  headers.erase(
      std::remove_if(headers.begin(), headers.end(),
                     [](const HttpHeaderField& f) { return IsHopByHopHeader(f.name, f.value); }),
      headers.end());
  return headers;
}

std::optional<absl::string_view> FindHeader(const HeaderList& headers, absl::string_view name) {
  for (const HttpHeaderField& field : headers) {
    if (absl::EqualsIgnoreCase(field.name, name)) return absl::string_view(field.value);
  }
  return std::nullopt;
}

absl::Status ValidateHeaderField(absl::string_view name, absl::string_view value) {
  if (!IsToken(name)) {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid header name \"", absl::CEscape(name.substr(0, 64)), "\""));
  }
  if (value.find_first_of(absl::string_view("\r\n\0", 3)) != absl::string_view::npos) {
    return absl::InvalidArgumentError(absl::StrCat("invalid value for header ", name));
  }
  return absl::OkStatus();
}

std::string SerializeRequestHead(absl::string_view method, absl::string_view target,
                                 const HeaderList& headers) {
  std::string out = absl::StrCat(method, " ", target, " HTTP/1.1\r\n");
  for (const HttpHeaderField& field : headers) {
    absl::StrAppend(&out, field.name, ": ", field.value, "\r\n");
  }
  out += "\r\n";
  return out;
}

std::string ChunkHeader(size_t size) { return absl::StrCat(absl::Hex(size), "\r\n"); }

absl::StatusOr<std::optional<ResponseHeadParser::Parsed>> ResponseHeadParser::Parse(
    absl::string_view buffer) {
  // `scanned_` is the start of the first line not yet known to be complete, so each byte
  // is searched once however the head is split across reads.
  size_t head_size = 0;
  while (head_size == 0) {
    size_t newline = buffer.find('\n', scanned_);
    if (newline == absl::string_view::npos || newline >= max_bytes_) {
      if (buffer.size() >= max_bytes_) {
        return absl::ResourceExhaustedError(
            absl::StrCat("response head larger than ", max_bytes_, " bytes"));
      }
      return std::nullopt;
    }
    bool empty_line = StripCr(buffer.substr(scanned_, newline - scanned_)).empty();
    if (empty_line && scanned_ == 0) {
      return absl::InvalidArgumentError("response starts with an empty line");
    }
    scanned_ = newline + 1;
    if (empty_line) head_size = scanned_;
  }

  Parsed parsed;
  parsed.size = head_size;
  std::vector<absl::string_view> lines =
      absl::StrSplit(buffer.substr(0, head_size), '\n', absl::SkipEmpty());
  for (size_t i = 0; i < lines.size(); ++i) {
    absl::string_view line = StripCr(lines[i]);
    if (line.empty()) break;  // the terminating empty line
    absl::Status status =
        i == 0 ? ParseStatusLine(line, parsed.head) : ParseFieldLine(line, parsed.head.headers);
    if (!status.ok()) return status;
  }
  return parsed;
}

absl::StatusOr<BodyFormat> ResponseBodyFormat(const ResponseHead& head) {
  if (head.status < 200 || head.status == 204 || head.status == 304) {
    return BodyFormat{BodyFraming::kNone, 0};
  }
  std::optional<absl::string_view> last_coding;
  std::optional<uint64_t> length;
  for (const HttpHeaderField& field : head.headers) {
    if (absl::EqualsIgnoreCase(field.name, "Transfer-Encoding")) {
      for (absl::string_view coding : absl::StrSplit(field.value, ',')) {
        last_coding = TrimOws(coding);
      }
    } else if (absl::EqualsIgnoreCase(field.name, "Content-Length")) {
      for (absl::string_view text : absl::StrSplit(field.value, ',')) {
        uint64_t value = 0;
        text = TrimOws(text);
        if (text.empty() ||
            !std::all_of(
                text.begin(), text.end(),
                [](char c) { return absl::ascii_isdigit(static_cast<unsigned char>(c)); }) ||
            !absl::SimpleAtoi(text, &value)) {
          return absl::InvalidArgumentError("invalid Content-Length in response");
        }
        if (length.has_value() && *length != value) {
          return absl::InvalidArgumentError("conflicting Content-Length values in response");
        }
        length = value;
      }
    }
  }
  if (last_coding.has_value()) {
    // Transfer-Encoding overrides Content-Length (RFC 9112 §6.3 item 3).
    return BodyFormat{absl::EqualsIgnoreCase(*last_coding, "chunked") ? BodyFraming::kChunked
                                                                      : BodyFraming::kUntilClose,
                      0};
  }
  if (length.has_value()) return BodyFormat{BodyFraming::kContentLength, *length};
  return BodyFormat{BodyFraming::kUntilClose, 0};
}

bool ResponseKeepsConnection(const ResponseHead& head, const BodyFormat& format) {
  if (head.minor_version < 1 || format.framing == BodyFraming::kUntilClose) return false;
  for (const HttpHeaderField& field : head.headers) {
    if (!absl::EqualsIgnoreCase(field.name, "Connection")) continue;
    for (absl::string_view option : absl::StrSplit(field.value, ',')) {
      if (absl::EqualsIgnoreCase(TrimOws(option), "close")) return false;
    }
  }
  return true;
}

BodyDecoder::BodyDecoder(BodyFormat format, size_t max_trailer_bytes)
    : max_trailer_bytes_(max_trailer_bytes) {
  switch (format.framing) {
    case BodyFraming::kNone:
      state_ = State::kDone;
      break;
    case BodyFraming::kContentLength:
      // A Content-Length body is one chunk without framing that ends the body.
      remaining_ = format.content_length;
      state_ = remaining_ == 0 ? State::kDone : State::kData;
      break;
    case BodyFraming::kChunked:
      state_ = State::kSize;
      chunked_ = true;
      break;
    case BodyFraming::kUntilClose:
      state_ = State::kUntilClose;
      break;
  }
}

absl::StatusOr<BodyDecoder::Step> BodyDecoder::Decode(absl::string_view input) {
  switch (state_) {
    case State::kDone:
      return Step{};
    case State::kUntilClose:
      return Step{input.size(), input};
    case State::kData: {
      size_t n = static_cast<size_t>(std::min<uint64_t>(remaining_, input.size()));
      remaining_ -= n;
      if (remaining_ == 0) state_ = chunked_ ? State::kDataEnd : State::kDone;
      return Step{n, input.substr(0, n)};
    }
    case State::kSize:
    case State::kDataEnd:
    case State::kTrailers:
      return DecodeChunkedLine(input);
  }
  return absl::InternalError("unreachable body decoder state");
}

absl::StatusOr<BodyDecoder::Step> BodyDecoder::DecodeChunkedLine(absl::string_view input) {
  size_t newline = input.find('\n');
  size_t limit =
      state_ == State::kTrailers ? max_trailer_bytes_ - trailer_bytes_ : kMaxChunkLineBytes;
  if (newline == absl::string_view::npos || newline >= limit) {
    if (input.size() < limit) return Step{};
    if (state_ == State::kTrailers) {
      return absl::ResourceExhaustedError("response trailers too large");
    }
    return absl::InvalidArgumentError("chunk framing line too long");
  }
  absl::string_view line = StripCr(input.substr(0, newline));
  Step step{newline + 1, {}};
  switch (state_) {
    case State::kDataEnd:
      if (!line.empty()) return absl::InvalidArgumentError("missing CRLF after chunk data");
      state_ = State::kSize;
      break;
    case State::kSize: {
      absl::StatusOr<uint64_t> size = ParseChunkSize(line);
      if (!size.ok()) return size.status();
      remaining_ = *size;
      state_ = remaining_ == 0 ? State::kTrailers : State::kData;
      break;
    }
    default:  // kTrailers: fields are dropped; the empty line ends the body.
      trailer_bytes_ += step.consumed;
      if (line.empty()) state_ = State::kDone;
      break;
  }
  return step;
}

absl::Status BodyDecoder::OnEof() {
  if (state_ == State::kUntilClose) state_ = State::kDone;
  if (state_ == State::kDone) return absl::OkStatus();
  return absl::DataLossError("connection closed before the end of the response body");
}

}  // namespace fnrunner
