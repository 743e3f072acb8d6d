#pragma once

// The command line of one fnlb subcommand: --name=value or --name value for value flags,
// --name alone for boolean flags. Flags may repeat; no positional arguments.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace fnrunner {

class CliArgs {
 public:
  // InvalidArgument for an unknown flag, a value flag without a value, a value given to a
  // boolean flag, or a positional argument.
  static absl::StatusOr<CliArgs> Parse(const std::vector<std::string>& args,
                                       const absl::flat_hash_set<std::string>& value_flags,
                                       const absl::flat_hash_set<std::string>& bool_flags);

  bool Has(absl::string_view name) const;
  // The last value given, if any.
  std::optional<std::string> Get(absl::string_view name) const;
  std::string GetOr(absl::string_view name, absl::string_view fallback) const;
  // Every value, in order.
  std::vector<std::string> GetAll(absl::string_view name) const;
  // The last value as a number; `fallback` if absent. InvalidArgument naming the flag if it
  // is not one, or below `min`.
  absl::StatusOr<int64_t> GetInt(absl::string_view name, int64_t fallback, int64_t min = 0) const;
  absl::StatusOr<double> GetDouble(absl::string_view name, double fallback, double min = 0) const;
  // Seconds, possibly fractional ("2.5").
  absl::StatusOr<absl::Duration> GetSeconds(absl::string_view name, absl::Duration fallback) const;

 private:
  std::map<std::string, std::vector<std::string>, std::less<>> values_;
};

}  // namespace fnrunner
