#include "lb-client/bench_command.h"

#include <iostream>
#include <memory>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "base/clock.h"
#include "base/status_macros.h"
#include "lb-client/bench_load.h"
#include "lb-client/call_id.h"
#include "lb-client/cli_setup.h"
#include "lb-client/direct_socket.h"
#include "lb-client/http_answer.h"
#include "lb-client/json_output.h"

namespace fnrunner {
namespace {

constexpr char kUsage[] = R"(usage: fnlb bench --runners HOST:PORT[,...] [flags]
       fnlb bench --direct-socket PATH [flags]
Generates a seeded load and reports calls/s, latency, NACKs, errors and cold starts.
  --placer A[,B...]           placers to compare, one run each (default naive,ch,capacity);
                              with several, each run uses its own function ids
  --concurrency N             closed loop: N calls in flight (default 8)
  --think S                   closed loop: each caller waits S seconds after every answer
                              (default 0; e.g. 0.3 makes each call find a frozen container)
  --rate R                    open loop instead: Poisson arrivals, R calls/s
  --max-inflight N            open loop worker threads (default 256)
  --duration S                seconds of load (default 10); --warmup S not recorded (default 0)
  --functions K               distinct functions (fn ids) (default 10)
  --zipf S                    popularity exponent, 0 = uniform (default 1.0)
  --burst N@S[/F]             N calls at once at S seconds, of function F (repeatable)
  --body-bytes B              request body size (default 64)
  --image IMAGE               (default fn-test/fdk:latest); --memory MB (default 128)
  --timeout S, --idle-timeout S  function timeout and idle timeout (default 30, 30)
  --header NAME:VALUE         request header for every call (repeatable)
  --app-id ID, --fn-prefix P  ids (default bench-app, bench-fn-)
  --pause S                   seconds between placer runs (default 0)
  --direct-socket PATH        call a hot function's socket directly (POST /call), no runner
)";

struct BenchSetup {
  std::vector<std::string> placers;
  std::vector<std::string> runners;
  ChannelOptions channel;
  absl::Duration placer_timeout;
  LoadOptions load;
  int functions = 10;
  double zipf = 1.0;
  std::string body;
  LbCall call;  // the template: image, memory, timeouts, headers, app
  std::string fn_prefix;
  absl::Duration pause;
  std::string direct_socket;
  bool json = false;
};

absl::StatusOr<BenchSetup> ParseBenchFlags(const CliArgs& args) {
  BenchSetup s;
  s.direct_socket = args.GetOr("direct-socket", "");
  if (s.direct_socket.empty()) {
    ASSIGN_OR_RETURN(s.runners, RunnerAddresses(args));
  }
  ASSIGN_OR_RETURN(s.channel, ChannelOptionsFrom(args));
  s.placers = absl::StrSplit(args.GetOr("placer", "naive,ch,capacity"), ',', absl::SkipEmpty());
  ASSIGN_OR_RETURN(s.placer_timeout, args.GetSeconds("placer-timeout", absl::Seconds(30)));
  ASSIGN_OR_RETURN(int64_t concurrency, args.GetInt("concurrency", 8, 1));
  ASSIGN_OR_RETURN(s.load.rate, args.GetDouble("rate", 0));
  ASSIGN_OR_RETURN(s.load.think, args.GetSeconds("think", absl::ZeroDuration()));
  ASSIGN_OR_RETURN(int64_t inflight, args.GetInt("max-inflight", 256, 1));
  ASSIGN_OR_RETURN(s.load.duration, args.GetSeconds("duration", absl::Seconds(10)));
  ASSIGN_OR_RETURN(s.load.warmup, args.GetSeconds("warmup", absl::ZeroDuration()));
  ASSIGN_OR_RETURN(int64_t functions, args.GetInt("functions", 10, 1));
  ASSIGN_OR_RETURN(s.zipf, args.GetDouble("zipf", 1.0));
  ASSIGN_OR_RETURN(int64_t body_bytes, args.GetInt("body-bytes", 64));
  ASSIGN_OR_RETURN(int64_t seed, args.GetInt("seed", 1));
  ASSIGN_OR_RETURN(int64_t memory, args.GetInt("memory", 128));
  ASSIGN_OR_RETURN(absl::Duration timeout, args.GetSeconds("timeout", absl::Seconds(30)));
  ASSIGN_OR_RETURN(absl::Duration idle, args.GetSeconds("idle-timeout", absl::Seconds(30)));
  ASSIGN_OR_RETURN(s.pause, args.GetSeconds("pause", absl::ZeroDuration()));
  s.load.concurrency = static_cast<int>(concurrency);
  s.load.max_inflight = static_cast<int>(inflight);
  s.load.seed = static_cast<uint64_t>(seed);
  s.functions = static_cast<int>(functions);
  s.body.assign(static_cast<size_t>(body_bytes), 'x');
  const ZipfSampler zipf(s.functions, s.zipf);
  std::mt19937_64 burst_gen(s.load.seed ^ 0x6275727374ULL);  // "burst"
  for (const std::string& spec : args.GetAll("burst")) {
    ASSIGN_OR_RETURN(Burst burst, ParseBurst(spec, s.functions));
    if (burst.function < 0) burst.function = zipf.Sample(burst_gen);
    s.load.bursts.push_back(burst);
  }
  s.call.image = args.GetOr("image", "fn-test/fdk:latest");
  s.call.memory_mb = static_cast<uint64_t>(memory);
  s.call.timeout = timeout;
  s.call.idle_timeout = idle;
  s.call.app_id = args.GetOr("app-id", "bench-app");
  s.call.app_name = s.call.app_id;
  for (const std::string& header : args.GetAll("header")) {
    std::pair<std::string, std::string> kv = absl::StrSplit(header, absl::MaxSplits(':', 1));
    if (header.find(':') == std::string::npos || kv.first.empty()) {
      return absl::InvalidArgumentError(absl::StrCat("--header \"", header, "\" is not NAME:VALUE"));
    }
    s.call.headers[kv.first].push_back(std::string(absl::StripLeadingAsciiWhitespace(kv.second)));
  }
  s.fn_prefix = args.GetOr("fn-prefix", "bench-fn-");
  s.json = args.Has("json");
  return s;
}

// The calls of one placer run: the template per function, with its slot key.
std::vector<CallRequest> Functions(const BenchSetup& s, const std::string& prefix) {
  std::vector<CallRequest> out;
  for (int f = 0; f < s.functions; ++f) {
    CallRequest request;
    request.call = s.call;
    request.call.fn_id = absl::StrCat(prefix, f);
    request.call.url = absl::StrCat("http://fnlb/invoke/", request.call.fn_id);
    request.slot_hash_id = SlotHashId(request.call);
    request.body = s.body;
    out.push_back(std::move(request));
  }
  return out;
}

BenchSummary RunPlacer(const BenchSetup& s, Placer& placer, const std::string& prefix) {
  const std::vector<CallRequest> functions = Functions(s, prefix);
  CallIdGenerator ids(s.load.seed);
  const WorkerFactory factory = [&]() -> CallFn {
    return [&](int f) {
      CallRequest request = functions[f];
      const absl::Time now = absl::Now();
      request.call.id = ids.Next(now);
      request.call.created_at = request.call.started_at = now;
      BufferingSink sink;
      const PlacementResult result = placer.Place(
          request, sink, now + s.placer_timeout + request.call.timeout + absl::Minutes(1));
      CallRecord record;
      record.http_status = LbAnswer(result, sink, request.call.id).status;
      // fn's quirk answers a code-0 runner error with 200; count it as the error it is.
      if (result.placed && !result.status.ok() && record.http_status == 200) record.http_status = 0;
      record.attempts = result.attempts;
      record.nacks = result.nacks;
      record.connection_errors = result.errors;
      record.cold = IsColdStart(result);
      record.tier = result.tier;
      record.runner = result.runner;
      if (!result.status.ok()) record.error = std::string(result.status.message());
      return record;
    };
  };
  const ZipfSampler zipf(s.functions, s.zipf);
  const LoadResult load = RunLoad(s.load, zipf, factory);
  return Summarize(std::string(placer.name()), load.records, load.elapsed);
}

BenchSummary RunDirectSocket(const BenchSetup& s) {
  CallIdGenerator ids(s.load.seed);
  const WorkerFactory factory = [&]() -> CallFn {
    // Each worker keeps its own connection, reconnecting after a failure.
    auto client = std::make_shared<std::optional<DirectSocketClient>>();
    return [&, client](int) {
      CallRecord record;
      if (!client->has_value()) {
        absl::StatusOr<DirectSocketClient> connected = DirectSocketClient::Connect(s.direct_socket);
        if (!connected.ok()) {
          record.http_status = 502;
          record.error = std::string(connected.status().message());
          return record;
        }
        client->emplace(*std::move(connected));
      }
      absl::StatusOr<int> status =
          (*client)->Post(s.body, ids.Next(absl::Now()), s.call.timeout);
      if (!status.ok()) {
        client->reset();
        record.http_status = 502;
        record.error = std::string(status.status().message());
        return record;
      }
      record.http_status = *status;
      record.attempts = 1;
      return record;
    };
  };
  const ZipfSampler zipf(1, 0);
  const LoadResult load = RunLoad(s.load, zipf, factory);
  return Summarize("direct-socket", load.records, load.elapsed);
}

}  // namespace

int RunBenchCommand(const std::vector<std::string>& argv, std::ostream& out, std::ostream& err) {
  absl::flat_hash_set<std::string> value_flags = CommonValueFlags();
  value_flags.insert({"concurrency", "rate", "max-inflight", "duration", "warmup", "functions",
                      "zipf", "burst", "body-bytes", "image", "memory", "timeout",
                      "idle-timeout", "header", "app-id", "fn-prefix", "pause", "direct-socket",
                      "think"});
  absl::StatusOr<CliArgs> args = CliArgs::Parse(argv, value_flags, CommonBoolFlags());
  if (args.ok() && args->Has("help")) {
    out << kUsage << CommonFlagsHelp();
    return 0;
  }
  absl::StatusOr<BenchSetup> setup = args.ok() ? ParseBenchFlags(*args) : args.status();
  if (!setup.ok()) {
    err << "fnlb bench: " << setup.status().message() << "\n" << kUsage;
    return 2;
  }
  const auto report = [&](const BenchSummary& summary) {
    out << (setup->json ? SummaryJson(summary) + "\n" : SummaryText(summary)) << std::flush;
  };
  if (!setup->direct_socket.empty()) {
    report(RunDirectSocket(*setup));
    return 0;
  }
  for (size_t i = 0; i < setup->placers.size(); ++i) {
    const std::string& name = setup->placers[i];
    const bool capacity = name == "capacity" || name == "capacity-aware";
    absl::StatusOr<std::unique_ptr<RunnerPool>> pool =
        StartPool(setup->runners, setup->channel, /*watch_capacity=*/capacity);
    absl::StatusOr<std::unique_ptr<Placer>> placer =
        pool.ok() ? MakePlacer(name, **pool, Clock::Real(), setup->placer_timeout,
                               setup->load.seed)
                  : pool.status();
    if (!placer.ok()) {
      err << "fnlb bench: " << placer.status().message() << "\n";
      return 2;
    }
    const std::string prefix =
        setup->placers.size() > 1 ? absl::StrCat(setup->fn_prefix, name, "-") : setup->fn_prefix;
    report(RunPlacer(*setup, **placer, prefix));
    if (i + 1 < setup->placers.size()) absl::SleepFor(setup->pause);
  }
  return 0;
}

}  // namespace fnrunner
