#pragma once

// JSON for fnlb's --json output.

#include <string>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "lb-client/http_answer.h"
#include "lb-client/placer.h"

namespace fnrunner {

bool IsValidUtf8(absl::string_view text);

// True if the committed call was served by a new container: its CallFinished reports a
// container creation or a function init time.
bool IsColdStart(const PlacementResult& result);

// `fnlb call --json`: one compact JSON object with status, headers (name -> [values]), body
// (or body_base64 when it is not UTF-8), error (null, or {code, message}), call_id, placer,
// runner, tier, attempts, nacks, connection_errors, cold, and timings in milliseconds (total,
// placer, scheduler, execution, image_pull, container_create, init).
std::string CallResultJson(const HttpAnswer& answer, const PlacementResult& result,
                           absl::string_view call_id, absl::string_view placer,
                           absl::Duration total);

}  // namespace fnrunner
