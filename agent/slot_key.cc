#include "agent/slot_key.h"

#include <algorithm>
#include <array>
#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/time.h"
#include "agent/call.h"

namespace fnrunner {
namespace {


// ---- fn's key layout ----

constexpr absl::string_view kNul("\0", 1);

void AppendLe(std::string& out, uint64_t value, int bytes) {
  for (int i = 0; i < bytes; ++i) out.push_back(static_cast<char>((value >> (8 * i)) & 0xff));
}

int HexDigit(unsigned char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Go's hex.InvalidByteError text: "%#U" of the byte as a rune, with the character quoted
// only when Go's strconv.IsPrint accepts it.
absl::Status InvalidHexByte(unsigned char byte) {
  bool printable = (byte >= 0x20 && byte <= 0x7e) || (byte >= 0xa1 && byte != 0xad);
  std::string text = absl::StrFormat("encoding/hex: invalid byte: U+%04X", byte);
  if (printable) {
    std::string utf8;
    if (byte < 0x80) {
      utf8.push_back(static_cast<char>(byte));
    } else {
      utf8.push_back(static_cast<char>(0xc0 | (byte >> 6)));
      utf8.push_back(static_cast<char>(0x80 | (byte & 0x3f)));
    }
    absl::StrAppend(&text, " '", utf8, "'");
  }
  return absl::InvalidArgumentError(text);
}

// Decodes like Go's hex.DecodeString, including which error wins: bad digits are reported
// pair by pair before an odd length is.
absl::StatusOr<std::string> DecodeHex(absl::string_view hex) {
  std::string out;
  out.reserve(hex.size() / 2);
  size_t i = 1;
  for (; i < hex.size(); i += 2) {
    int hi = HexDigit(hex[i - 1]);
    int lo = HexDigit(hex[i]);
    if (hi < 0) return InvalidHexByte(hex[i - 1]);
    if (lo < 0) return InvalidHexByte(hex[i]);
    out.push_back(static_cast<char>(hi << 4 | lo));
  }
  if (hex.size() % 2 == 1) {
    if (HexDigit(hex.back()) < 0) return InvalidHexByte(hex.back());
    return absl::InvalidArgumentError("encoding/hex: odd length hex string");
  }
  return out;
}

}  // namespace


std::string SlotKey::Hex() const { return absl::BytesToHexString(bytes); }

SlotKey HashSlotKey(const Call& call, absl::string_view driver_extension) {
  std::string in;
  for (const std::string* field : {&call.app_id, &call.syslog_url, &call.fn_id, &call.image}) {
    in.append(*field);
    in.push_back('\0');
  }
  // Go hashes the int32 fields converted to uint32: the same bits for negative values.
  AppendLe(in, static_cast<uint32_t>(absl::ToInt64Seconds(call.timeout)), 4);
  AppendLe(in, static_cast<uint32_t>(absl::ToInt64Seconds(call.idle_timeout)), 4);
  AppendLe(in, call.tmpfs_size_mb, 4);
  AppendLe(in, call.memory_mb, 8);
  AppendLe(in, call.milli_cpus, 8);
  in.push_back('\0');
  // std::map iterates in ascending key order, which is the order fn sorts into.
  for (const auto& [key, value] : call.config) absl::StrAppend(&in, key, kNul, value, kNul);
  // Ends the config entries, so no entry can move between config and annotations and still
  // hash the same bytes.
  in.push_back('\0');
  for (const auto& [key, json] : call.annotations) absl::StrAppend(&in, key, kNul, json, kNul);
  if (!driver_extension.empty()) absl::StrAppend(&in, driver_extension, kNul);
  return SlotKey{Sha256(in)};
}

absl::StatusOr<SlotKey> SlotKeyOf(const Call& call, absl::string_view driver_extension) {
  if (call.slot_hash_id.empty()) return HashSlotKey(call, driver_extension);
  absl::StatusOr<std::string> decoded = DecodeHex(call.slot_hash_id);
  if (!decoded.ok()) return decoded.status();
  return SlotKey{*std::move(decoded)};
}

}  // namespace fnrunner
