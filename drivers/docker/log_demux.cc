#include "drivers/docker/log_demux.h"

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace fnrunner {

absl::Status LogDemuxer::Feed(absl::string_view bytes, Emit emit) {
  while (!bytes.empty()) {
    if (payload_left_ == 0) {
      const size_t take = std::min(sizeof(header_) - header_len_, bytes.size());
      std::copy_n(bytes.data(), take, header_ + header_len_);
      header_len_ += take;
      bytes.remove_prefix(take);
      if (header_len_ < sizeof(header_)) return absl::OkStatus();
      header_len_ = 0;
      const auto* h = reinterpret_cast<const unsigned char*>(header_);
      if (h[1] != 0 || h[2] != 0 || h[3] != 0 || h[0] > 3) {
        return absl::InternalError(absl::StrCat("attach stream: corrupt frame header (stream byte ",
                                                static_cast<int>(h[0]), ")"));
      }
      // 0 is stdin (Docker's own demuxer treats it as stdout), 3 is the engine's
      // "system error" stream (API >= 1.42), which belongs with stderr.
      stream_ = (h[0] == 2 || h[0] == 3) ? LogStream::kStderr : LogStream::kStdout;
      payload_left_ =
          (uint32_t{h[4]} << 24) | (uint32_t{h[5]} << 16) | (uint32_t{h[6]} << 8) | uint32_t{h[7]};
      continue;
    }
    const size_t take = std::min<size_t>(payload_left_, bytes.size());
    AppendPayload(bytes.substr(0, take), emit);
    payload_left_ -= static_cast<uint32_t>(take);
    bytes.remove_prefix(take);
  }
  return absl::OkStatus();
}

void LogDemuxer::AppendPayload(absl::string_view payload, Emit emit) {
  std::string& partial = partial_[static_cast<int>(stream_)];
  while (!payload.empty()) {
    const size_t newline = payload.find('\n');
    const size_t room = max_line_bytes_ - partial.size();
    if (newline != absl::string_view::npos && newline <= room) {
      if (partial.empty()) {
        emit(stream_, payload.substr(0, newline));  // the common case: no copy
      } else {
        partial.append(payload.data(), newline);
        emit(stream_, partial);
        partial.clear();
      }
      payload.remove_prefix(newline + 1);
      continue;
    }
    // A partial line may fill up to the limit: only a byte beyond it (not a newline) proves
    // the line is longer, so a line of exactly max_line_bytes stays whole.
    if (payload.size() <= room) {
      partial.append(payload.data(), payload.size());
      return;
    }
    // The line reaches the limit: emit a full-size piece and carry on with the rest.
    partial.append(payload.data(), room);
    payload.remove_prefix(room);
    emit(stream_, partial);
    partial.clear();
  }
}

void LogDemuxer::Finish(Emit emit) {
  for (LogStream stream : {LogStream::kStdout, LogStream::kStderr}) {
    std::string& partial = partial_[static_cast<int>(stream)];
    if (!partial.empty()) emit(stream, partial);
    partial.clear();
  }
}

}  // namespace fnrunner
