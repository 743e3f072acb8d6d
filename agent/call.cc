#include "agent/call.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/cord.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "nlohmann/json.hpp"

namespace fnrunner {
namespace {

// ordered_json keeps document order, which decides which error is reported first and which
// of two keys that differ only in case wins (the later one, as in Go).
using Json = nlohmann::ordered_json;

constexpr uint64_t kMaxMilliCpus = 1'024'000;

absl::Status WithFnErrorCode(absl::Status status, int code) {
  status.SetPayload(kFnErrorCodePayloadUrl, absl::Cord(absl::StrCat(code)));
  return status;
}

// Records only the library's message for a syntax error; parsing itself uses the DOM parser.
class SyntaxErrorRecorder final : public nlohmann::json_sax<Json> {
 public:
  std::string message;

  bool null() override { return true; }
  bool boolean(bool) override { return true; }
  bool number_integer(number_integer_t) override { return true; }
  bool number_unsigned(number_unsigned_t) override { return true; }
  bool number_float(number_float_t, const string_t&) override { return true; }
  bool string(string_t&) override { return true; }
  bool binary(binary_t&) override { return true; }
  bool start_object(std::size_t) override { return true; }
  bool key(string_t&) override { return true; }
  bool end_object() override { return true; }
  bool start_array(std::size_t) override { return true; }
  bool end_array() override { return true; }
  bool parse_error(std::size_t, const std::string&,
                   const nlohmann::detail::exception& error) override {
    message = error.what();
    return false;  // stop; sax_parse reports failure instead of throwing
  }
};

std::string SyntaxErrorMessage(absl::string_view text) {
  SyntaxErrorRecorder recorder;
  // strict=true: trailing garbage is an error, as for json::parse.
  Json::sax_parse(text.begin(), text.end(), &recorder, nlohmann::detail::input_format_t::json,
                  /*strict=*/true);
  return recorder.message.empty() ? "invalid JSON" : recorder.message;
}

// How Go's UnmarshalTypeError names a JSON value: "number -1" only for numbers out of range.
std::string GoValueName(const Json& value, bool show_number) {
  switch (value.type()) {
    case Json::value_t::string:
      return "string";
    case Json::value_t::boolean:
      return "bool";
    case Json::value_t::object:
      return "object";
    case Json::value_t::array:
      return "array";
    case Json::value_t::number_integer:
    case Json::value_t::number_unsigned:
    case Json::value_t::number_float:
      return show_number ? absl::StrCat("number ", value.dump()) : "number";
    default:
      return "value";
  }
}

// Decodes one JSON object into a Call, remembering the first type error like Go's decoder
// (which keeps decoding after one) while letting a cpus error end decoding at once.
class CallDecoder {
 public:
  explicit CallDecoder(Call& call) : call_(call) {}

  absl::Status Decode(const Json& root);

 private:
  void TypeError(absl::string_view field, const Json& value, absl::string_view go_type,
                 bool out_of_range = false) {
    if (!type_error_.ok()) return;
    type_error_ = absl::InvalidArgumentError(
        absl::StrCat("json: cannot unmarshal ", GoValueName(value, out_of_range),
                     " into Go struct field Call.", field, " of type ", go_type));
  }

  // Each returns the decoded value, or nullopt for null (absent) or after a type error.
  std::optional<std::string> String(absl::string_view field, const Json& value);
  std::optional<int64_t> Int(absl::string_view field, const Json& value, int64_t min, int64_t max,
                             absl::string_view go_type);
  std::optional<uint64_t> Uint(absl::string_view field, const Json& value, uint64_t max,
                               absl::string_view go_type);
  void StringMap(absl::string_view field, const Json& value, absl::string_view go_type,
                 std::map<std::string, std::string>& out);
  void Annotations(const Json& value);
  void Headers(const Json& value);
  void CheckType(absl::string_view field, const Json& value, Json::value_t want,
                 absl::string_view go_type);
  absl::Status Cpus(const Json& value);
  absl::Status Field(absl::string_view field, const Json& value);

  Call& call_;
  absl::Status type_error_;
};

std::optional<std::string> CallDecoder::String(absl::string_view field, const Json& value) {
  if (value.is_null()) return std::nullopt;
  if (!value.is_string()) {
    TypeError(field, value, "string");
    return std::nullopt;
  }
  return value.get<std::string>();
}

std::optional<int64_t> CallDecoder::Int(absl::string_view field, const Json& value, int64_t min,
                                        int64_t max, absl::string_view go_type) {
  if (value.is_null()) return std::nullopt;
  if (value.is_number_unsigned()) {
    uint64_t v = value.get<uint64_t>();
    if (v <= static_cast<uint64_t>(max)) return static_cast<int64_t>(v);
  } else if (value.is_number_integer()) {
    int64_t v = value.get<int64_t>();
    if (v >= min && v <= max) return v;
  }
  // Floats (even 30.0 or 3e1) do not decode into Go integers either.
  TypeError(field, value, go_type, /*out_of_range=*/value.is_number());
  return std::nullopt;
}

std::optional<uint64_t> CallDecoder::Uint(absl::string_view field, const Json& value, uint64_t max,
                                          absl::string_view go_type) {
  if (value.is_null()) return std::nullopt;
  if (value.is_number_unsigned() && value.get<uint64_t>() <= max) return value.get<uint64_t>();
  // nlohmann reads "-0" as a signed zero; Go's ParseUint would reject it, we accept it.
  if (value.is_number_integer() && value.get<int64_t>() == 0) return 0;
  TypeError(field, value, go_type, /*out_of_range=*/value.is_number());
  return std::nullopt;
}

void CallDecoder::StringMap(absl::string_view field, const Json& value, absl::string_view go_type,
                            std::map<std::string, std::string>& out) {
  if (value.is_null()) {
    out.clear();  // Go sets a map to nil on null
    return;
  }
  if (!value.is_object()) return TypeError(field, value, go_type);
  out.clear();
  for (const auto& [key, element] : value.items()) {
    // A null element becomes the zero value "", as in Go.
    out[key] = String(field, element).value_or("");
  }
}

void CallDecoder::Annotations(const Json& value) {
  if (value.is_null()) {
    call_.annotations.clear();
    return;
  }
  if (!value.is_object()) return TypeError("annotations", value, "models.Annotations");
  call_.annotations.clear();
  // dump() throws only on invalid UTF-8, which the parser has already rejected.
  for (const auto& [key, element] : value.items()) call_.annotations[key] = element.dump();
}

void CallDecoder::Headers(const Json& value) {
  if (value.is_null()) {
    call_.headers.clear();
    return;
  }
  if (!value.is_object()) return TypeError("headers", value, "http.Header");
  call_.headers.clear();
  for (const auto& [name, values] : value.items()) {
    CallHeader header{.name = name, .values = {}};
    if (values.is_array()) {
      for (const Json& element : values)
        header.values.push_back(String("headers", element).value_or(""));
    } else if (!values.is_null()) {
      TypeError("headers", values, "[]string");
    }
    call_.headers.push_back(std::move(header));
  }
}

void CallDecoder::CheckType(absl::string_view field, const Json& value, Json::value_t want,
                            absl::string_view go_type) {
  if (value.is_null() || value.type() == want) return;
  TypeError(field, value, go_type);
}

// fn's MilliCPUs decoder: "" or null = 0, "<uint>m" in milli-CPU, else a decimal number of
// CPUs truncated to whole mCPU. Both forms must be within [0, 1024 CPUs].
absl::Status CallDecoder::Cpus(const Json& value) {
  if (value.is_null()) {
    call_.milli_cpus = 0;
    return absl::OkStatus();
  }
  if (!value.is_string()) {
    return WithFnErrorCode(absl::InvalidArgumentError(kInvalidJsonMessage), 400);
  }
  const std::string& raw = value.get_ref<const std::string&>();
  absl::string_view text = absl::StripAsciiWhitespace(raw);
  const absl::Status invalid =
      WithFnErrorCode(absl::InvalidArgumentError(kInvalidCpusMessage), 400);
  if (text.empty()) {
    call_.milli_cpus = 0;
    return absl::OkStatus();
  }
  if (absl::ConsumeSuffix(&text, "m")) {
    uint64_t mcpus = 0;
    if (text.empty() || !std::all_of(text.begin(), text.end(), absl::ascii_isdigit) ||
        !absl::SimpleAtoi(text, &mcpus) || mcpus > kMaxMilliCpus) {
      return invalid;
    }
    call_.milli_cpus = mcpus;
    return absl::OkStatus();
  }
  // Plain decimal only: SimpleAtod alone would also take "inf", "nan" and spaces.
  auto decimal_char = [](char c) {
    return absl::ascii_isdigit(c) || c == '.' || c == 'e' || c == 'E' || c == '+' || c == '-';
  };
  double cpus = 0;
  if (!std::all_of(text.begin(), text.end(), decimal_char) || !absl::SimpleAtod(text, &cpus) ||
      !std::isfinite(cpus) || cpus < 0 || cpus > kMaxMilliCpus / 1000) {
    return invalid;
  }
  call_.milli_cpus = static_cast<uint64_t>(cpus * 1000);  // truncates, as Go's conversion
  return absl::OkStatus();
}

absl::Status CallDecoder::Field(absl::string_view field, const Json& value) {
  constexpr int64_t kInt32Min = std::numeric_limits<int32_t>::min();
  constexpr int64_t kInt32Max = std::numeric_limits<int32_t>::max();
  auto set_string = [&](std::string& out) {
    if (std::optional<std::string> s = String(field, value)) out = *std::move(s);
  };
  if (field == "cpus") return Cpus(value);
  if (field == "id") {
    set_string(call_.id.value);
  } else if (field == "app_id") {
    set_string(call_.app_id);
  } else if (field == "app_name") {
    set_string(call_.app_name);
  } else if (field == "fn_id") {
    set_string(call_.fn_id);
  } else if (field == "trigger_id") {
    set_string(call_.trigger_id);
  } else if (field == "image") {
    set_string(call_.image);
  } else if (field == "method") {
    set_string(call_.method);
  } else if (field == "url") {
    set_string(call_.url);
  } else if (field == "syslog_url") {
    set_string(call_.syslog_url);
  } else if (field == "type") {
    if (std::optional<std::string> s = String(field, value)) {
      call_.type = *s == "detached" ? CallType::kDetached : CallType::kSync;
    }
  } else if (field == "timeout") {
    if (auto v = Int(field, value, kInt32Min, kInt32Max, "int32"))
      call_.timeout = absl::Seconds(*v);
  } else if (field == "idle_timeout") {
    if (auto v = Int(field, value, kInt32Min, kInt32Max, "int32")) {
      call_.idle_timeout = absl::Seconds(*v);
    }
  } else if (field == "memory") {
    if (auto v = Uint(field, value, UINT64_MAX, "uint64")) call_.memory_mb = *v;
  } else if (field == "tmpfs_size") {
    if (auto v = Uint(field, value, UINT32_MAX, "uint32")) {
      call_.tmpfs_size_mb = static_cast<uint32_t>(*v);
    }
  } else if (field == "config") {
    StringMap(field, value, "models.Config", call_.config);
  } else if (field == "annotations") {
    Annotations(value);
  } else if (field == "headers") {
    Headers(value);
  } else if (field == "delay") {
    Int(field, value, kInt32Min, kInt32Max, "int32");
  } else if (field == "execution_duration") {
    Int(field, value, INT64_MIN, INT64_MAX, "time.Duration");
  } else if (field == "status" || field == "payload" || field == "error") {
    String(field, value);
  } else if (field == "created_at" || field == "started_at" || field == "completed_at") {
    // The runner replaces all three with its own clock; fn's date parser is not replicated.
    CheckType(field, value, Json::value_t::string, "common.DateTime");
  } else if (field == "stats") {
    CheckType(field, value, Json::value_t::array, "drivers.Stats");
  }
  return absl::OkStatus();
}

absl::Status CallDecoder::Decode(const Json& root) {
  if (!root.is_object()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "json: cannot unmarshal ", GoValueName(root, false), " into Go value of type models.Call"));
  }
  for (const auto& [key, value] : root.items()) {
    if (absl::Status status = Field(absl::AsciiStrToLower(key), value); !status.ok()) {
      return status;
    }
  }
  return type_error_;
}

// a + b, or UINT64_MAX if that overflows.
uint64_t SaturatingAdd(uint64_t a, uint64_t b) { return a > UINT64_MAX - b ? UINT64_MAX : a + b; }

}  // namespace

Resources Call::Reservation() const {
  uint64_t mb = SaturatingAdd(memory_mb, tmpfs_size_mb);
  uint64_t bytes = mb > UINT64_MAX / kBytesPerMb ? UINT64_MAX : mb * kBytesPerMb;
  return Resources{.memory_bytes = bytes, .milli_cpus = milli_cpus};
}

int FnErrorCode(const absl::Status& status) {
  auto payload = status.GetPayload(kFnErrorCodePayloadUrl);
  int code = 0;
  if (!payload || !absl::SimpleAtoi(std::string(*payload), &code)) return 0;
  return code;
}

absl::StatusOr<Call> ParseCall(absl::string_view json) {
  Json root = Json::parse(json.begin(), json.end(), /*cb=*/nullptr, /*allow_exceptions=*/false);
  if (root.is_discarded()) return absl::InvalidArgumentError(SyntaxErrorMessage(json));
  Call call;
  CallDecoder decoder(call);
  if (absl::Status status = decoder.Decode(root); !status.ok()) return status;
  return call;
}

absl::Status CheckFits(const Call& call, const Resources& total) {
  Resources want = call.Reservation();
  if (want.memory_bytes <= total.memory_bytes && want.milli_cpus <= total.milli_cpus) {
    return absl::OkStatus();
  }
  return WithFnErrorCode(absl::FailedPreconditionError(kResourceTooBigMessage), 400);
}

}  // namespace fnrunner
