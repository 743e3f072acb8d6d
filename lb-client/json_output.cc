#include "lb-client/json_output.h"

#include "absl/strings/escaping.h"
#include "nlohmann/json.hpp"

namespace fnrunner {
namespace {

double Ms(absl::Duration d) { return absl::ToDoubleMilliseconds(d); }
double NanosToMs(int64_t nanos) { return static_cast<double>(nanos) / 1e6; }

}  // namespace

bool IsValidUtf8(absl::string_view s) {
  for (size_t i = 0; i < s.size();) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    size_t n = 0;
    uint32_t cp = 0;
    uint32_t min = 0;
    if (c < 0x80) {
      ++i;
      continue;
    } else if ((c & 0xe0) == 0xc0) {
      n = 2, cp = c & 0x1f, min = 0x80;
    } else if ((c & 0xf0) == 0xe0) {
      n = 3, cp = c & 0x0f, min = 0x800;
    } else if ((c & 0xf8) == 0xf0) {
      n = 4, cp = c & 0x07, min = 0x10000;
    } else {
      return false;
    }
    if (i + n > s.size()) return false;
    for (size_t k = 1; k < n; ++k) {
      const unsigned char b = static_cast<unsigned char>(s[i + k]);
      if ((b & 0xc0) != 0x80) return false;
      cp = cp << 6 | (b & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return false;
    i += n;
  }
  return true;
}

bool IsColdStart(const PlacementResult& result) {
  return result.finished.has_value() &&
         (result.finished->ctrcreateduration() > 0 || result.finished->initstarttime() > 0);
}

std::string CallResultJson(const HttpAnswer& answer, const PlacementResult& result,
                           absl::string_view call_id, absl::string_view placer,
                           absl::Duration total) {
  nlohmann::ordered_json j;
  j["status"] = answer.status;
  nlohmann::ordered_json headers = nlohmann::ordered_json::object();
  for (const auto& [name, value] : answer.headers) headers[name].push_back(value);
  j["headers"] = std::move(headers);
  if (IsValidUtf8(answer.body)) {
    j["body"] = answer.body;
  } else {
    j["body_base64"] = absl::Base64Escape(answer.body);
  }
  if (result.status.ok()) {
    j["error"] = nullptr;
  } else {
    j["error"] = {{"code", result.placed && result.finished ? result.fn_error_code : answer.status},
                  {"message", std::string(result.status.message())}};
  }
  j["call_id"] = std::string(call_id);
  j["placer"] = std::string(placer);
  j["runner"] = result.runner;
  j["tier"] = result.tier;
  j["attempts"] = result.attempts;
  j["nacks"] = result.nacks;
  j["connection_errors"] = result.errors;
  j["cold"] = IsColdStart(result);
  nlohmann::ordered_json timings;
  timings["total_ms"] = Ms(total);
  timings["placer_ms"] = Ms(result.placer_latency);
  const CallFinished finished = result.finished.value_or(CallFinished());
  timings["scheduler_ms"] = NanosToMs(finished.schedulerduration());
  timings["execution_ms"] = NanosToMs(finished.executionduration());
  timings["image_pull_ms"] = NanosToMs(finished.imagepullwaitduration());
  timings["container_create_ms"] = NanosToMs(finished.ctrcreateduration());
  timings["init_ms"] = NanosToMs(finished.initstarttime());
  j["timings"] = std::move(timings);
  // Header values are the function's and need not be UTF-8: replace rather than throw.
  return j.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

}  // namespace fnrunner
