#include "runner/call_admission.h"

#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "drivers/docker/image_reference.h"
#include "proto/runner.pb.h"

namespace fnrunner {
namespace {

bool IsHexDigit(unsigned char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

// Go's unicode.IsPrint for a rune below 256: ASCII graphic characters and space, and Latin-1
// letters/symbols except NBSP (a space other than ASCII's) and the soft hyphen (a format char).
bool GoIsPrint(unsigned char c) {
  if (c < 0x80) return c >= 0x20 && c < 0x7f;
  return c >= 0xa1 && c != 0xad;
}

// fmt's %#U for the rune `c`: "U+0067 'g'".
std::string GoInvalidByte(unsigned char c) {
  std::string text = absl::StrFormat("encoding/hex: invalid byte: U+%04X", c);
  if (GoIsPrint(c)) {
    std::string utf8;
    if (c < 0x80) {
      utf8.push_back(static_cast<char>(c));
    } else {
      utf8.push_back(static_cast<char>(0xc0 | (c >> 6)));
      utf8.push_back(static_cast<char>(0x80 | (c & 0x3f)));
    }
    absl::StrAppend(&text, " '", utf8, "'");
  }
  return text;
}

AdmissionError Refuse(FnError error, std::optional<Call> call = std::nullopt) {
  return AdmissionError{std::move(error), std::move(call)};
}

}  // namespace

std::optional<std::string> GoHexDecodeError(absl::string_view hex) {
  // Go checks pair by pair, then the odd trailing character, then the length.
  const size_t pairs = hex.size() / 2;
  for (size_t i = 0; i < pairs * 2; ++i) {
    if (!IsHexDigit(hex[i])) return GoInvalidByte(hex[i]);
  }
  if (hex.size() % 2 == 1) {
    if (!IsHexDigit(hex.back())) return GoInvalidByte(hex.back());
    return std::string("encoding/hex: odd length hex string");
  }
  return std::nullopt;
}

std::variant<Call, AdmissionError> AdmitTryCall(const TryCall& try_call,
                                                const AdmissionPolicy& policy) {
  absl::StatusOr<Call> parsed = ParseCall(try_call.models_call_json());
  if (!parsed.ok()) {
    return Refuse(FnError{FnErrorCode(parsed.status()), std::string(parsed.status().message()),
                          /*user_error=*/false});
  }
  Call call = *std::move(parsed);
  if (!policy.status_image.empty() && call.image == policy.status_image) {
    return Refuse(FnError{400, "Invalid Fn image", false});
  }
  if (call.memory_mb == 0) call.memory_mb = policy.default_memory_mb;
  // The image goes into Engine API paths: a string outside Docker's grammar could address
  // another endpoint. A client error, never retried (a permanent 400, like the status image).
  if (absl::Status image = ValidateImageReference(call.image); !image.ok()) {
    return Refuse(FnError{400, absl::StrCat("Invalid Fn image: ", image.message()), false});
  }
  if (policy.capacity) {
    if (absl::Status fits = CheckFits(call, *policy.capacity); !fits.ok()) {
      return Refuse(FnError{FnErrorCode(fits), std::string(fits.message()), false});
    }
  }
  // Not in the JSON: the LB's slot key and per-call extensions (FN_REGISTRY_TOKEN, ...).
  call.extensions.insert(try_call.extensions().begin(), try_call.extensions().end());
  if (!try_call.slot_hash_id().empty()) {
    if (std::optional<std::string> bad = GoHexDecodeError(try_call.slot_hash_id())) {
      return Refuse(FnError{0, *std::move(bad), false}, std::move(call));
    }
    call.slot_hash_id = try_call.slot_hash_id();
  }
  if (call.type == CallType::kDetached && !policy.enable_detach) {
    return Refuse(FnError{501, "Detach call functions are not supported on this server", false},
                  std::move(call));
  }
  if (policy.draining) return Refuse(fn_errors::ServerBusy(), std::move(call));
  return call;
}

}  // namespace fnrunner
