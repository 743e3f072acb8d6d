#include "lb-client/call_command.h"

#include <fstream>
#include <iostream>
#include <iterator>
#include <sstream>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "base/clock.h"
#include "base/status_macros.h"
#include "lb-client/call_id.h"
#include "lb-client/cli_setup.h"
#include "lb-client/http_answer.h"
#include "lb-client/json_output.h"

namespace fnrunner {
namespace {

constexpr char kUsage[] = R"(usage: fnlb call --runners HOST:PORT[,...] --image IMAGE [flags]
Runs one call on a runner, as fn's LB would, and prints the answer.
  --image IMAGE               function image (required)
  --memory MB                 memory limit (default 128)
  --timeout S                 function timeout in seconds (default 30)
  --idle-timeout S            hot container idle timeout in seconds (default 30)
  --cpus MILLICPUS            CPU limit in mCPU (default 0: unlimited)
  --fn-id ID, --app-id ID     function and app ids (default fnlb-fn, fnlb-app)
  --header NAME:VALUE         request header (repeatable)
  --config NAME=VALUE         function configuration (repeatable)
  --body-file F | --body TEXT request body (default: stdin)
  --request-id ID             sent as fn_request_id
)";

absl::StatusOr<std::string> ReadBody(const CliArgs& args, std::istream& in) {
  if (std::optional<std::string> text = args.Get("body")) return *text;
  if (std::optional<std::string> path = args.Get("body-file")) {
    std::ifstream file(*path, std::ios::binary);
    if (!file) return absl::InvalidArgumentError(absl::StrCat("--body-file: cannot read ", *path));
    return std::string(std::istreambuf_iterator<char>(file), {});
  }
  return std::string(std::istreambuf_iterator<char>(in), {});
}

}  // namespace

absl::StatusOr<LbCall> CallFromFlags(const CliArgs& args) {
  LbCall call;
  call.image = args.GetOr("image", "");
  if (call.image.empty()) return absl::InvalidArgumentError("--image is required");
  absl::StatusOr<int64_t> memory = args.GetInt("memory", 128);
  absl::StatusOr<int64_t> timeout = args.GetInt("timeout", 30, 1);
  absl::StatusOr<int64_t> idle = args.GetInt("idle-timeout", 30, 1);
  absl::StatusOr<int64_t> cpus = args.GetInt("cpus", 0);
  for (const auto* v : {&memory, &timeout, &idle, &cpus}) {
    if (!v->ok()) return v->status();
  }
  call.memory_mb = static_cast<uint64_t>(*memory);
  call.timeout = absl::Seconds(*timeout);
  call.idle_timeout = absl::Seconds(*idle);
  call.milli_cpus = static_cast<uint64_t>(*cpus);
  call.fn_id = args.GetOr("fn-id", "fnlb-fn");
  call.app_id = args.GetOr("app-id", "fnlb-app");
  call.app_name = call.app_id;
  call.url = absl::StrCat("http://fnlb/invoke/", call.fn_id);
  for (const std::string& header : args.GetAll("header")) {
    std::pair<std::string, std::string> kv = absl::StrSplit(header, absl::MaxSplits(':', 1));
    if (kv.first.empty() || header.find(':') == std::string::npos) {
      return absl::InvalidArgumentError(absl::StrCat("--header \"", header, "\" is not NAME:VALUE"));
    }
    call.headers[kv.first].push_back(std::string(absl::StripLeadingAsciiWhitespace(kv.second)));
  }
  for (const std::string& entry : args.GetAll("config")) {
    std::pair<std::string, std::string> kv = absl::StrSplit(entry, absl::MaxSplits('=', 1));
    if (kv.first.empty() || entry.find('=') == std::string::npos) {
      return absl::InvalidArgumentError(absl::StrCat("--config \"", entry, "\" is not NAME=VALUE"));
    }
    call.config[kv.first] = kv.second;
  }
  return call;
}

namespace {

struct CallSetup {
  LbCall call;
  std::vector<std::string> runners;
  ChannelOptions channel;
  std::string placer;
  absl::Duration placer_timeout;
  std::string body;
  std::string request_id;
  bool json = false;
};

absl::StatusOr<CallSetup> ParseCallFlags(const CliArgs& args, std::istream& in) {
  CallSetup setup;
  ASSIGN_OR_RETURN(setup.call, CallFromFlags(args));
  ASSIGN_OR_RETURN(setup.runners, RunnerAddresses(args));
  ASSIGN_OR_RETURN(setup.channel, ChannelOptionsFrom(args));
  setup.placer = args.GetOr("placer", "naive");
  const bool capacity = setup.placer == "capacity" || setup.placer == "capacity-aware";
  ASSIGN_OR_RETURN(setup.placer_timeout,
                   args.GetSeconds("placer-timeout", absl::Seconds(capacity ? 30 : 360)));
  ASSIGN_OR_RETURN(setup.body, ReadBody(args, in));
  setup.request_id = args.GetOr("request-id", "");
  setup.json = args.Has("json");
  return setup;
}

}  // namespace

int RunCallCommand(const std::vector<std::string>& argv, std::istream& in, std::ostream& out,
                   std::ostream& err) {
  absl::flat_hash_set<std::string> value_flags = CommonValueFlags();
  value_flags.insert({"image", "memory", "timeout", "idle-timeout", "cpus", "fn-id", "app-id",
                      "header", "config", "body-file", "body", "request-id"});
  absl::StatusOr<CliArgs> args = CliArgs::Parse(argv, value_flags, CommonBoolFlags());
  if (args.ok() && args->Has("help")) {
    out << kUsage << CommonFlagsHelp();
    return 0;
  }
  absl::StatusOr<CallSetup> setup = args.ok() ? ParseCallFlags(*args, in) : args.status();
  if (!setup.ok()) {
    err << "fnlb call: " << setup.status().message() << "\n" << kUsage;
    return 2;
  }
  const bool capacity = setup->placer == "capacity" || setup->placer == "capacity-aware";
  absl::StatusOr<std::unique_ptr<RunnerPool>> pool =
      StartPool(setup->runners, setup->channel, /*watch_capacity=*/capacity);
  absl::StatusOr<std::unique_ptr<Placer>> placer =
      pool.ok() ? MakePlacer(setup->placer, **pool, Clock::Real(), setup->placer_timeout, 1)
                : pool.status();
  if (!placer.ok()) {
    err << "fnlb call: " << placer.status().message() << "\n";
    return 2;
  }

  const absl::Time start = absl::Now();
  CallRequest request;
  request.call = std::move(setup->call);
  request.call.id = CallIdGenerator().Next(start);
  request.call.created_at = request.call.started_at = start;
  request.slot_hash_id = SlotHashId(request.call);
  request.body = std::move(setup->body);
  request.request_id = setup->request_id;
  BufferingSink sink;
  // Bounds every attempt, as fn's request context would: the search, the function's timeout
  // and a minute for a cold start (image pull, container start).
  const absl::Time deadline =
      start + setup->placer_timeout + request.call.timeout + absl::Minutes(1);
  const PlacementResult result = (*placer)->Place(request, sink, deadline);
  const HttpAnswer answer = LbAnswer(result, sink, request.call.id);
  const absl::Duration total = absl::Now() - start;

  if (setup->json) {
    out << CallResultJson(answer, result, request.call.id, (*placer)->name(), total) << "\n";
  } else {
    out << "HTTP " << answer.status << "\n";
    for (const auto& [name, value] : answer.headers) out << name << ": " << value << "\n";
    out << "\n" << answer.body;
    err << "fnlb: " << (result.placed ? absl::StrCat("placed on ", result.runner) : "not placed")
        << (result.tier.empty() ? "" : absl::StrCat(" (", result.tier, ")")) << ", "
        << result.attempts << " attempt(s), " << result.nacks << " NACK(s), "
        << absl::FormatDuration(total) << "\n";
  }
  return answer.status < 400 ? 0 : 1;
}

}  // namespace fnrunner
