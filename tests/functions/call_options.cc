#include "tests/functions/call_options.h"

#include <string_view>

namespace fnrunner::fdktest {
namespace {

// Limits that catch a typo in a test rather than restrict one.
constexpr uint64_t kMaxMillis = 24ull * 3600 * 1000;
constexpr uint64_t kMaxBytes = uint64_t{1} << 40;
// Chunks and log lines are built in memory whole.
constexpr uint64_t kMaxChunkBytes = uint64_t{64} << 20;
constexpr uint64_t kMaxLineBytes = uint64_t{256} << 20;
constexpr uint64_t kMaxLines = 100'000'000;
constexpr uint64_t kMaxAllocMb = 1024 * 1024;

std::string Invalid(std::string_view name, std::string_view value) {
  return std::string("invalid ") + std::string(name) + ": \"" + std::string(value) + "\"";
}

// Parses header `name` of `head`, if present, as a decimal in [min, max] into `out`.
std::optional<std::string> ParseNumber(const RequestHead& head, std::string_view name, uint64_t min,
                                       uint64_t max, uint64_t& out) {
  std::optional<std::string> value = head.Get(name);
  if (!value) return std::nullopt;
  std::optional<uint64_t> parsed = ParseDecimal(*value, max);
  if (!parsed || *parsed < min) return Invalid(name, *value);
  out = *parsed;
  return std::nullopt;
}

bool IsFlagOn(const RequestHead& head, std::string_view name) {
  std::optional<std::string> value = head.Get(name);
  return value && (*value == "1" || EqualsIgnoreCase(*value, "true"));
}

std::optional<std::string> ParseExtraHeaders(const RequestHead& head, CallOptions& options) {
  for (const std::string& value : head.GetAll("Fn-Test-Header")) {
    size_t colon = value.find(':');
    std::string_view view(value);
    if (colon == std::string::npos || colon == 0 ||
        view.substr(0, colon).find_first_of(" \t") != std::string_view::npos ||
        view.find_first_of("\r\n") != std::string_view::npos) {
      return Invalid("Fn-Test-Header", value);
    }
    std::string_view header_value = view.substr(colon + 1);
    while (!header_value.empty() && header_value.front() == ' ') header_value.remove_prefix(1);
    options.extra_headers.push_back(
        Header{std::string(view.substr(0, colon)), std::string(header_value)});
  }
  return std::nullopt;
}

std::optional<std::string> ParseCrash(const RequestHead& head, CallOptions& options) {
  std::optional<std::string> crash = head.Get("Fn-Test-Crash");
  if (!crash) return std::nullopt;
  std::string_view view(*crash);
  if (view == "abort") {
    options.crash = Crash::kAbort;
  } else if (view == "close") {
    options.crash = Crash::kClose;
  } else if (view.substr(0, 5) == "exit:") {
    std::optional<uint64_t> code = ParseDecimal(view.substr(5), 255);
    if (!code) return Invalid("Fn-Test-Crash", *crash);
    options.crash = Crash::kExit;
    options.exit_code = static_cast<int>(*code);
  } else {
    return Invalid("Fn-Test-Crash", *crash);
  }
  return std::nullopt;
}

std::optional<std::string> ParseLogStream(const RequestHead& head, CallOptions& options) {
  std::optional<std::string> stream = head.Get("Fn-Test-Log-Stream");
  if (!stream || *stream == "stdout") {
    options.log_stream = LogStream::kStdout;
  } else if (*stream == "stderr") {
    options.log_stream = LogStream::kStderr;
  } else if (*stream == "both") {
    options.log_stream = LogStream::kBoth;
  } else {
    return Invalid("Fn-Test-Log-Stream", *stream);
  }
  return std::nullopt;
}

}  // namespace

std::optional<std::string> ParseCallOptions(const RequestHead& head, CallOptions& options) {
  options = CallOptions();
  if (std::optional<std::string> mode = head.Get("Fn-Test-Mode")) {
    if (*mode != "info") return Invalid("Fn-Test-Mode", *mode);
    options.info = true;
  }
  uint64_t status = 200;
  uint64_t output_bytes = 0;
  if (auto error = ParseNumber(head, "Fn-Test-Status", 200, 599, status)) return error;
  options.status = static_cast<int>(status);
  if (auto error = ParseNumber(head, "Fn-Test-Sleep-Ms", 0, kMaxMillis, options.sleep_ms)) {
    return error;
  }
  if (head.Get("Fn-Test-Output-Bytes")) {
    if (auto error = ParseNumber(head, "Fn-Test-Output-Bytes", 0, kMaxBytes, output_bytes)) {
      return error;
    }
    options.output_bytes = output_bytes;
  }
  if (auto error =
          ParseNumber(head, "Fn-Test-Chunk-Bytes", 1, kMaxChunkBytes, options.chunk_bytes)) {
    return error;
  }
  if (auto error =
          ParseNumber(head, "Fn-Test-Chunk-Delay-Ms", 0, kMaxMillis, options.chunk_delay_ms)) {
    return error;
  }
  if (auto error = ParseNumber(head, "Fn-Test-Log-Lines", 0, kMaxLines, options.log_lines)) {
    return error;
  }
  if (auto error =
          ParseNumber(head, "Fn-Test-Log-Line-Bytes", 0, kMaxLineBytes, options.log_line_bytes)) {
    return error;
  }
  if (auto error = ParseNumber(head, "Fn-Test-Alloc-Mb", 0, kMaxAllocMb, options.alloc_mb)) {
    return error;
  }
  if (auto error = ParseExtraHeaders(head, options)) return error;
  if (auto error = ParseCrash(head, options)) return error;
  if (auto error = ParseLogStream(head, options)) return error;
  options.premature = IsFlagOn(head, "Fn-Test-Premature");
  options.hang = IsFlagOn(head, "Fn-Test-Hang");
  return std::nullopt;
}

}  // namespace fnrunner::fdktest
