#pragma once

// The runner's half of fn's admission, step [B] of runner-protocol.md §2.3: a TryCall becomes a
// Call, or the exact error fn's runner would put in CallFinished. This is the only runner code
// that calls agent/call.h's ParseCall and CheckFits.

#include <optional>
#include <string>
#include <variant>

#include "absl/strings/string_view.h"
#include "agent/call.h"
#include "agent/capacity.h"
#include "agent/fn_errors.h"

class TryCall;

namespace fnrunner {

struct AdmissionPolicy {
  std::string status_image;         // "" = none; calls for it are refused (400)
  bool enable_detach = false;       // off: detached calls get 501, as fn's default runner
  std::optional<Resources> capacity;  // machine totals for the feasibility check, if known
  bool draining = false;            // NACK (503) everything that passes the checks above
  // Memory for a call that asks for 0 (which would run with no limit and reserve nothing);
  // 0 keeps fn's "no limit".
  uint64_t default_memory_mb = 0;
};

// A refused call. `call` is set when fn would already have built its call object at the
// failing check, so that CallFinished carries the call's id, image and createdAt; fn leaves
// them empty for earlier failures (bad JSON, status image, resources).
struct AdmissionError {
  FnError error;
  std::optional<Call> call;
};

// Runs fn's checks in fn's order: JSON (ParseCall), the reserved status image, the call's
// resources against the machine, slot_hash_id hex, detached support, then draining. The
// admitted Call also carries the TryCall's slot_hash_id and extensions.
std::variant<Call, AdmissionError> AdmitTryCall(const TryCall& try_call,
                                                const AdmissionPolicy& policy);

// Go's encoding/hex.DecodeString error text for `hex` ("encoding/hex: odd length hex string",
// "encoding/hex: invalid byte: U+0067 'g'"), or nullopt if it is valid hex.
std::optional<std::string> GoHexDecodeError(absl::string_view hex);

}  // namespace fnrunner
