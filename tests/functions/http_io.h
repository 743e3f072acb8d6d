#pragma once

// The small piece of HTTP/1.1 that fdk-test-function needs: reading requests (Content-Length
// or chunked bodies) from a connected socket, and writing raw response bytes.
//
// This binary is the whole content of a scratch image and links only libc and libstdc++ (see
// README.md), so it cannot use absl::Status; failures are `ReadError` values instead.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace fnrunner::fdktest {

// Why a request could not be read.
struct ReadError {
  // The status to answer before closing (400, 413, 431), or 0 when the peer is gone (EOF or an
  // I/O error) and there is nobody to answer.
  int http_status = 0;
  std::string message;
};

// Receives body bytes as they are read. The pointer is valid only during the call.
using BodySink = std::function<void(const char* data, size_t size)>;

// Reads from a connected socket through a buffer. Does not own the fd. Used by one thread.
class BufferedReader {
 public:
  explicit BufferedReader(int fd) : fd_(fd) {}
  BufferedReader(const BufferedReader&) = delete;
  BufferedReader& operator=(const BufferedReader&) = delete;

  // Reads one line and stores it in `line` without its CRLF (a bare LF is accepted too).
  // Returns an error on EOF or I/O error (status 0) or a line longer than `max_bytes` (431).
  std::optional<ReadError> ReadLine(size_t max_bytes, std::string& line);
  // Reads exactly `size` bytes, handing them to `sink` as they arrive. Error: EOF or I/O.
  std::optional<ReadError> ReadExactly(uint64_t size, const BodySink& sink);

 private:
  // Reads more bytes from the socket into the buffer. Returns false on EOF or an I/O error.
  bool Fill();

  int fd_;
  std::string buffer_;
  size_t start_ = 0;  // Bytes before `start_` were consumed already.
};

struct Header {
  std::string name;
  std::string value;
};

// A request line and its headers, plus what they imply for framing.
struct RequestHead {
  std::string method;
  std::string target;  // The request target as sent, query included.
  std::string version;
  std::vector<Header> headers;  // In arrival order, names as sent.
  bool keep_alive = true;
  bool chunked = false;
  uint64_t content_length = 0;  // Meaningful only when !chunked.
  bool expects_continue = false;

  // The first value of header `name` (case-insensitive), if any.
  std::optional<std::string> Get(std::string_view name) const;
  // Every value of header `name` (case-insensitive), in arrival order.
  std::vector<std::string> GetAll(std::string_view name) const;
};

// Reads a request line and headers into `head`. Errors: the peer closed or failed (status 0,
// including a clean close between requests), or malformed input (400, 431).
std::optional<ReadError> ReadRequestHead(BufferedReader& reader, RequestHead& head);

// Reads the body framed as `head` says, handing bytes to `sink`. Errors as ReadRequestHead.
std::optional<ReadError> ReadBody(BufferedReader& reader, const RequestHead& head,
                                  const BodySink& sink);

// Writes all of `data` to `fd` (a socket or a pipe), retrying short writes. Returns false if
// the peer is gone. The process must ignore SIGPIPE, or a peer that hung up kills it.
bool WriteAll(int fd, std::string_view data);

// "HTTP/1.1 <status> <reason>\r\n", then every header, then the blank line.
std::string ResponseHead(int status, const std::vector<Header>& headers);

bool EqualsIgnoreCase(std::string_view a, std::string_view b);

// Parses a non-empty string of decimal digits no greater than `max`.
std::optional<uint64_t> ParseDecimal(std::string_view text, uint64_t max);

}  // namespace fnrunner::fdktest
