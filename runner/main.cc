// fn-runner: an fn-compatible runner node. The only file that knows concrete types: it reads
// the configuration, builds the agent, the RunnerProtocol service, the gRPC server and the
// /metrics endpoint, and drains on SIGTERM/SIGINT:
//   1. health NOT_SERVING, new TryCalls NACKed with 503 at once;
//   2. calls in flight may finish for FN_DRAIN_GRACE_MSECS;
//   3. Agent::Shutdown (cancels what is left, removes containers);
//   4. Server::Shutdown with a deadline (ends idle streams), exit 0.
// A second signal exits at once with status 128 + signal.

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <exception>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "agent/agent.h"
#include "agent/capacity.h"
#include "agent/fdk_function_io.h"
#include "agent/hot_agent.h"
#include "agent/iofs_dir.h"
#include "agent/resource_tracker.h"
#include "agent/log_hub.h"
#include "base/clock.h"
#include "drivers/docker/docker_driver.h"
#include "drivers/docker/docker_options.h"
#include "glog/logging.h"
#include "prometheus/exposer.h"
#include "prometheus/registry.h"
#include "runner/capacity_service.h"
#include "runner/config.h"
#include "runner/engage_tracker.h"
#include "runner/log_level.h"
#include "runner/metrics.h"
#include "runner/open_files_limit.h"
#include "runner/refusing_agent.h"
#include "runner/runner_service.h"
#include "runner/server.h"
#include "runner/signal_watcher.h"
#include "runner/status_provider.h"
#include "runner/ticker.h"

namespace fnrunner {
namespace {

// The agent and everything it references; members are destroyed in reverse order, so the
// agent (which removes its containers) goes before the services it uses.
struct AgentStack {
  std::unique_ptr<DockerDriver> driver;
  std::unique_ptr<ResourceTracker> resources;
  std::unique_ptr<FdkFunctionIoFactory> io;
  std::unique_ptr<Agent> agent;
};

// Builds the hot agent on the Docker driver: fn's FN_* variables come through `config`
// (flags win over the environment) and the driver's own through DockerDriver::OptionsFromEnv.
absl::StatusOr<AgentStack> MakeHotAgent(const Config& config, LogHub& logs, Clock& clock) {
  AgentStack stack;
  absl::StatusOr<DockerDriver::Options> driver_options =
      DockerDriver::OptionsFromEnv(ProcessEnv());
  if (!driver_options.ok()) return driver_options.status();
  driver_options->pull_timeout = config.hot_pull_timeout;
  if (driver_options->container_label_tag.empty()) {
    // fn cleans up leftovers only when FN_CONTAINER_LABEL_TAG is set. A tag per gRPC port is
    // unique among the runners sharing one engine (they cannot share a port), so a restarted
    // runner removes what its crashed predecessor left and never another runner's containers.
    driver_options->container_label_tag = absl::StrCat("fn-runner-", config.grpc_port);
  }
  absl::StatusOr<std::unique_ptr<DockerDriver>> driver = DockerDriver::Create(*driver_options);
  if (!driver.ok()) {
    return absl::Status(driver.status().code(),
                        absl::StrCat("Docker engine: ", driver.status().message()));
  }
  stack.driver = *std::move(driver);
  if (absl::StatusOr<int> removed = stack.driver->RemoveOrphans(); !removed.ok()) {
    LOG(WARNING) << "removing containers left by a previous run: " << removed.status();
  } else if (*removed > 0) {
    LOG(INFO) << "removed " << *removed << " containers left by a previous run";
  }

  FdkFunctionIoOptions io_options;
  io_options.iofs.root = config.iofs_path;
  io_options.iofs.docker_root = config.iofs_docker_path;
  io_options.client.max_response_bytes = static_cast<uint64_t>(config.max_response_size);
  if (config.max_hdr_response_size > 0) {
    io_options.client.max_response_head_bytes =
        static_cast<size_t>(config.max_hdr_response_size);
  }
  if (absl::StatusOr<int> stale = RemoveStaleIofsDirs(io_options.iofs); !stale.ok()) {
    LOG(WARNING) << "removing stale iofs directories: " << stale.status();
  }
  stack.io = std::make_unique<FdkFunctionIoFactory>(io_options);

  CapacityOptions capacity_options;
  capacity_options.max_total_memory_bytes = config.max_total_memory_bytes;
  capacity_options.max_total_cpu_mcpus = config.max_total_cpu_mcpus;
  absl::StatusOr<Resources> capacity = ComputeCapacity(capacity_options);
  if (!capacity.ok()) return capacity.status();
  LOG(INFO) << "capacity for functions: " << capacity->memory_bytes / (1 << 20) << " MiB, "
            << capacity->milli_cpus << " mCPU";
  stack.resources = std::make_unique<ResourceTracker>(*capacity);

  HotAgentOptions options;
  options.freeze_idle = config.freeze_idle;
  options.launch_policy = config.launch_by_estimate ? HotAgentOptions::LaunchPolicy::kEstimate
                                                    : HotAgentOptions::LaunchPolicy::kFn;
  options.spares_per_slot = static_cast<int>(config.spares);
  options.spare_memory_bytes =
      stack.resources->Snapshot().total.memory_bytes / 100 *
      static_cast<uint64_t>(config.spare_memory_percent);
  options.spare_window = config.spare_window;
  options.init_timeout = config.hot_start_timeout;
  options.non_blocking = config.nb_resource_tracker;
  stack.agent = std::make_unique<HotAgent>(options, *stack.driver, *stack.io, *stack.resources,
                                           logs, clock);
  return stack;
}

absl::StatusOr<AgentStack> MakeAgent(const Config& config, LogHub& logs, Clock& clock) {
  switch (config.agent) {
    case AgentKind::kRefuse: {
      LOG(WARNING) << "FN_AGENT=refuse: every call is NACKed with 503; no function will run";
      AgentStack stack;
      stack.agent = std::make_unique<RefusingAgent>(clock);
      return stack;
    }
    case AgentKind::kHot:
      break;
  }
  return MakeHotAgent(config, logs, clock);
}

absl::StatusOr<GrpcServerOptions> ServerOptions(const Config& config) {
  GrpcServerOptions options;
  options.listen_address = absl::StrCat(config.listen_host, ":", config.grpc_port);
  options.max_receive_message_bytes = static_cast<int>(config.grpc_max_recv_message_bytes);
  if (!config.tls_cert_file.empty()) {
    auto cert = ReadPemFile(config.tls_cert_file, "FN_NODE_CERT");
    if (!cert.ok()) return cert.status();
    auto key = ReadPemFile(config.tls_key_file, "FN_NODE_CERT_KEY");
    if (!key.ok()) return key.status();
    options.tls_cert_chain = *std::move(cert);
    options.tls_private_key = *std::move(key);
  }
  if (!config.tls_client_ca_file.empty()) {
    auto ca = ReadPemFile(config.tls_client_ca_file, "FN_NODE_CERT_AUTHORITY");
    if (!ca.ok()) return ca.status();
    options.tls_client_ca = *std::move(ca);
  }
  return options;
}

int Run(const Config& config) {
  Clock& clock = Clock::Real();
  LogHub log_hub;
  absl::StatusOr<AgentStack> agent_stack = MakeAgent(config, log_hub, clock);
  if (!agent_stack.ok()) {
    LOG(ERROR) << "fn-runner: " << agent_stack.status().message();
    return 1;
  }
  Agent& agent = *agent_stack->agent;
  absl::StatusOr<GrpcServerOptions> server_options = ServerOptions(config);
  if (!server_options.ok()) {
    LOG(ERROR) << "fn-runner: " << server_options.status().message();
    return 2;
  }

  auto registry = std::make_shared<prometheus::Registry>();
  RunnerMetrics metrics(*registry);
  if (agent_stack->driver != nullptr) {
    metrics.SetFreezerMethod(agent_stack->driver->freezer_method());
  }
  EngageTracker tracker;
  auto status = std::make_unique<StatusProvider>(
      StatusOptions{.image = config.status_image, .barrier_path = config.status_barrier_file},
      agent, tracker, metrics, clock);
  RunnerServiceOptions service_options;
  service_options.engage.status_image = config.status_image;
  service_options.engage.enable_detach = config.enable_detach;
  service_options.engage.input_timeout = config.input_timeout;
  service_options.engage.default_memory_mb = config.default_memory_mb;
  const AgentSnapshot totals = agent.Snapshot();
  if (totals.memory_total_bytes > 0 || totals.cpu_total_mcpus > 0) {
    service_options.engage.capacity =
        Resources{static_cast<uint64_t>(totals.memory_total_bytes),
                  static_cast<uint64_t>(totals.cpu_total_mcpus)};
  }
  service_options.log_stream_queue_lines = static_cast<size_t>(config.log_stream_queue_lines);
  RunnerService service(service_options, agent, tracker, metrics, *status, log_hub, clock,
                        SetLogLevel);

  // Capacity snapshots for capacity-aware load balancers (proto/capacity.proto).
  CapacityServiceOptions capacity_options;
  capacity_options.runner_id =
      config.instance.empty() ? absl::StrCat(config.listen_host, ":", config.grpc_port)
                              : config.instance;
  CapacityService capacity_service(capacity_options, agent, clock);
  absl::StatusOr<StartedServer> grpc_server =
      StartGrpcServer(*server_options, {&service, &capacity_service});
  if (!grpc_server.ok()) {
    LOG(ERROR) << "fn-runner: FN_GRPC_PORT: " << grpc_server.status().message();
    return 1;
  }
  std::unique_ptr<prometheus::Exposer> exposer;
  auto collectable = std::make_shared<RefreshingCollectable>(*registry, metrics, agent, tracker);
  try {
    exposer = std::make_unique<prometheus::Exposer>(
        absl::StrCat(config.listen_host, ":", config.http_port));
  } catch (const std::exception& e) {
    LOG(ERROR) << "fn-runner: FN_PORT: cannot serve /metrics on " << config.listen_host << ":"
               << config.http_port << ": " << e.what();
    grpc_server->server->Shutdown();
    return 1;
  }
  exposer->RegisterCollectable(collectable);
  const std::vector<int> http_ports = exposer->GetListeningPorts();

  absl::Notification drain;
  absl::StatusOr<std::unique_ptr<SignalWatcher>> signals =
      SignalWatcher::Start([&drain](int signo, int count) {
        if (count == 1) {
          LOG(WARNING) << "signal " << signo << ": draining (again to exit at once)";
          drain.Notify();
          return;
        }
        LOG(ERROR) << "signal " << signo << " during drain: exiting now";
        _exit(128 + signo);
      });
  if (!signals.ok()) {
    LOG(ERROR) << "fn-runner: " << signals.status().message();
    grpc_server->server->Shutdown();
    return 1;
  }
  {
    // Input deadlines of Engage streams.
    Ticker ticker(absl::Milliseconds(250), [&] { tracker.Tick(clock.Now()); });
    LOG(INFO) << "fn-runner" << (config.instance.empty() ? "" : " " + config.instance)
              << " serving RunnerProtocol on " << config.listen_host << ":" << grpc_server->port
              << (server_options->tls_cert_chain.empty() ? " (insecure)" : " (TLS)")
              << ", /metrics on port " << (http_ports.empty() ? 0 : http_ports.front());
    drain.WaitForNotification();

    SetServing(*grpc_server->server, false);
    tracker.StartDraining();
    const absl::Time deadline = absl::Now() + config.drain_grace;
    if (!tracker.AwaitNoCalls(deadline)) {
      LOG(WARNING) << "drain: calls still running after " << config.drain_grace
                   << "; cancelling them";
    }
    LOG(INFO) << "drain: no calls in flight; shutting the agent down";
    agent.Shutdown(std::max(absl::ZeroDuration(), deadline - absl::Now()));
    LOG(INFO) << "drain: agent shut down (containers removed); stopping the gRPC server";
    capacity_service.Shutdown();  // Watch streams never end by themselves.
    // Engage streams end by themselves once their last messages are written (a slow client
    // may still be reading a response); a health Watch or a log collector's stream never
    // does. So wait for the Engage streams only, then cancel whatever is left at once.
    if (!tracker.AwaitActive(0, absl::Seconds(5))) {
      LOG(WARNING) << "drain: Engage streams still open after 5 s; cancelling them";
    }
    grpc_server->server->Shutdown(std::chrono::system_clock::now());
    LOG(INFO) << "drain: gRPC server stopped";
  }
  // The status worker goes before the agent; the exposer before the metrics it reads.
  status.reset();
  exposer.reset();
  LOG(INFO) << "fn-runner drained; exiting";
  return 0;
}

}  // namespace
}  // namespace fnrunner

int main(int argc, char** argv) {
  // Debian's Abseil is built with Mutex deadlock detection on: a lock-order graph updated on
  // every lock, a few percent of the runner's CPU per call. The tests keep it; the clang
  // -Wthread-safety build checks lock discipline statically.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  // Before any thread exists (see SignalWatcher).
  if (absl::Status s = fnrunner::SignalWatcher::BlockTerminationSignals(); !s.ok()) {
    std::cerr << "fn-runner: " << s.message() << "\n";
    return 1;
  }
  absl::StatusOr<fnrunner::Config> config = fnrunner::ParseConfig(
      std::vector<std::string>(argv + 1, argv + argc),
      [](absl::string_view name) -> std::optional<std::string> {
        const char* value = std::getenv(std::string(name).c_str());
        if (value == nullptr) return std::nullopt;
        return std::string(value);
      });
  if (!config.ok()) {
    std::cerr << "fn-runner: " << config.status().message() << "\n";
    return 2;
  }
  if (config->show_help) {
    std::cout << fnrunner::HelpText();
    return 0;
  }
  FLAGS_logtostderr = true;
  google::InitGoogleLogging(argv[0]);
  if (absl::Status s = fnrunner::SetLogLevel(config->log_level); !s.ok()) {
    std::cerr << "fn-runner: FN_LOG_LEVEL: " << s.message() << "\n";
    return 2;
  }
  if (absl::StatusOr<fnrunner::OpenFilesLimit> files = fnrunner::RaiseOpenFilesLimit();
      !files.ok()) {
    LOG(WARNING) << "open files limit: " << files.status().message();
  } else {
    LOG(INFO) << "open files limit: " << files->soft << " (soft was " << files->soft_before
              << ", hard " << files->hard << ")";
  }
  return fnrunner::Run(*config);
}
