#include "tests/functions/info_json.h"

#include <cctype>
#include <cstdio>
#include <map>
#include <string_view>
#include <vector>

extern char** environ;

namespace fnrunner::fdktest {
namespace {

// Length of the valid UTF-8 sequence starting at text[0], or 0 if it is not valid
// (RFC 3629: no overlong forms, no surrogates, nothing above U+10FFFF).
size_t Utf8SequenceLength(std::string_view text) {
  auto byte = [&](size_t i) { return static_cast<unsigned char>(text[i]); };
  unsigned char lead = byte(0);
  if (lead < 0x80) return 1;
  size_t length;
  unsigned char low = 0x80, high = 0xBF;  // Allowed range of the second byte.
  if (lead >= 0xC2 && lead <= 0xDF) {
    length = 2;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    length = 3;
    if (lead == 0xE0) low = 0xA0;
    if (lead == 0xED) high = 0x9F;
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    length = 4;
    if (lead == 0xF0) low = 0x90;
    if (lead == 0xF4) high = 0x8F;
  } else {
    return 0;
  }
  if (text.size() < length || byte(1) < low || byte(1) > high) return 0;
  for (size_t i = 2; i < length; ++i) {
    if (byte(i) < 0x80 || byte(i) > 0xBF) return 0;
  }
  return length;
}

void AppendJsonString(std::string_view text, std::string& out) {
  out += '"';
  while (!text.empty()) {
    unsigned char c = static_cast<unsigned char>(text.front());
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20) {
      char escaped[8];
      std::snprintf(escaped, sizeof(escaped), "\\u%04x", c);
      out += escaped;
    } else if (size_t length = Utf8SequenceLength(text); length == 0) {
      out += "\\ufffd";
    } else {
      out.append(text.substr(0, length));
      text.remove_prefix(length);
      continue;
    }
    text.remove_prefix(1);
  }
  out += '"';
}

// "fn-call-id" -> "Fn-Call-Id", like Go's http.CanonicalHeaderKey.
std::string CanonicalHeaderName(std::string_view name) {
  std::string out(name);
  bool upper = true;
  for (char& c : out) {
    c = static_cast<char>(upper ? std::toupper(static_cast<unsigned char>(c))
                                : std::tolower(static_cast<unsigned char>(c)));
    upper = c == '-';
  }
  return out;
}

}  // namespace

std::string InfoJson(const RequestHead& head, uint64_t body_bytes) {
  std::map<std::string, std::vector<std::string>> headers;
  for (const Header& header : head.headers) {
    headers[CanonicalHeaderName(header.name)].push_back(header.value);
  }
  std::map<std::string, std::string> env;
  for (char** entry = environ; *entry != nullptr; ++entry) {
    std::string_view text(*entry);
    size_t equals = text.find('=');
    if (equals == std::string_view::npos) continue;
    env.emplace(std::string(text.substr(0, equals)), std::string(text.substr(equals + 1)));
  }

  std::string out = "{\"method\":";
  AppendJsonString(head.method, out);
  out += ",\"path\":";
  AppendJsonString(head.target, out);
  out += ",\"headers\":{";
  const char* separator = "";
  for (const auto& [name, values] : headers) {
    out += separator;
    AppendJsonString(name, out);
    out += ":[";
    for (size_t i = 0; i < values.size(); ++i) {
      if (i > 0) out += ',';
      AppendJsonString(values[i], out);
    }
    out += ']';
    separator = ",";
  }
  out += "},\"env\":{";
  separator = "";
  for (const auto& [name, value] : env) {
    out += separator;
    AppendJsonString(name, out);
    out += ':';
    AppendJsonString(value, out);
    separator = ",";
  }
  out += "},\"call_id\":";
  AppendJsonString(head.Get("Fn-Call-Id").value_or(""), out);
  out += ",\"deadline\":";
  AppendJsonString(head.Get("Fn-Deadline").value_or(""), out);
  out += ",\"body_bytes\":" + std::to_string(body_bytes) + "}";
  return out;
}

}  // namespace fnrunner::fdktest
