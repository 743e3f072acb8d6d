#pragma once

// The call as our LB describes it to a runner: fn's call model (runner-protocol.md §3), sent as
// TryCall.models_call_json, and the slot key the LB sends with it.

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/time/time.h"

namespace fnrunner {

// One call, the fields fn's LB fills. A plain value; copy freely.
struct LbCall {
  std::string id;  // 26-character sortable id (CallIdGenerator)
  std::string app_id;
  std::string app_name;
  std::string fn_id;
  std::string trigger_id;  // "" for invoke
  std::string image;
  std::string type = "sync";  // or "detached"
  std::string method = "POST";
  std::string url;
  absl::Duration timeout = absl::Seconds(30);       // whole seconds on the wire
  absl::Duration idle_timeout = absl::Seconds(30);  // whole seconds on the wire
  uint64_t memory_mb = 128;
  uint32_t tmpfs_size_mb = 0;
  uint64_t milli_cpus = 0;  // 0 = unlimited; sent as "<n>m"
  // The app's config overlaid by the function's. The FN_* entries fn's LB adds are added by
  // EffectiveConfig(); an entry set here with the same name is replaced.
  std::map<std::string, std::string> config;
  std::map<std::string, std::string> annotations;  // value: its compact JSON text
  std::map<std::string, std::vector<std::string>> headers;  // canonical names, as fn's LB
  std::string syslog_url;
  absl::Time created_at = absl::UnixEpoch();
  absl::Time started_at = absl::UnixEpoch();
};

// `call.config` plus what fn's LB adds: FN_APP_ID, FN_FN_ID, FN_MEMORY (MB, decimal) and
// FN_TYPE (always "sync", even for detached calls, as fn does).
std::map<std::string, std::string> EffectiveConfig(const LbCall& call);

// fn's date-time: RFC 3339 UTC with exactly three (truncated) fractional digits,
// "2020-05-06T10:11:12.345Z".
std::string FnDateTime(absl::Time t);

// The compact JSON fn's LB (Go's encoding/json) sends: keys in fn's struct order, zero values
// omitted where fn omits them, map keys sorted, <, > and & escaped as \u003c etc., invalid
// UTF-8 replaced by U+FFFD, status "running", completed_at fn's zero time.
std::string CallModelJson(const LbCall& call);

// The slot key our LB sends as TryCall.slot_hash_id: the lowercase hex of SHA-256 over fn's
// slot-key layout (agent/slot_key.h HashSlotKey): app_id, syslog_url, fn_id, image (each
// NUL-terminated), timeout, idle_timeout, tmpfs_size (LE uint32), memory, cpus (LE uint64), NUL,
// EffectiveConfig sorted (key NUL value NUL), NUL, annotations sorted (key NUL json NUL).
//
// Contract (proto/capacity.proto): a runner keys warm containers by the hex-decoded bytes of
// a non-empty slot_hash_id verbatim and reports each slot in CapacitySnapshot.slots[].slot_key
// as the lowercase hex of those bytes, so this string is also how the capacity placer finds a
// call's warm containers. Because it is the very key our runner computes when slot_hash_id is
// empty, calls sent by a stock fn LB (which sends "") share containers with ours. Any stable
// hash would do for the contract alone; it must cover everything baked into a container, as
// this does, since equal keys share containers.
std::string SlotHashId(const LbCall& call);

}  // namespace fnrunner
