#pragma once

// fn-runner's configuration: every setting is an FN_* environment variable (fn's name where fn
// has one) and the matching command-line flag (--name-in-lowercase-with-dashes, the variable's
// name without FN_). A flag wins over the environment. runner/README.md lists them all.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace fnrunner {

// Which Agent implementation main.cc builds.
enum class AgentKind {
  kHot,     // the hot-container agent (agent/, Docker driver)
  kRefuse,  // none: every call is NACKed with 503 (protocol and operations testing)
};

struct Config {
  // ---- Listening ----
  std::string listen_host = "0.0.0.0";  // FN_LISTEN_HOST
  int grpc_port = 9190;                 // FN_GRPC_PORT (fn's default)
  int http_port = 8080;                 // FN_PORT: /metrics
  std::string log_level = "info";       // FN_LOG_LEVEL: debug, info, warn, error
  std::string instance;                 // FN_INSTANCE: free-form name shown in logs

  // ---- TLS (fn's names). Cert and key together enable TLS; a CA adds mutual TLS. ----
  std::string tls_cert_file;            // FN_NODE_CERT
  std::string tls_key_file;             // FN_NODE_CERT_KEY
  std::string tls_client_ca_file;       // FN_NODE_CERT_AUTHORITY

  // ---- gRPC ----
  int64_t grpc_max_recv_message_bytes = 16 << 20;  // FN_GRPC_MAX_RECV_MSG_BYTES (>= 4 MiB)

  // ---- Engage protocol ----
  bool enable_detach = false;           // FN_ENABLE_DETACH: off answers 501, as fn's runner
  // FN_INPUT_TIMEOUT_MSECS: longest wait for a client message the runner asked for (the
  // TryCall, or the next body frame). Bounds streams that never send eof.
  absl::Duration input_timeout = absl::Seconds(60);
  // FN_DRAIN_GRACE_MSECS: on SIGTERM, how long calls in flight may take to finish.
  absl::Duration drain_grace = absl::Seconds(30);
  int64_t log_stream_queue_lines = 10000;  // FN_LOG_STREAM_QUEUE_LINES, per StreamLogs stream

  // ---- Status (fn §6) ----
  std::string status_image;             // FN_STATUS_IMAGE: "" = counters only
  std::string status_barrier_file;      // FN_STATUS_BARRIER_FILE: absent => network disabled

  // ---- Agent (fn's agent variables, handed to the agent by main.cc) ----
  AgentKind agent = AgentKind::kHot;              // FN_AGENT: hot | refuse
  bool nb_resource_tracker = false;               // FN_ENABLE_NB_RESOURCE_TRACKER
  int64_t max_response_size = 0;                  // FN_MAX_RESPONSE_SIZE, 0 = unlimited
  int64_t max_hdr_response_size = 0;              // FN_MAX_HDR_RESPONSE_SIZE, 0 = 10 MiB
  absl::Duration hot_start_timeout = absl::Seconds(5);        // FN_HOT_START_TIMEOUT_MSECS
  absl::Duration hot_pull_timeout = absl::Minutes(10);        // FN_HOT_PULL_TIMEOUT_MSECS
  absl::Duration hot_poll = absl::Milliseconds(200);          // FN_HOT_POLL_MSECS
  absl::Duration hot_launcher_timeout = absl::Minutes(60);    // FN_HOT_LAUNCHER_TIMEOUT_MSECS
  // FN_LAUNCH_POLICY: estimate (true) or fn (false); see HotAgentOptions::LaunchPolicy.
  bool launch_by_estimate = true;
  // FN_FREEZE_IDLE_MSECS; negative (InfiniteDuration here) disables freezing.
  absl::Duration freeze_idle = absl::Milliseconds(50);
  uint64_t max_total_memory_bytes = 0;            // FN_MAX_TOTAL_MEMORY_BYTES, 0 = auto
  uint64_t default_memory_mb = 128;               // FN_DEFAULT_MEMORY_MB, 0 = no limit
  int64_t spares = 0;                             // FN_SPARES per function, 0 = off
  int64_t spare_memory_percent = 25;              // FN_SPARE_MEMORY_PERCENT of functions' memory
  absl::Duration spare_window = absl::Seconds(60);  // FN_SPARE_WINDOW_MSECS
  uint64_t max_total_cpu_mcpus = 0;               // FN_MAX_TOTAL_CPU_MCPUS, 0 = auto
  std::string iofs_path;         // FN_IOFS_PATH: where per-container iofs dirs go; "" = $TMPDIR
  std::string iofs_docker_path;  // FN_IOFS_DOCKER_PATH: that dir as the Docker host sees it

  bool show_help = false;               // --help was given: print HelpText() and exit 0
};

// Reads the configuration from `args` (argv without the program name) over the environment
// (`getenv` returns nullopt for an unset variable). An empty variable means its default, as in
// fn. InvalidArgument naming the variable (and the flag, if it came from one) for a malformed
// value, an unknown flag or a stray argument; e.g.
//   "FN_GRPC_PORT: \"x\" is not a port (0..65535)".
absl::StatusOr<Config> ParseConfig(
    const std::vector<std::string>& args,
    absl::FunctionRef<std::optional<std::string>(absl::string_view)> getenv);

// The --help text: every flag, its variable, default and meaning.
std::string HelpText();

}  // namespace fnrunner
