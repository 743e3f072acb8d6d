#include "tests/functions/http_io.h"

#include <errno.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>

namespace fnrunner::fdktest {
namespace {

// Bounds that keep a malformed or hostile peer from exhausting memory.
constexpr size_t kMaxLineBytes = 64 * 1024;
constexpr size_t kMaxHeadBytes = 1024 * 1024;
constexpr size_t kMaxHeaderCount = 1000;
constexpr uint64_t kMaxBodyBytes = uint64_t{1} << 40;
constexpr size_t kReadBytes = 64 * 1024;

std::string_view Trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

ReadError Bad(std::string message) { return ReadError{400, std::move(message)}; }

// True if the comma-separated list `value` contains `token` (case-insensitive).
bool HasToken(std::string_view value, std::string_view token) {
  while (!value.empty()) {
    size_t comma = value.find(',');
    if (EqualsIgnoreCase(Trim(value.substr(0, comma)), token)) return true;
    if (comma == std::string_view::npos) break;
    value.remove_prefix(comma + 1);
  }
  return false;
}

std::optional<uint64_t> ParseHex(std::string_view text) {
  if (text.empty() || text.size() > 10) return std::nullopt;  // 10 hex digits = 2^40.
  uint64_t value = 0;
  for (char c : text) {
    int digit = std::isdigit(static_cast<unsigned char>(c)) ? c - '0'
                : (c >= 'a' && c <= 'f')                    ? c - 'a' + 10
                : (c >= 'A' && c <= 'F')                    ? c - 'A' + 10
                                                            : -1;
    if (digit < 0) return std::nullopt;
    value = value * 16 + static_cast<uint64_t>(digit);
  }
  return value;
}

std::optional<ReadError> ParseRequestLine(std::string_view line, RequestHead& head) {
  size_t first = line.find(' ');
  size_t second = first == std::string_view::npos ? first : line.find(' ', first + 1);
  if (second == std::string_view::npos || line.find(' ', second + 1) != std::string_view::npos) {
    return Bad("malformed request line");
  }
  head.method = std::string(line.substr(0, first));
  head.target = std::string(line.substr(first + 1, second - first - 1));
  head.version = std::string(line.substr(second + 1));
  if (head.method.empty() || head.target.empty()) return Bad("malformed request line");
  if (head.version != "HTTP/1.1" && head.version != "HTTP/1.0") {
    return Bad("unsupported HTTP version");
  }
  return std::nullopt;
}

// Works out keep-alive and body framing from the headers (RFC 9112 section 6).
std::optional<ReadError> ResolveFraming(RequestHead& head) {
  std::vector<std::string> connection = head.GetAll("Connection");
  bool close = std::any_of(connection.begin(), connection.end(),
                           [](const std::string& v) { return HasToken(v, "close"); });
  bool keep_alive = std::any_of(connection.begin(), connection.end(),
                                [](const std::string& v) { return HasToken(v, "keep-alive"); });
  head.keep_alive = head.version == "HTTP/1.1" ? !close : keep_alive;

  std::optional<std::string> expect = head.Get("Expect");
  head.expects_continue = expect && EqualsIgnoreCase(Trim(*expect), "100-continue");

  std::vector<std::string> encodings = head.GetAll("Transfer-Encoding");
  if (!encodings.empty()) {
    // Transfer-Encoding overrides Content-Length; we only know how to frame "chunked".
    if (!std::any_of(encodings.begin(), encodings.end(),
                     [](const std::string& v) { return HasToken(v, "chunked"); })) {
      return Bad("unsupported Transfer-Encoding");
    }
    head.chunked = true;
    return std::nullopt;
  }
  std::optional<uint64_t> length;
  for (const std::string& value : head.GetAll("Content-Length")) {
    std::optional<uint64_t> parsed = ParseDecimal(Trim(value), kMaxBodyBytes);
    if (!parsed) return Bad("malformed Content-Length");
    if (length && *length != *parsed) return Bad("conflicting Content-Length headers");
    length = parsed;
  }
  head.content_length = length.value_or(0);
  return std::nullopt;
}

}  // namespace

bool BufferedReader::Fill() {
  // Drop consumed bytes once they are half the buffer, so a long keep-alive connection does
  // not grow it without bound.
  if (start_ > 0 && start_ >= buffer_.size() / 2) {
    buffer_.erase(0, start_);
    start_ = 0;
  }
  size_t old_size = buffer_.size();
  buffer_.resize(old_size + kReadBytes);
  ssize_t n;
  do {
    n = ::read(fd_, buffer_.data() + old_size, kReadBytes);
  } while (n < 0 && errno == EINTR);
  buffer_.resize(old_size + static_cast<size_t>(std::max<ssize_t>(n, 0)));
  return n > 0;
}

std::optional<ReadError> BufferedReader::ReadLine(size_t max_bytes, std::string& line) {
  size_t scanned = start_;
  while (true) {
    size_t newline = buffer_.find('\n', scanned);
    if (newline != std::string::npos) {
      size_t end = newline;
      if (end > start_ && buffer_[end - 1] == '\r') --end;
      if (end - start_ > max_bytes) return ReadError{431, "line too long"};
      line.assign(buffer_, start_, end - start_);
      start_ = newline + 1;
      return std::nullopt;
    }
    if (buffer_.size() - start_ > max_bytes + 1) return ReadError{431, "line too long"};
    scanned = buffer_.size();
    // Fill() may move the buffer's contents to the front; keep `scanned` relative to start_.
    size_t scanned_offset = scanned - start_;
    if (!Fill()) return ReadError{0, "connection closed"};
    scanned = start_ + scanned_offset;
  }
}

std::optional<ReadError> BufferedReader::ReadExactly(uint64_t size, const BodySink& sink) {
  while (size > 0) {
    if (start_ == buffer_.size() && !Fill()) return ReadError{0, "connection closed in body"};
    size_t take = static_cast<size_t>(std::min<uint64_t>(size, buffer_.size() - start_));
    sink(buffer_.data() + start_, take);
    start_ += take;
    size -= take;
  }
  return std::nullopt;
}

std::optional<std::string> RequestHead::Get(std::string_view name) const {
  for (const Header& header : headers) {
    if (EqualsIgnoreCase(header.name, name)) return header.value;
  }
  return std::nullopt;
}

std::vector<std::string> RequestHead::GetAll(std::string_view name) const {
  std::vector<std::string> values;
  for (const Header& header : headers) {
    if (EqualsIgnoreCase(header.name, name)) values.push_back(header.value);
  }
  return values;
}

std::optional<ReadError> ReadRequestHead(BufferedReader& reader, RequestHead& head) {
  head = RequestHead();
  std::string line;
  // RFC 9112 section 2.2: ignore empty lines before the request line.
  do {
    if (auto error = reader.ReadLine(kMaxLineBytes, line)) return error;
  } while (line.empty());
  if (auto error = ParseRequestLine(line, head)) return error;

  size_t head_bytes = line.size();
  while (true) {
    if (auto error = reader.ReadLine(kMaxLineBytes, line)) return error;
    if (line.empty()) break;
    head_bytes += line.size();
    if (head_bytes > kMaxHeadBytes || head.headers.size() >= kMaxHeaderCount) {
      return ReadError{431, "request header too large"};
    }
    size_t colon = line.find(':');
    if (colon == std::string::npos || colon == 0 || line[0] == ' ' || line[0] == '\t') {
      return Bad("malformed header line");
    }
    std::string_view name = std::string_view(line).substr(0, colon);
    if (name.find_first_of(" \t") != std::string_view::npos) return Bad("malformed header name");
    head.headers.push_back(
        Header{std::string(name), std::string(Trim(std::string_view(line).substr(colon + 1)))});
  }
  return ResolveFraming(head);
}

std::optional<ReadError> ReadBody(BufferedReader& reader, const RequestHead& head,
                                  const BodySink& sink) {
  if (!head.chunked) return reader.ReadExactly(head.content_length, sink);
  std::string line;
  uint64_t total = 0;
  while (true) {
    if (auto error = reader.ReadLine(kMaxLineBytes, line)) return error;
    std::string_view size_text = Trim(std::string_view(line).substr(0, line.find(';')));
    std::optional<uint64_t> size = ParseHex(size_text);
    if (!size) return Bad("malformed chunk size");
    total += *size;
    if (total > kMaxBodyBytes) return ReadError{413, "body too large"};
    if (*size == 0) break;
    if (auto error = reader.ReadExactly(*size, sink)) return error;
    if (auto error = reader.ReadLine(kMaxLineBytes, line)) return error;
    if (!line.empty()) return Bad("chunk data longer than its size");
  }
  // Trailer fields are read and dropped: nothing here uses them.
  size_t trailer_bytes = 0;
  do {
    if (auto error = reader.ReadLine(kMaxLineBytes, line)) return error;
    trailer_bytes += line.size();
    if (trailer_bytes > kMaxHeadBytes) return ReadError{431, "trailer too large"};
  } while (!line.empty());
  return std::nullopt;
}

bool WriteAll(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

std::string ResponseHead(int status, const std::vector<Header>& headers) {
  const char* reason;
  switch (status) {
    case 100:
      reason = "Continue";
      break;
    case 200:
      reason = "OK";
      break;
    case 400:
      reason = "Bad Request";
      break;
    case 404:
      reason = "Not Found";
      break;
    case 405:
      reason = "Method Not Allowed";
      break;
    case 413:
      reason = "Content Too Large";
      break;
    case 431:
      reason = "Request Header Fields Too Large";
      break;
    case 500:
      reason = "Internal Server Error";
      break;
    case 502:
      reason = "Bad Gateway";
      break;
    case 504:
      reason = "Gateway Timeout";
      break;
    default:
      reason = "Status";
      break;
  }
  std::string out = "HTTP/1.1 " + std::to_string(status) + " " + reason + "\r\n";
  for (const Header& header : headers) out += header.name + ": " + header.value + "\r\n";
  out += "\r\n";
  return out;
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

std::optional<uint64_t> ParseDecimal(std::string_view text, uint64_t max) {
  if (text.empty() || text.size() > 19) return std::nullopt;  // 19 digits cannot overflow.
  uint64_t value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + static_cast<uint64_t>(c - '0');
  }
  if (value > max) return std::nullopt;
  return value;
}

}  // namespace fnrunner::fdktest
