#include "lb-client/cli_args.h"

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace fnrunner {

absl::StatusOr<CliArgs> CliArgs::Parse(const std::vector<std::string>& args,
                                       const absl::flat_hash_set<std::string>& value_flags,
                                       const absl::flat_hash_set<std::string>& bool_flags) {
  CliArgs out;
  for (size_t i = 0; i < args.size(); ++i) {
    absl::string_view arg = args[i];
    if (!absl::StartsWith(arg, "--")) {
      return absl::InvalidArgumentError(absl::StrCat("unexpected argument \"", arg, "\""));
    }
    arg.remove_prefix(2);
    std::string name(arg.substr(0, arg.find('=')));
    const bool inline_value = arg.find('=') != absl::string_view::npos;
    if (bool_flags.contains(name)) {
      if (inline_value) return absl::InvalidArgumentError(absl::StrCat("--", name, " takes no value"));
      out.values_[name].push_back("true");
      continue;
    }
    if (!value_flags.contains(name)) {
      return absl::InvalidArgumentError(absl::StrCat("unknown flag --", name));
    }
    if (inline_value) {
      out.values_[name].push_back(std::string(arg.substr(arg.find('=') + 1)));
    } else if (i + 1 < args.size()) {
      out.values_[name].push_back(args[++i]);
    } else {
      return absl::InvalidArgumentError(absl::StrCat("--", name, " needs a value"));
    }
  }
  return out;
}

bool CliArgs::Has(absl::string_view name) const { return values_.find(name) != values_.end(); }

std::optional<std::string> CliArgs::Get(absl::string_view name) const {
  auto it = values_.find(name);
  if (it == values_.end()) return std::nullopt;
  return it->second.back();
}

std::string CliArgs::GetOr(absl::string_view name, absl::string_view fallback) const {
  std::optional<std::string> value = Get(name);
  return value ? *value : std::string(fallback);
}

std::vector<std::string> CliArgs::GetAll(absl::string_view name) const {
  auto it = values_.find(name);
  return it == values_.end() ? std::vector<std::string>() : it->second;
}

absl::StatusOr<int64_t> CliArgs::GetInt(absl::string_view name, int64_t fallback,
                                        int64_t min) const {
  std::optional<std::string> value = Get(name);
  if (!value) return fallback;
  int64_t out = 0;
  if (!absl::SimpleAtoi(*value, &out) || out < min) {
    return absl::InvalidArgumentError(
        absl::StrCat("--", name, ": \"", *value, "\" is not an integer >= ", min));
  }
  return out;
}

absl::StatusOr<double> CliArgs::GetDouble(absl::string_view name, double fallback,
                                          double min) const {
  std::optional<std::string> value = Get(name);
  if (!value) return fallback;
  double out = 0;
  if (!absl::SimpleAtod(*value, &out) || !(out >= min)) {
    return absl::InvalidArgumentError(
        absl::StrCat("--", name, ": \"", *value, "\" is not a number >= ", min));
  }
  return out;
}

absl::StatusOr<absl::Duration> CliArgs::GetSeconds(absl::string_view name,
                                                   absl::Duration fallback) const {
  if (!Has(name)) return fallback;
  absl::StatusOr<double> seconds = GetDouble(name, 0);
  if (!seconds.ok()) return seconds.status();
  return absl::Seconds(*seconds);
}

}  // namespace fnrunner
