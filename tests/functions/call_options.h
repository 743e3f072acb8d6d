#pragma once

// What one call to fdk-test-function should do, as chosen by its Fn-Test-* request headers.
// README.md is the reference for every header; keep the two in step.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "tests/functions/http_io.h"

namespace fnrunner::fdktest {

enum class Crash { kNone, kAbort, kExit, kClose };
enum class LogStream { kStdout, kStderr, kBoth };

struct CallOptions {
  bool info = false;                          // Fn-Test-Mode: info
  uint64_t sleep_ms = 0;                      // Fn-Test-Sleep-Ms
  int status = 200;                           // Fn-Test-Status
  std::vector<Header> extra_headers;          // Fn-Test-Header (repeatable)
  std::optional<uint64_t> output_bytes;       // Fn-Test-Output-Bytes
  uint64_t chunk_bytes = 8192;                // Fn-Test-Chunk-Bytes
  uint64_t chunk_delay_ms = 0;                // Fn-Test-Chunk-Delay-Ms
  bool premature = false;                     // Fn-Test-Premature
  Crash crash = Crash::kNone;                 // Fn-Test-Crash
  int exit_code = 0;                          // Fn-Test-Crash: exit:N
  uint64_t log_lines = 0;                     // Fn-Test-Log-Lines
  LogStream log_stream = LogStream::kStdout;  // Fn-Test-Log-Stream
  uint64_t log_line_bytes = 0;                // Fn-Test-Log-Line-Bytes
  uint64_t alloc_mb = 0;                      // Fn-Test-Alloc-Mb
  bool hang = false;                          // Fn-Test-Hang
};

// Reads the Fn-Test-* headers of `head` into `options`. Returns a message naming the first
// header whose value is invalid, or nullopt if all are valid.
std::optional<std::string> ParseCallOptions(const RequestHead& head, CallOptions& options);

}  // namespace fnrunner::fdktest
