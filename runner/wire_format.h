#pragma once

// Builders for the RunnerMsgs fn's LB expects (runner-protocol.md §1.2, §2.2, §4) and fn's
// date format (§3.1). Pure functions.

#include <optional>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "agent/agent.h"
#include "agent/fn_errors.h"
#include "proto/runner.pb.h"

namespace fnrunner {

// True unless `t` is the Unix epoch (a default absl::Time) or InfinitePast ("never").
inline bool IsSet(absl::Time t) { return t != absl::Time() && t != absl::InfinitePast(); }

// fn's DateTime: RFC 3339 in UTC with exactly three (truncated) fractional digits,
// "2020-05-06T10:11:12.345Z"; "" for an unset time.
std::string FormatFnDate(absl::Time t);

// Removes hop-by-hop headers (Connection, Proxy-Connection, Keep-Alive, Proxy-Authenticate,
// Proxy-Authorization, Trailer, Transfer-Encoding, Upgrade, and Te unless it is exactly
// "trailers"), comparing names case-insensitively.
std::vector<HttpHeaderField> StripHopByHop(std::vector<HttpHeaderField> headers);

// result_start{http{status_code, headers}}, one HttpHeader per field, in order.
RunnerMsg ResultStartMsg(int status, const std::vector<HttpHeaderField>& headers);

// data{data} with eof false, as fn sends output.
RunnerMsg DataMsg(absl::string_view data);

// Everything CallFinished reports about one call.
struct FinishedFields {
  std::string call_id;          // "" when fn had no call object yet
  std::string image;
  absl::Time created_at;        // unset: ""
  absl::Time started_at = absl::InfinitePast();    // never started: "" and no durations
  absl::Time completed_at = absl::InfinitePast();  // started but unset: "now"
  absl::Duration scheduler;
  absl::Duration execution;
  absl::Duration image_pull_wait;
  absl::Duration container_create;
  absl::Duration init_start;
  std::optional<FnError> error;  // nullopt: success
};

// finished{...} with every field as fn computes it (§4): dates only when the call started
// (completedAt "now" if it did not complete), durations in nanoseconds, ctrPrepDuration 0.
RunnerMsg FinishedMsg(const FinishedFields& fields, absl::Time now);

}  // namespace fnrunner
