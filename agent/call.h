#pragma once

// fn's call model as the LB sends it (TryCall.models_call_json, runner-protocol.md §3) and
// the admission checks the runner makes before accepting a call (§2.3 step [B]).

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "agent/capacity.h"
#include "base/ids.h"

namespace fnrunner {

enum class CallType { kSync, kDetached };

// One user request header: a name and all of its values (Go's http.Header entry).
struct CallHeader {
  std::string name;
  std::vector<std::string> values;  // in the order the LB sent them
  friend bool operator==(const CallHeader&, const CallHeader&) = default;
};

// One call, as fn's LB describes it. The LB's status, delay, payload, dates, stats, error and
// execution_duration are checked for type (as fn does) and then dropped: the runner keeps its
// own clock. A plain value; copy freely.
struct Call {
  CallId id;
  std::string app_id;
  std::string app_name;
  std::string fn_id;
  std::string trigger_id;
  std::string image;
  CallType type = CallType::kSync;                 // fn treats anything but "detached" as sync
  absl::Duration timeout;                          // per execution, counted from slot acquisition
  absl::Duration idle_timeout;                     // how long a hot container may stay idle
  uint64_t memory_mb = 0;                          // container limit; 0 = no limit
  uint32_t tmpfs_size_mb = 0;                      // size of /tmp; also reserved as memory
  uint64_t milli_cpus = 0;                         // CFS quota; 0 = unlimited
  std::map<std::string, std::string> config;       // the container environment
  std::map<std::string, std::string> annotations;  // value: its compact JSON text
  std::vector<CallHeader> headers;                 // the user's request headers, as sent
  std::string method;
  std::string url;
  std::string syslog_url;  // "" = container logs are discarded
  // TryCall.slot_hash_id, which is not in the JSON (ParseCall leaves it empty): the runner
  // copies it in. Hex; when not empty it replaces the computed key (agent/slot_key.h).
  std::string slot_hash_id;
  // TryCall.extensions, also copied in by the runner. The agent reads FN_REGISTRY_TOKEN (a
  // registry token for image pulls); the rest is opaque.
  std::map<std::string, std::string> extensions;

  // What a container for this call holds for its whole life: memory_mb + tmpfs_size_mb MiB
  // and milli_cpus. Memory saturates at UINT64_MAX instead of wrapping, so absurd values fail
  // CheckFits rather than looking tiny (fn's bug: memory x 2^20 overflowed).
  Resources Reservation() const;
};

// fn's errorStr texts for the admission failures that are API errors (errorCode 400).
inline constexpr absl::string_view kInvalidJsonMessage = "Invalid JSON";
inline constexpr absl::string_view kInvalidCpusMessage =
    "Cpus is invalid. Value should be either between [0.000 and 1024.000] or [0m and "
    "1024000m] milliCPU units";
inline constexpr absl::string_view kResourceTooBigMessage =
    "Requested CPU/Memory cannot be allocated";

// Admission errors carry fn's errorCode (what fn puts in CallFinished.errorCode) as a status
// payload under this type URL, so the runner never parses messages. No payload means fn's
// errorCode 0 (not an API error; the status message is then fn's errorStr as well).
inline constexpr absl::string_view kFnErrorCodePayloadUrl = "type.fnrunner/fn_error_code";

// The errorCode carried by `status`, or 0 if it carries none.
int FnErrorCode(const absl::Status& status);

// Decodes models_call_json the way fn's Go decoder does: unknown keys ignored, key matching
// case-insensitive (ASCII), null treated as absent, integers checked against their Go types.
// Every failure is InvalidArgument; which fn error it is (checked in this order, as Go does):
//
// | failure                                   | message                        | errorCode |
// |-------------------------------------------|--------------------------------|-----------|
// | not JSON                                  | the JSON library's message     | 0         |
// | cpus neither a string nor null            | kInvalidJsonMessage            | 400       |
// | cpus not "<int>m" or a decimal, or > 1024 | kInvalidCpusMessage            | 400       |
// | not an object; a known field of the wrong | "json: cannot unmarshal <what> | 0         |
// | type or out of its Go type's range (the   |  into Go struct field          |           |
// | first one in document order)              |  Call.<field> of type <type>"  |           |
//
// Does not check the image against a status image or detached support: runner policy.
absl::StatusOr<Call> ParseCall(absl::string_view json);

// fn's feasibility check (GetCall step 3): the call's Reservation() must fit in `total`, the
// machine's capacity, even with nothing else running. FailedPrecondition (never retry on this
// runner; distinct from ParseCall's InvalidArgument) with kResourceTooBigMessage and
// errorCode 400 when memory + tmpfs or CPU exceeds it.
absl::Status CheckFits(const Call& call, const Resources& total);

}  // namespace fnrunner
