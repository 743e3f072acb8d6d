#include "lb-client/call_model.h"

#include <cstdint>
#include <string>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/string_view.h"
#include "base/sha256.h"

namespace fnrunner {
namespace {

// fn's zero time.Time as its DateTime renders it.
constexpr char kFnZeroTime[] = "0001-01-01T00:00:00.000Z";

// Length of the UTF-8 sequence starting at s[i] if it is valid (no overlongs, no surrogates,
// at most U+10FFFF), else 0.
size_t Utf8SequenceLength(absl::string_view s, size_t i) {
  const auto byte = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char c = byte(i);
  if (c < 0x80) return 1;
  size_t n = 0;
  uint32_t min = 0;
  uint32_t cp = 0;
  if ((c & 0xe0) == 0xc0) {
    n = 2, min = 0x80, cp = c & 0x1f;
  } else if ((c & 0xf0) == 0xe0) {
    n = 3, min = 0x800, cp = c & 0x0f;
  } else if ((c & 0xf8) == 0xf0) {
    n = 4, min = 0x10000, cp = c & 0x07;
  } else {
    return 0;
  }
  if (i + n > s.size()) return 0;
  for (size_t k = 1; k < n; ++k) {
    if ((byte(i + k) & 0xc0) != 0x80) return 0;
    cp = cp << 6 | (byte(i + k) & 0x3f);
  }
  if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return 0;
  return n;
}

// A JSON string as Go's encoding/json writes it (HTML-safe escaping on).
void AppendGoJsonString(std::string& out, absl::string_view s) {
  out.push_back('"');
  for (size_t i = 0; i < s.size();) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (c >= 0x80) {
      const size_t n = Utf8SequenceLength(s, i);
      if (n == 0) {
        out.append("\\ufffd");
        ++i;
        continue;
      }
      absl::string_view seq = s.substr(i, n);
      if (seq == "\xe2\x80\xa8" || seq == "\xe2\x80\xa9") {  // U+2028, U+2029
        out.append(seq == "\xe2\x80\xa8" ? "\\u2028" : "\\u2029");
      } else {
        out.append(seq.data(), seq.size());
      }
      i += n;
      continue;
    }
    switch (c) {
      case '"':
        out.append("\\\"");
        break;
      case '\\':
        out.append("\\\\");
        break;
      case '\n':
        out.append("\\n");
        break;
      case '\r':
        out.append("\\r");
        break;
      case '\t':
        out.append("\\t");
        break;
      case '<':
      case '>':
      case '&':
        absl::StrAppendFormat(&out, "\\u%04x", c);
        break;
      default:
        if (c < 0x20) {
          absl::StrAppendFormat(&out, "\\u%04x", c);
        } else {
          out.push_back(static_cast<char>(c));
        }
    }
    ++i;
  }
  out.push_back('"');
}

// Writes `"key":` with a separating comma when needed.
class ObjectWriter {
 public:
  explicit ObjectWriter(std::string& out) : out_(out) { out_.push_back('{'); }
  void Key(absl::string_view key) {
    if (!first_) out_.push_back(',');
    first_ = false;
    AppendGoJsonString(out_, key);
    out_.push_back(':');
  }
  void String(absl::string_view key, absl::string_view value) {
    Key(key);
    AppendGoJsonString(out_, value);
  }
  void StringIfSet(absl::string_view key, absl::string_view value) {
    if (!value.empty()) String(key, value);
  }
  void NumberIfSet(absl::string_view key, uint64_t value) {
    if (value == 0) return;
    Key(key);
    absl::StrAppend(&out_, value);
  }
  void Close() { out_.push_back('}'); }

 private:
  std::string& out_;
  bool first_ = true;
};

void AppendStringMap(std::string& out, const std::map<std::string, std::string>& map) {
  ObjectWriter object(out);
  for (const auto& [key, value] : map) object.String(key, value);
  object.Close();
}

void AppendLe(std::string& out, uint64_t value, int bytes) {
  for (int i = 0; i < bytes; ++i) out.push_back(static_cast<char>((value >> (8 * i)) & 0xff));
}

uint64_t WholeSeconds(absl::Duration d) {
  return static_cast<uint64_t>(absl::ToInt64Seconds(d));
}

}  // namespace

std::map<std::string, std::string> EffectiveConfig(const LbCall& call) {
  std::map<std::string, std::string> config = call.config;
  config["FN_APP_ID"] = call.app_id;
  config["FN_FN_ID"] = call.fn_id;
  config["FN_MEMORY"] = absl::StrCat(call.memory_mb);
  config["FN_TYPE"] = "sync";
  return config;
}

std::string FnDateTime(absl::Time t) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", t, absl::UTCTimeZone());
}

std::string CallModelJson(const LbCall& call) {
  std::string out;
  ObjectWriter o(out);
  o.String("id", call.id);
  o.String("status", "running");
  o.StringIfSet("image", call.image);
  o.StringIfSet("type", call.type);
  o.StringIfSet("url", call.url);
  o.StringIfSet("method", call.method);
  o.NumberIfSet("timeout", WholeSeconds(call.timeout));
  o.NumberIfSet("idle_timeout", WholeSeconds(call.idle_timeout));
  o.NumberIfSet("tmpfs_size", call.tmpfs_size_mb);
  o.NumberIfSet("memory", call.memory_mb);
  if (call.milli_cpus > 0) o.String("cpus", absl::StrCat(call.milli_cpus, "m"));
  o.Key("config");
  AppendStringMap(out, EffectiveConfig(call));
  if (!call.annotations.empty()) {
    o.Key("annotations");
    ObjectWriter annotations(out);
    for (const auto& [key, json] : call.annotations) {
      annotations.Key(key);
      out.append(json);  // Already JSON.
    }
    annotations.Close();
  }
  if (!call.headers.empty()) {
    o.Key("headers");
    ObjectWriter headers(out);
    for (const auto& [name, values] : call.headers) {
      headers.Key(name);
      out.push_back('[');
      for (size_t i = 0; i < values.size(); ++i) {
        if (i > 0) out.push_back(',');
        AppendGoJsonString(out, values[i]);
      }
      out.push_back(']');
    }
    headers.Close();
  }
  o.StringIfSet("syslog_url", call.syslog_url);
  o.String("completed_at", kFnZeroTime);
  o.String("created_at", FnDateTime(call.created_at));
  o.String("started_at", FnDateTime(call.started_at));
  o.String("app_id", call.app_id);
  o.String("app_name", call.app_name);
  o.String("trigger_id", call.trigger_id);
  o.String("fn_id", call.fn_id);
  o.Close();
  return out;
}

std::string SlotHashId(const LbCall& call) {
  std::string in;
  for (const std::string* field : {&call.app_id, &call.syslog_url, &call.fn_id, &call.image}) {
    in.append(*field);
    in.push_back('\0');
  }
  AppendLe(in, static_cast<uint32_t>(WholeSeconds(call.timeout)), 4);
  AppendLe(in, static_cast<uint32_t>(WholeSeconds(call.idle_timeout)), 4);
  AppendLe(in, call.tmpfs_size_mb, 4);
  AppendLe(in, call.memory_mb, 8);
  AppendLe(in, call.milli_cpus, 8);
  in.push_back('\0');
  for (const auto& [key, value] : EffectiveConfig(call)) {
    absl::StrAppend(&in, key, absl::string_view("\0", 1), value, absl::string_view("\0", 1));
  }
  in.push_back('\0');  // Ends the config, so no entry can move into the annotations.
  for (const auto& [key, json] : call.annotations) {
    absl::StrAppend(&in, key, absl::string_view("\0", 1), json, absl::string_view("\0", 1));
  }
  return absl::BytesToHexString(Sha256(in));
}

}  // namespace fnrunner
