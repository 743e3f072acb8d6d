#include "tests/functions/call_handler.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <thread>

#include "tests/functions/call_options.h"
#include "tests/functions/http_io.h"
#include "tests/functions/info_json.h"

namespace fnrunner::fdktest {
namespace {

constexpr char kPrematureBody[] = "premature";

void SleepMs(uint64_t ms) { std::this_thread::sleep_for(std::chrono::milliseconds(ms)); }

bool HasHeader(const std::vector<Header>& headers, std::string_view name) {
  return std::any_of(headers.begin(), headers.end(),
                     [&](const Header& h) { return EqualsIgnoreCase(h.name, name); });
}

// Statuses whose responses carry no body (RFC 9110 sections 15.3.5 and 15.4.5).
bool StatusHasBody(int status) { return status != 204 && status != 304; }

// Writes a complete response with a Content-Length body. Returns true if the connection may
// serve another request.
bool Answer(int fd, const RequestHead& head, int status, std::vector<Header> headers,
            const std::string& body) {
  if (!head.keep_alive) headers.push_back(Header{"Connection", "close"});
  if (!StatusHasBody(status)) return WriteAll(fd, ResponseHead(status, headers)) && head.keep_alive;
  headers.push_back(Header{"Content-Length", std::to_string(body.size())});
  return WriteAll(fd, ResponseHead(status, headers) + body) && head.keep_alive;
}

// Answers a request that could not be read, if anyone is left to answer. Always ends the
// connection: after a framing error we cannot find the next request.
bool Reject(int fd, const ReadError& error) {
  if (error.http_status != 0) {
    std::fprintf(stderr, "fdk-test-function: rejecting request: %s\n", error.message.c_str());
    RequestHead closing;
    closing.keep_alive = false;
    Answer(fd, closing, error.http_status, {{"Content-Type", "text/plain"}}, error.message + "\n");
  }
  return false;
}

std::optional<ReadError> ReadRequestBody(int fd, BufferedReader& reader, const RequestHead& head,
                                         const BodySink& sink) {
  // A client that sent "Expect: 100-continue" may wait for this before sending the body.
  if (head.expects_continue && !WriteAll(fd, "HTTP/1.1 100 Continue\r\n\r\n")) {
    return ReadError{0, "connection closed"};
  }
  return ReadBody(reader, head, sink);
}

// Response headers every mode shares: the Fn-Test-Header ones, and the request's Content-Type
// unless a Fn-Test-Header sets one.
std::vector<Header> BaseHeaders(const RequestHead& head, const CallOptions& options,
                                bool copy_content_type) {
  std::vector<Header> headers;
  std::optional<std::string> content_type = head.Get("Content-Type");
  if (copy_content_type && content_type && !HasHeader(options.extra_headers, "Content-Type")) {
    headers.push_back(Header{"Content-Type", *content_type});
  }
  headers.insert(headers.end(), options.extra_headers.begin(), options.extra_headers.end());
  return headers;
}

// Writes each line with its own write() so that lines reach the log in order, whole.
void WriteLogLines(const CallOptions& options, const std::string& call_id) {
  for (uint64_t i = 0; i < options.log_lines; ++i) {
    int fd = options.log_stream == LogStream::kStderr ? STDERR_FILENO : STDOUT_FILENO;
    std::string line;
    if (options.log_stream == LogStream::kBoth) {
      fd = i % 2 == 0 ? STDOUT_FILENO : STDERR_FILENO;
      line = i % 2 == 0 ? "out " : "err ";
    }
    line += "line " + std::to_string(i) + " " + call_id;
    if (line.size() < options.log_line_bytes)
      line.append(options.log_line_bytes - line.size(), '.');
    line += '\n';
    // A closed log stream must not fail the call: the agent may not attach stdout/stderr.
    WriteAll(fd, line);
  }
}

// Streams `options.output_bytes` bytes of 'a' + i % 26 as chunks of `options.chunk_bytes`.
bool WriteChunkedOutput(int fd, const RequestHead& head, const CallOptions& options,
                        std::vector<Header> headers) {
  headers.push_back(Header{"Transfer-Encoding", "chunked"});
  if (!head.keep_alive) headers.push_back(Header{"Connection", "close"});
  // The head goes out alone so that the agent sees the headers before any delay.
  if (!WriteAll(fd, ResponseHead(options.status, headers))) return false;
  uint64_t sent = 0;
  const uint64_t total = *options.output_bytes;
  while (sent < total) {
    if (sent > 0 && options.chunk_delay_ms > 0) SleepMs(options.chunk_delay_ms);
    size_t size = static_cast<size_t>(std::min(options.chunk_bytes, total - sent));
    char size_line[24];
    std::snprintf(size_line, sizeof(size_line), "%zx\r\n", size);
    std::string frame = size_line;
    frame.reserve(frame.size() + size + 2);
    for (size_t i = 0; i < size; ++i) frame += static_cast<char>('a' + (sent + i) % 26);
    frame += "\r\n";
    if (!WriteAll(fd, frame)) return false;
    sent += size;
  }
  return WriteAll(fd, "0\r\n\r\n") && head.keep_alive;
}

// Writes the whole response, then reads and drops the body it did not wait for.
bool ServePremature(int fd, BufferedReader& reader, const RequestHead& head,
                    const CallOptions& options) {
  RequestHead keep_open = head;  // Drain even if the client asked to close: see below.
  keep_open.keep_alive = true;
  if (!Answer(fd, keep_open, options.status, BaseHeaders(head, options, false), kPrematureBody)) {
    return false;
  }
  // Closing with unread input would send a reset, which can destroy the answer in flight.
  return !ReadBody(reader, head, [](const char*, size_t) {}) && head.keep_alive;
}

bool ServeCall(int fd, BufferedReader& reader, const RequestHead& head,
               const CallOptions& options) {
  if (options.premature) return ServePremature(fd, reader, head, options);

  const bool echo = !options.info && !options.output_bytes;
  std::string body;
  uint64_t body_bytes = 0;
  std::optional<ReadError> error =
      ReadRequestBody(fd, reader, head, [&](const char* data, size_t size) {
        body_bytes += size;
        if (echo) body.append(data, size);
      });
  if (error) return Reject(fd, *error);

  WriteLogLines(options, head.Get("Fn-Call-Id").value_or(""));
  // Held until the answer is written, so memory stats during Fn-Test-Sleep-Ms include it.
  std::unique_ptr<char, decltype(&std::free)> memory(nullptr, &std::free);
  if (options.alloc_mb > 0) {
    size_t bytes = static_cast<size_t>(options.alloc_mb) << 20;
    memory.reset(static_cast<char*>(std::malloc(bytes)));
    if (memory == nullptr) {
      return Answer(fd, head, 500, {{"Content-Type", "text/plain"}}, "allocation failed\n");
    }
    // Touch every page so it is really charged to the container; volatile so the compiler
    // cannot drop stores to memory nobody reads.
    volatile char* pages = memory.get();
    for (size_t i = 0; i < bytes; i += 4096) pages[i] = 1;
  }
  SleepMs(options.sleep_ms);

  switch (options.crash) {
    case Crash::kAbort:
      std::abort();
    case Crash::kExit:
      ::_exit(options.exit_code);
    case Crash::kClose:
      return false;  // The caller closes the socket.
    case Crash::kNone:
      break;
  }
  while (options.hang) SleepMs(3'600'000);

  if (options.info) {
    std::vector<Header> headers = BaseHeaders(head, options, false);
    if (!HasHeader(headers, "Content-Type")) {
      headers.insert(headers.begin(), Header{"Content-Type", "application/json"});
    }
    return Answer(fd, head, options.status, std::move(headers), InfoJson(head, body_bytes));
  }
  if (options.output_bytes && StatusHasBody(options.status)) {
    return WriteChunkedOutput(fd, head, options, BaseHeaders(head, options, true));
  }
  return Answer(fd, head, options.status, BaseHeaders(head, options, true), body);
}

// Serves one request. Returns true if the connection may serve another.
bool ServeRequest(int fd, BufferedReader& reader) {
  RequestHead head;
  if (std::optional<ReadError> error = ReadRequestHead(reader, head)) return Reject(fd, *error);

  CallOptions options;
  std::optional<std::string> invalid = ParseCallOptions(head, options);
  std::string path = head.target.substr(0, head.target.find('?'));
  int status = path != "/call" ? 404 : head.method != "POST" ? 405 : invalid ? 400 : 200;
  if (status == 200) return ServeCall(fd, reader, head, options);

  // Refuse the call, but keep the connection usable: read the body so the next request is
  // found where it starts.
  std::string message = status == 404   ? "only /call is served"
                        : status == 405 ? "only POST is served"
                                        : *invalid;
  std::fprintf(stderr, "fdk-test-function: answering %d: %s\n", status, message.c_str());
  if (auto error = ReadRequestBody(fd, reader, head, [](const char*, size_t) {})) {
    return Reject(fd, *error);
  }
  return Answer(fd, head, status, {{"Content-Type", "text/plain"}}, message + "\n");
}

}  // namespace

void ServeConnection(int fd) {
  BufferedReader reader(fd);
  while (ServeRequest(fd, reader)) {
  }
  ::close(fd);
}

}  // namespace fnrunner::fdktest
