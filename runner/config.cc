#include "runner/config.h"

#include <cstdint>
#include <functional>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "drivers/docker/docker_options.h"

namespace fnrunner {
namespace {

// One setting: its variable, the text shown for its default, its meaning, and how to store a
// (trimmed, non-empty) value. `is_bool` lets the flag be given without a value.
struct Setting {
  std::string env;
  std::string default_text;
  std::string help;
  std::function<absl::Status(absl::string_view, Config&)> set;
  bool is_bool = false;

  // --grpc-port for FN_GRPC_PORT.
  std::string Flag() const {
    std::string name = absl::AsciiStrToLower(absl::StripPrefix(env, "FN_"));
    for (char& c : name) {
      if (c == '_') c = '-';
    }
    return absl::StrCat("--", name);
  }
};

absl::Status Invalid(absl::string_view value, absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrFormat("\"%s\" is not %s", value, what));
}

absl::Status ParseInt64(absl::string_view value, int64_t min, int64_t max, int64_t& out) {
  int64_t parsed = 0;
  if (!absl::SimpleAtoi(value, &parsed) || parsed < min || parsed > max) {
    return Invalid(value, absl::StrFormat("an integer in [%d, %d]", min, max));
  }
  out = parsed;
  return absl::OkStatus();
}

absl::Status ParseUint64(absl::string_view value, uint64_t& out) {
  if (absl::StartsWith(value, "-") || !absl::SimpleAtoi(value, &out)) {
    return Invalid(value, "a non-negative 64-bit integer");
  }
  return absl::OkStatus();
}

// Go's strconv.ParseBool, which fn uses.
absl::Status ParseBool(absl::string_view value, bool& out) {
  for (absl::string_view t : {"1", "t", "T", "TRUE", "true", "True"}) {
    if (value == t) {
      out = true;
      return absl::OkStatus();
    }
  }
  for (absl::string_view f : {"0", "f", "F", "FALSE", "false", "False"}) {
    if (value == f) {
      out = false;
      return absl::OkStatus();
    }
  }
  return Invalid(value, "a boolean (true/false, 1/0, t/f)");
}

// fn's *_MSECS rule: integer milliseconds; a negative value means "never" (infinite).
absl::Status ParseFnMsecs(absl::string_view value, absl::Duration& out) {
  int64_t ms = 0;
  if (!absl::SimpleAtoi(value, &ms)) return Invalid(value, "an integer number of milliseconds");
  out = ms < 0 ? absl::InfiniteDuration() : absl::Milliseconds(ms);
  return absl::OkStatus();
}

// Our own bounds: positive milliseconds only, so they always bound something.
absl::Status ParsePositiveMsecs(absl::string_view value, absl::Duration& out) {
  int64_t ms = 0;
  if (!absl::SimpleAtoi(value, &ms) || ms <= 0) {
    return Invalid(value, "a positive integer number of milliseconds");
  }
  out = absl::Milliseconds(ms);
  return absl::OkStatus();
}

absl::Status ParsePort(absl::string_view value, int& out) {
  int64_t port = 0;
  if (!absl::SimpleAtoi(value, &port) || port < 0 || port > 65535) {
    return Invalid(value, "a port (0..65535)");
  }
  out = static_cast<int>(port);
  return absl::OkStatus();
}

std::string MsText(absl::Duration d) { return absl::StrCat(absl::ToInt64Milliseconds(d)); }

std::vector<Setting> Settings() {
  const Config d;  // defaults
  using S = absl::string_view;
  std::vector<Setting> s;
  auto add = [&s](std::string env, std::string def, std::string help,
                  std::function<absl::Status(S, Config&)> set, bool is_bool = false) {
    s.push_back({std::move(env), std::move(def), std::move(help), std::move(set), is_bool});
  };
  add("FN_LISTEN_HOST", d.listen_host, "address the gRPC and /metrics servers bind",
      [](S v, Config& c) {
        c.listen_host = std::string(v);
        return absl::OkStatus();
      });
  add("FN_GRPC_PORT", absl::StrCat(d.grpc_port), "RunnerProtocol gRPC port (0 = any free port)",
      [](S v, Config& c) { return ParsePort(v, c.grpc_port); });
  add("FN_PORT", absl::StrCat(d.http_port), "HTTP port serving /metrics (0 = any free port)",
      [](S v, Config& c) { return ParsePort(v, c.http_port); });
  add("FN_LOG_LEVEL", d.log_level, "debug, info, warn or error", [](S v, Config& c) {
    const std::string level = absl::AsciiStrToLower(v);
    if (level != "debug" && level != "info" && level != "warn" && level != "warning" &&
        level != "error") {
      return Invalid(v, "a log level (debug, info, warn, error)");
    }
    c.log_level = level;
    return absl::OkStatus();
  });
  add("FN_INSTANCE", "\"\"", "free-form name of this runner, shown in logs", [](S v, Config& c) {
    c.instance = std::string(v);
    return absl::OkStatus();
  });
  add("FN_NODE_CERT", "\"\"", "TLS: server certificate chain (PEM); needs FN_NODE_CERT_KEY",
      [](S v, Config& c) {
        c.tls_cert_file = std::string(v);
        return absl::OkStatus();
      });
  add("FN_NODE_CERT_KEY", "\"\"", "TLS: private key of FN_NODE_CERT (PEM)", [](S v, Config& c) {
    c.tls_key_file = std::string(v);
    return absl::OkStatus();
  });
  add("FN_NODE_CERT_AUTHORITY", "\"\"",
      "mutual TLS: CA (PEM) that must have signed every client certificate", [](S v, Config& c) {
        c.tls_client_ca_file = std::string(v);
        return absl::OkStatus();
      });
  add("FN_GRPC_MAX_RECV_MSG_BYTES", absl::StrCat(d.grpc_max_recv_message_bytes),
      "largest ClientMsg accepted (at least 4194304)", [](S v, Config& c) {
        return ParseInt64(v, 4 << 20, std::numeric_limits<int32_t>::max(),
                          c.grpc_max_recv_message_bytes);
      });
  add("FN_ENABLE_DETACH", "false", "accept detached calls (fn's runner answers 501)",
      [](S v, Config& c) { return ParseBool(v, c.enable_detach); }, true);
  add("FN_INPUT_TIMEOUT_MSECS", MsText(d.input_timeout),
      "longest wait for the TryCall or a requested body frame before giving up on a stream",
      [](S v, Config& c) { return ParsePositiveMsecs(v, c.input_timeout); });
  add("FN_DRAIN_GRACE_MSECS", MsText(d.drain_grace),
      "on SIGTERM/SIGINT, how long calls in flight may take to finish",
      [](S v, Config& c) { return ParsePositiveMsecs(v, c.drain_grace); });
  add("FN_LOG_STREAM_QUEUE_LINES", absl::StrCat(d.log_stream_queue_lines),
      "StreamLogs: lines buffered per collector before new lines are dropped",
      [](S v, Config& c) {
        return ParseInt64(v, 1, std::numeric_limits<int32_t>::max(), c.log_stream_queue_lines);
      });
  add("FN_STATUS_IMAGE", "\"\"", "image run by Status/Status2 health checks (reserved for them)",
      [](S v, Config& c) {
        c.status_image = std::string(v);
        return absl::OkStatus();
      });
  add("FN_STATUS_BARRIER_FILE", "\"\"",
      "if set and the file is absent, Status reports isNetworkDisabled", [](S v, Config& c) {
        c.status_barrier_file = std::string(v);
        return absl::OkStatus();
      });
  add("FN_AGENT", "hot", "hot (run functions in containers) or refuse (NACK every call)",
      [](S v, Config& c) {
        if (v == "hot") {
          c.agent = AgentKind::kHot;
        } else if (v == "refuse") {
          c.agent = AgentKind::kRefuse;
        } else {
          return Invalid(v, "an agent (hot, refuse)");
        }
        return absl::OkStatus();
      });
  add("FN_ENABLE_NB_RESOURCE_TRACKER", "false",
      "NACK (503) at once when memory/CPU is short instead of queueing",
      [](S v, Config& c) { return ParseBool(v, c.nb_resource_tracker); }, true);
  add("FN_MAX_RESPONSE_SIZE", "0", "largest response body in bytes (0 = unlimited)",
      [](S v, Config& c) {
        return ParseInt64(v, 0, std::numeric_limits<int64_t>::max(), c.max_response_size);
      });
  add("FN_MAX_HDR_RESPONSE_SIZE", "0", "largest response header block in bytes (0 = 10 MiB)",
      [](S v, Config& c) {
        return ParseInt64(v, 0, std::numeric_limits<int64_t>::max(), c.max_hdr_response_size);
      });
  add("FN_HOT_START_TIMEOUT_MSECS", MsText(d.hot_start_timeout),
      "time a new container has to open its socket (negative = no limit)",
      [](S v, Config& c) { return ParseFnMsecs(v, c.hot_start_timeout); });
  add("FN_HOT_PULL_TIMEOUT_MSECS", MsText(d.hot_pull_timeout),
      "image pull deadline (negative = no limit)",
      [](S v, Config& c) { return ParseFnMsecs(v, c.hot_pull_timeout); });
  add("FN_HOT_POLL_MSECS", MsText(d.hot_poll), "waiting call re-signal period",
      [](S v, Config& c) { return ParseFnMsecs(v, c.hot_poll); });
  add("FN_HOT_LAUNCHER_TIMEOUT_MSECS", MsText(d.hot_launcher_timeout),
      "slot launcher inactivity timeout (negative = never)",
      [](S v, Config& c) { return ParseFnMsecs(v, c.hot_launcher_timeout); });
  add("FN_LAUNCH_POLICY", "estimate",
      "when a waiting call starts a container: estimate (unless the function's busy containers "
      "will serve it sooner than a start takes) or fn (whenever calls wait)",
      [](S v, Config& c) {
        if (v == "estimate") {
          c.launch_by_estimate = true;
        } else if (v == "fn") {
          c.launch_by_estimate = false;
        } else {
          return Invalid(v, "a launch policy (estimate, fn)");
        }
        return absl::OkStatus();
      });
  add("FN_SPARES", "0",
      "frozen spare containers a function keeps after a call had to wait for a start (0 = off)",
      [](S v, Config& c) { return ParseInt64(v, 0, 64, c.spares); });
  add("FN_SPARE_MEMORY_PERCENT", "25", "share of the functions' memory that spares may hold",
      [](S v, Config& c) { return ParseInt64(v, 0, 100, c.spare_memory_percent); });
  add("FN_SPARE_WINDOW_MSECS", MsText(d.spare_window),
      "how long after a function's last start on a call's path it keeps its spares",
      [](S v, Config& c) { return ParsePositiveMsecs(v, c.spare_window); });
  add("FN_FREEZE_IDLE_MSECS", MsText(d.freeze_idle),
      "idle time before a container is paused (negative disables freezing)",
      [](S v, Config& c) { return ParseFnMsecs(v, c.freeze_idle); });
  add("FN_DEFAULT_MEMORY_MB", "128",
      "memory limit (and reservation) of a call that asks for 0 MB (0 = no limit, as fn)",
      [](S v, Config& c) { return ParseUint64(v, c.default_memory_mb); });
  add("FN_MAX_TOTAL_MEMORY_BYTES", "0", "lowers the memory given to functions (0 = auto)",
      [](S v, Config& c) { return ParseUint64(v, c.max_total_memory_bytes); });
  add("FN_MAX_TOTAL_CPU_MCPUS", "0", "lowers the CPU given to functions, in mCPU (0 = auto)",
      [](S v, Config& c) { return ParseUint64(v, c.max_total_cpu_mcpus); });
  add("FN_IOFS_PATH", "\"\" ($TMPDIR or /tmp)",
      "directory for the per-container socket directories (absolute)", [](S v, Config& c) {
        c.iofs_path = std::string(v);
        return absl::OkStatus();
      });
  add("FN_IOFS_DOCKER_PATH", "\"\"",
      "FN_IOFS_PATH as the Docker host sees it, when fn-runner itself runs in a container",
      [](S v, Config& c) {
        c.iofs_docker_path = std::string(v);
        return absl::OkStatus();
      });
  return s;
}

absl::Status Apply(const Setting& setting, absl::string_view raw, absl::string_view source,
                   Config& config) {
  const absl::string_view value = absl::StripAsciiWhitespace(raw);
  if (value.empty()) return absl::OkStatus();  // fn: empty means the default
  if (absl::Status s = setting.set(value, config); !s.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(source, ": ", s.message()));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<Config> ParseConfig(
    const std::vector<std::string>& args,
    absl::FunctionRef<std::optional<std::string>(absl::string_view)> getenv) {
  const std::vector<Setting> settings = Settings();
  Config config;
  // The environment first, so that flags override it.
  for (const Setting& setting : settings) {
    if (std::optional<std::string> value = getenv(setting.env)) {
      if (absl::Status s = Apply(setting, *value, setting.env, config); !s.ok()) return s;
    }
  }
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg == "--help" || arg == "-h") {
      config.show_help = true;
      continue;
    }
    if (!absl::StartsWith(arg, "--")) {
      return absl::InvalidArgumentError(
          absl::StrCat("unexpected argument \"", arg, "\" (see --help)"));
    }
    const size_t eq = arg.find('=');
    const std::string name = arg.substr(0, eq);
    const Setting* setting = nullptr;
    for (const Setting& s : settings) {
      if (s.Flag() == name) setting = &s;
    }
    if (setting == nullptr) {
      return absl::InvalidArgumentError(absl::StrCat("unknown flag ", name, " (see --help)"));
    }
    std::string value;
    if (eq != std::string::npos) {
      value = arg.substr(eq + 1);
    } else if (setting->is_bool) {
      value = "true";
    } else if (i + 1 < args.size()) {
      value = args[++i];
    } else {
      return absl::InvalidArgumentError(
          absl::StrCat(name, " (", setting->env, "): missing value"));
    }
    const std::string source = absl::StrCat(name, " (", setting->env, ")");
    if (absl::Status s = Apply(*setting, value, source, config); !s.ok()) return s;
  }
  if (config.tls_cert_file.empty() != config.tls_key_file.empty()) {
    return absl::InvalidArgumentError(
        config.tls_cert_file.empty() ? "FN_NODE_CERT_KEY: set without FN_NODE_CERT"
                                     : "FN_NODE_CERT: set without FN_NODE_CERT_KEY");
  }
  if (!config.tls_client_ca_file.empty() && config.tls_cert_file.empty()) {
    return absl::InvalidArgumentError(
        "FN_NODE_CERT_AUTHORITY: mutual TLS needs FN_NODE_CERT and FN_NODE_CERT_KEY");
  }
  return config;
}

std::string HelpText() {
  std::string text =
      "Usage: fn-runner [flags]\n\n"
      "An fn-compatible runner node. Every flag also reads the FN_* environment variable\n"
      "named beside it; a flag wins over the environment and an empty variable means the\n"
      "default.\n\n";
  for (const Setting& s : Settings()) {
    absl::StrAppendFormat(&text, "  %s%s (%s, default %s)\n      %s\n", s.Flag(),
                          s.is_bool ? "[=BOOL]" : "=VALUE", s.env, s.default_text, s.help);
  }
  absl::StrAppend(&text, "  --help\n      print this text and exit\n");
  absl::StrAppend(&text,
                  "\nContainer isolation and the Docker engine (environment variables only):\n");
  for (const EnvSettingHelp& s : DockerDriverEnvHelp()) {
    absl::StrAppendFormat(&text, "  %s (default %s)\n      %s\n", s.env, s.default_text, s.help);
  }
  return text;
}

}  // namespace fnrunner
