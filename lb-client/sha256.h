#pragma once

#include <string>

#include "absl/strings/string_view.h"

namespace fnrunner {

// SHA-256 (FIPS 180-4) of `data`: the raw 32-byte digest. The LB's own copy: lb-client may
// not depend on agent/ (which has one for the runner's slot keys), and neither Abseil, gRPC's
// public API nor the standard library export one. Not constant-time; for keys, not secrets.
std::string LbSha256(absl::string_view data);

}  // namespace fnrunner
