#pragma once

// What the fnlb subcommands share: the runner list, TLS, the pool and the placer.

#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "lb-client/cli_args.h"
#include "lb-client/placer.h"
#include "lb-client/runner_pool.h"

namespace fnrunner {

class Clock;

// Value flags every subcommand accepts: --runners, --runners-file, --tls-ca, --tls-cert,
// --tls-key, --tls-server-name, --placer, --placer-timeout, --seed. Boolean: --tls.
absl::flat_hash_set<std::string> CommonValueFlags();
absl::flat_hash_set<std::string> CommonBoolFlags();
// Help text for the flags above.
std::string CommonFlagsHelp();

// --runners a:1,b:2 and/or --runners-file F. InvalidArgument if neither gives a runner.
absl::StatusOr<std::vector<std::string>> RunnerAddresses(const CliArgs& args);
// --tls (implied by any --tls-* flag), --tls-ca, --tls-cert, --tls-key (PEM files),
// --tls-server-name.
absl::StatusOr<ChannelOptions> ChannelOptionsFrom(const CliArgs& args);

// A pool of `addresses`, probed once and (with `watch_capacity`) subscribed, waiting at most
// 2 s for the first reports so the first call sees them.
absl::StatusOr<std::unique_ptr<RunnerPool>> StartPool(const std::vector<std::string>& addresses,
                                                      const ChannelOptions& channel,
                                                      bool watch_capacity);

// "naive", "ch" (or "consistent-hash") or "capacity" (or "capacity-aware"). `placer_timeout`
// bounds the search (the capacity placer's budget); `seed` its jitter.
absl::StatusOr<std::unique_ptr<Placer>> MakePlacer(absl::string_view name, RunnerPool& pool,
                                                   Clock& clock, absl::Duration placer_timeout,
                                                   uint64_t seed);

}  // namespace fnrunner
