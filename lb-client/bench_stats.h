#pragma once

// What `fnlb bench` measures per call and reports per placer.

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/time/time.h"

namespace fnrunner {

struct CallRecord {
  absl::Duration latency;  // client-visible: from the scheduled start to the answer
  int http_status = 0;     // the LB's answer (runner-protocol.md §9.5)
  int attempts = 0;
  int nacks = 0;           // attempts refused with 503 (retries due to 503)
  int connection_errors = 0;
  bool cold = false;       // served by a container started for it
  std::string tier;        // capacity placer's tier
  std::string runner;      // "" if not placed
  std::string error;       // the error's message, for calls that failed
  int function = 0;
  bool burst = false;
};

struct BenchSummary {
  std::string placer;
  int64_t calls = 0;
  int64_t ok = 0;  // 2xx
  double calls_per_second = 0;
  double p50_ms = 0, p90_ms = 0, p99_ms = 0, max_ms = 0;
  int64_t attempts = 0;
  int64_t nacks = 0;
  int64_t connection_errors = 0;
  int64_t cold_starts = 0;
  std::map<int, int64_t> errors_by_status;  // client-visible answers >= 400 (and 200 errors)
  std::map<int, std::string> error_examples;  // the first message seen per status
  std::map<std::string, int64_t> tiers;
  std::map<std::string, int64_t> calls_by_runner;
  // Locality: mean number of distinct runners that served each function.
  double runners_per_function = 0;
  double elapsed_seconds = 0;
};

// Summarises `records` of a run that took `elapsed`.
BenchSummary Summarize(const std::string& placer, const std::vector<CallRecord>& records,
                       absl::Duration elapsed);
// One line of JSON.
std::string SummaryJson(const BenchSummary& summary);
// A human-readable block.
std::string SummaryText(const BenchSummary& summary);

}  // namespace fnrunner
