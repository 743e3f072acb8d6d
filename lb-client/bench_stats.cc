#include "lb-client/bench_stats.h"

#include <algorithm>
#include <cmath>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "nlohmann/json.hpp"

namespace fnrunner {
namespace {

// Nearest-rank percentile of sorted values.
double Percentile(const std::vector<double>& sorted, double p) {
  if (sorted.empty()) return 0;
  const size_t rank = static_cast<size_t>(std::ceil(p / 100.0 * sorted.size()));
  return sorted[std::clamp<size_t>(rank, 1, sorted.size()) - 1];
}

}  // namespace

BenchSummary Summarize(const std::string& placer, const std::vector<CallRecord>& records,
                       absl::Duration elapsed) {
  BenchSummary s;
  s.placer = placer;
  s.calls = static_cast<int64_t>(records.size());
  s.elapsed_seconds = absl::ToDoubleSeconds(elapsed);
  std::vector<double> latencies;
  latencies.reserve(records.size());
  std::map<int, std::set<std::string>> runners_of_function;
  for (const CallRecord& r : records) {
    latencies.push_back(absl::ToDoubleMilliseconds(r.latency));
    s.attempts += r.attempts;
    s.nacks += r.nacks;
    s.connection_errors += r.connection_errors;
    if (r.cold) ++s.cold_starts;
    if (r.http_status >= 200 && r.http_status < 300) {
      ++s.ok;
    } else {
      ++s.errors_by_status[r.http_status];
      s.error_examples.emplace(r.http_status, r.error);
    }
    if (!r.tier.empty()) ++s.tiers[r.tier];
    if (!r.runner.empty()) {
      ++s.calls_by_runner[r.runner];
      runners_of_function[r.function].insert(r.runner);
    }
  }
  std::sort(latencies.begin(), latencies.end());
  s.p50_ms = Percentile(latencies, 50);
  s.p90_ms = Percentile(latencies, 90);
  s.p99_ms = Percentile(latencies, 99);
  s.max_ms = latencies.empty() ? 0 : latencies.back();
  s.calls_per_second = s.elapsed_seconds > 0 ? s.calls / s.elapsed_seconds : 0;
  double spread = 0;
  for (const auto& [function, runners] : runners_of_function) spread += runners.size();
  s.runners_per_function =
      runners_of_function.empty() ? 0 : spread / runners_of_function.size();
  return s;
}

std::string SummaryJson(const BenchSummary& s) {
  nlohmann::ordered_json j;
  j["placer"] = s.placer;
  j["calls"] = s.calls;
  j["ok"] = s.ok;
  j["calls_per_second"] = s.calls_per_second;
  j["latency_ms"] = {{"p50", s.p50_ms}, {"p90", s.p90_ms}, {"p99", s.p99_ms}, {"max", s.max_ms}};
  j["attempts"] = s.attempts;
  j["nacks"] = s.nacks;
  j["connection_errors"] = s.connection_errors;
  j["cold_starts"] = s.cold_starts;
  nlohmann::ordered_json errors = nlohmann::ordered_json::object();
  for (const auto& [status, count] : s.errors_by_status) errors[absl::StrCat(status)] = count;
  j["errors_by_status"] = std::move(errors);
  nlohmann::ordered_json examples = nlohmann::ordered_json::object();
  for (const auto& [status, message] : s.error_examples) examples[absl::StrCat(status)] = message;
  j["error_examples"] = std::move(examples);
  j["tiers"] = s.tiers;
  j["calls_by_runner"] = s.calls_by_runner;
  j["runners_per_function"] = s.runners_per_function;
  j["elapsed_seconds"] = s.elapsed_seconds;
  return j.dump();
}

std::string SummaryText(const BenchSummary& s) {
  std::string out = absl::StrFormat(
      "placer %s: %d calls (%d ok) in %.1f s = %.1f calls/s\n"
      "  latency ms: p50 %.1f  p90 %.1f  p99 %.1f  max %.1f\n"
      "  attempts %d, NACKs %d, connection errors %d, cold starts %d, runners/function %.2f\n",
      s.placer, s.calls, s.ok, s.elapsed_seconds, s.calls_per_second, s.p50_ms, s.p90_ms,
      s.p99_ms, s.max_ms, s.attempts, s.nacks, s.connection_errors, s.cold_starts,
      s.runners_per_function);
  if (!s.errors_by_status.empty()) {
    absl::StrAppend(&out, "  client-visible errors:");
    for (const auto& [status, count] : s.errors_by_status) {
      absl::StrAppend(&out, " ", status, "x", count, " (\"", s.error_examples.at(status), "\")");
    }
    absl::StrAppend(&out, "\n");
  }
  if (!s.tiers.empty()) {
    absl::StrAppend(&out, "  tiers:");
    for (const auto& [tier, count] : s.tiers) absl::StrAppend(&out, " ", tier, "=", count);
    absl::StrAppend(&out, "\n");
  }
  return out;
}

}  // namespace fnrunner
