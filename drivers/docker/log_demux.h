#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "drivers/driver.h"

namespace fnrunner {

// Turns Docker's multiplexed attach stream (8-byte frame headers: stream id, three zero
// bytes, big-endian payload length) into lines per stream. stdout and stderr keep separate
// partial lines, so their output never interleaves inside a line (fn's gotcha §10.31).
// Memory is bounded: at most 2 × max_line_bytes of partial lines plus one frame header.
// Used by one thread at a time.
class LogDemuxer {
 public:
  using Emit = absl::FunctionRef<void(LogStream, absl::string_view)>;

  explicit LogDemuxer(size_t max_line_bytes)
      : max_line_bytes_(std::max<size_t>(1, max_line_bytes)) {}

  // Consumes `bytes` (any split of the stream) and emits every completed line, without its
  // "\n"; a line reaching max_line_bytes is emitted in pieces of that size. Internal on a
  // corrupt frame header, after which the demuxer must not be fed again.
  absl::Status Feed(absl::string_view bytes, Emit emit);
  // Emits the partial lines left at the end of the stream.
  void Finish(Emit emit);
  // Bytes held in partial lines (for the bounded-memory tests and metrics).
  size_t buffered_bytes() const { return partial_[0].size() + partial_[1].size(); }

 private:
  void AppendPayload(absl::string_view payload, Emit emit);

  const size_t max_line_bytes_;
  char header_[8] = {};
  size_t header_len_ = 0;
  uint32_t payload_left_ = 0;
  LogStream stream_ = LogStream::kStdout;
  std::string partial_[2];  // indexed by LogStream
};

}  // namespace fnrunner
