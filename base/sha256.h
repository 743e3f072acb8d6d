#pragma once

#include <string>

#include "absl/strings/string_view.h"

namespace fnrunner {

// SHA-256 (FIPS 180-4) of `data`: the raw 32-byte digest. Ours because OpenSSL is not a
// dependency and neither Abseil, glog, gRPC's public API nor libcurl export one. Used for
// slot keys by the runner and the LB alike; not constant-time, never for secrets.
std::string Sha256(absl::string_view data);

}  // namespace fnrunner
