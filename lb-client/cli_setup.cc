#include "lb-client/cli_setup.h"

#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "base/clock.h"
#include "lb-client/capacity_placer.h"

namespace fnrunner {
namespace {

absl::StatusOr<std::string> ReadFile(const std::string& path, absl::string_view flag) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::InvalidArgumentError(absl::StrCat("--", flag, ": cannot read ", path));
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace

absl::flat_hash_set<std::string> CommonValueFlags() {
  return {"runners",  "runners-file",    "tls-ca", "tls-cert", "tls-key", "tls-server-name",
          "placer",   "placer-timeout",  "seed"};
}

absl::flat_hash_set<std::string> CommonBoolFlags() { return {"tls", "json", "help"}; }

std::string CommonFlagsHelp() {
  return R"(  --runners HOST:PORT[,...]   runners to use (and/or --runners-file F, one per line)
  --placer NAME               naive (fn's default), ch (fn's consistent hash) or capacity
  --placer-timeout S          give up placing after S seconds (default 360 naive/ch, 30 capacity)
  --tls, --tls-ca F, --tls-cert F, --tls-key F, --tls-server-name N
                              TLS to the runners; --tls-cert/--tls-key for mutual TLS
  --seed N                    seed for ids and jitter (default 1)
  --json                      machine-readable output
)";
}

absl::StatusOr<std::vector<std::string>> RunnerAddresses(const CliArgs& args) {
  std::vector<std::string> out;
  for (const std::string& list : args.GetAll("runners")) {
    absl::StatusOr<std::vector<std::string>> parsed = ParseRunnerList(list);
    if (!parsed.ok()) return parsed.status();
    out.insert(out.end(), parsed->begin(), parsed->end());
  }
  if (std::optional<std::string> file = args.Get("runners-file")) {
    absl::StatusOr<std::vector<std::string>> parsed = ReadRunnerFile(*file);
    if (!parsed.ok()) return parsed.status();
    out.insert(out.end(), parsed->begin(), parsed->end());
  }
  if (out.empty()) return absl::InvalidArgumentError("no runners: give --runners or --runners-file");
  return out;
}

absl::StatusOr<ChannelOptions> ChannelOptionsFrom(const CliArgs& args) {
  ChannelOptions options;
  options.tls = args.Has("tls") || args.Has("tls-ca") || args.Has("tls-cert") ||
                args.Has("tls-key") || args.Has("tls-server-name");
  const struct {
    const char* flag;
    std::string* pem;
  } files[] = {{"tls-ca", &options.tls_root_certs_pem},
               {"tls-cert", &options.tls_client_cert_pem},
               {"tls-key", &options.tls_client_key_pem}};
  for (const auto& f : files) {
    if (std::optional<std::string> path = args.Get(f.flag)) {
      absl::StatusOr<std::string> pem = ReadFile(*path, f.flag);
      if (!pem.ok()) return pem.status();
      *f.pem = *std::move(pem);
    }
  }
  if (args.Has("tls-cert") != args.Has("tls-key")) {
    return absl::InvalidArgumentError("--tls-cert and --tls-key go together");
  }
  options.tls_server_name = args.GetOr("tls-server-name", "");
  return options;
}

absl::StatusOr<std::unique_ptr<RunnerPool>> StartPool(const std::vector<std::string>& addresses,
                                                      const ChannelOptions& channel,
                                                      bool watch_capacity) {
  RunnerPoolOptions options;
  options.channel = channel;
  options.watch_capacity = watch_capacity;
  auto pool = std::make_unique<RunnerPool>(options);
  for (const std::string& address : addresses) {
    if (absl::Status added = pool->Add(address); !added.ok()) return added;
  }
  pool->Tick();
  pool->AwaitFirstReports(absl::Now() + absl::Seconds(2));
  return pool;
}

absl::StatusOr<std::unique_ptr<Placer>> MakePlacer(absl::string_view name, RunnerPool& pool,
                                                   Clock& clock, absl::Duration placer_timeout,
                                                   uint64_t seed) {
  if (name == "naive" || name == "ch" || name == "consistent-hash") {
    PlacerOptions options;
    options.placer_timeout = placer_timeout;
    return name == "naive" ? MakeNaivePlacer(pool, clock, options)
                           : MakeConsistentHashPlacer(pool, options);
  }
  if (name == "capacity" || name == "capacity-aware") {
    CapacityPlacerOptions options;
    options.budget = placer_timeout;
    options.seed = seed;
    return std::unique_ptr<Placer>(std::make_unique<CapacityPlacer>(pool, options));
  }
  return absl::InvalidArgumentError(
      absl::StrCat("--placer: \"", name, "\" is not naive, ch or capacity"));
}

}  // namespace fnrunner
