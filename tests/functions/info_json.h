#pragma once

// The body of an `Fn-Test-Mode: info` answer: a JSON description of the request and of the
// process environment, so tests can check exactly what the agent sent to the container.

#include <cstdint>
#include <string>

#include "tests/functions/http_io.h"

namespace fnrunner::fdktest {

// Returns {"method","path","headers":{Canonical-Name:[values]},"env":{..},"call_id",
// "deadline","body_bytes"}. Header names are canonicalized as Go's net/http does
// ("fn-call-id" -> "Fn-Call-Id") and keys are sorted, so the output is deterministic.
// Bytes that are not valid UTF-8 become U+FFFD, so the output is always valid JSON.
std::string InfoJson(const RequestHead& head, uint64_t body_bytes);

}  // namespace fnrunner::fdktest
