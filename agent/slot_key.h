#pragma once

// The hot-container reuse key (agent-and-docker-driver.md §1.4): calls may share a container
// only when their keys are equal, so the key covers everything baked into a container when it
// is created (image, environment, limits, logging) plus the function's identity.

#include <compare>
#include <ostream>
#include <string>
#include <utility>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "base/sha256.h"

namespace fnrunner {

struct Call;

struct SlotKey {
  std::string bytes;  // raw: a SHA-256 digest, or the LB's hex-decoded slot_hash_id

  // Lower-case hex of `bytes`, for logs, metrics and snapshots.
  std::string Hex() const;

  friend auto operator<=>(const SlotKey&, const SlotKey&) = default;
  template <typename H>
  friend H AbslHashValue(H h, const SlotKey& key) {
    return H::combine(std::move(h), key.bytes);
  }
  friend std::ostream& operator<<(std::ostream& os, const SlotKey& key) { return os << key.Hex(); }
};

// The key for `call`: its hex-decoded slot_hash_id when that is not empty (the LB decided),
// else HashSlotKey(call, driver_extension). InvalidArgument with Go's hex decoder message
// (fn's errorCode 0), e.g. "encoding/hex: odd length hex string" or
// "encoding/hex: invalid byte: U+0067 'g'", when slot_hash_id is not valid hex.
absl::StatusOr<SlotKey> SlotKeyOf(const Call& call, absl::string_view driver_extension = "");

// fn's computed key: SHA-256 over app_id, syslog_url, fn_id, image (each NUL-terminated),
// timeout, idle_timeout, tmpfs_size (LE uint32), memory, cpus (LE uint64), NUL, config sorted
// by key (key NUL value NUL), NUL, annotations sorted by key (key NUL compact-JSON NUL), and
// `driver_extension` NUL when it is not empty: fn's getSlotQueueKey layout (only annotation
// texts may differ from Go's, which escapes <, > and & and formats floats its own way).
// Ignores slot_hash_id. Headers, method, url, type, trigger and app name are not hashed.
SlotKey HashSlotKey(const Call& call, absl::string_view driver_extension = "");


}  // namespace fnrunner
