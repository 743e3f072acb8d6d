#include "drivers/docker/docker_driver.h"

#include <utility>

#include "absl/random/random.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "base/status_macros.h"
#include "drivers/docker/attach_stream.h"
#include "drivers/docker/create_body.h"
#include "drivers/docker/curl_transport.h"
#include "drivers/docker/engine_replies.h"
#include "glog/logging.h"

namespace fnrunner {
namespace {

using json = nlohmann::json;

std::string RandomInstanceId() {
  absl::BitGen gen;
  return absl::StrCat(absl::Hex(absl::Uniform<uint64_t>(gen), absl::kZeroPad16));
}

// Container ids and names go into paths as they are; anything else is escaped.
std::string PathPart(absl::string_view text) { return UrlEncode(text, ":@/"); }

}  // namespace

absl::StatusOr<std::unique_ptr<DockerDriver>> DockerDriver::Create(Options options) {
  CurlTransport::Options transport_options;
  transport_options.socket_path = options.socket_path;
  transport_options.connect_timeout = options.connect_timeout;
  ASSIGN_OR_RETURN(std::unique_ptr<CurlTransport> transport,
                   CurlTransport::Create(transport_options));
  return Create(std::move(options), std::move(transport));
}

absl::StatusOr<std::unique_ptr<DockerDriver>> DockerDriver::Create(
    Options options, std::unique_ptr<HttpTransport> transport) {
  ASSIGN_OR_RETURN(RegistryCredentials credentials,
                   RegistryCredentials::Load(options.docker_auth_json, options.docker_config_path));
  ASSIGN_OR_RETURN(std::unique_ptr<LogPump> pump, LogPump::Create(options.max_log_line_bytes));
  std::unique_ptr<DockerDriver> driver(new DockerDriver(std::move(options), std::move(transport),
                                                        std::move(pump), std::move(credentials)));
  RETURN_IF_ERROR(driver->engine_.Negotiate());
  driver->api_version_at_start_ = driver->engine_.ApiVersion();
  ASSIGN_OR_RETURN(json info,
                   driver->engine_.SendJson(driver->Request("GET", "/info"), "GET /info"));
  // CgroupVersion exists since API 1.40; "2" is the only value that changes what we send.
  driver->cgroup_v1_ =
      !(info.is_object() && info.contains("CgroupVersion") && info["CgroupVersion"] == "2");
  RETURN_IF_ERROR(driver->freezer_.Probe());
  if (!driver->options_.load_file.empty()) {
    RETURN_IF_ERROR(driver->LoadImages(driver->options_.load_file));
    LOG(INFO) << "docker driver: loaded the images of " << driver->options_.load_file;
  }
  LOG(INFO) << "docker driver: engine API " << driver->api_version_at_start_ << ", cgroup v"
            << (driver->cgroup_v1_ ? 1 : 2) << ", instance " << driver->instance_id_;
  if (driver->freezer_.fallback_reason().empty()) {
    LOG(INFO) << "docker driver: idle containers freeze through the cgroup freezer under "
              << driver->options_.cgroup_root;
  } else {
    LOG(INFO) << "docker driver: idle containers freeze through the engine's pause ("
              << driver->freezer_.fallback_reason() << ")";
  }
  return driver;
}

DockerDriver::DockerDriver(Options options, std::unique_ptr<HttpTransport> transport,
                           std::unique_ptr<LogPump> pump, RegistryCredentials credentials)
    : options_(std::move(options)),
      instance_id_(options_.instance_id.empty() ? RandomInstanceId() : options_.instance_id),
      transport_(std::move(transport)),
      engine_(*transport_, options_.request_timeout),
      puller_(engine_, options_.pull_timeout),
      credentials_(std::move(credentials)),
      networks_(options_.networks),
      cleaner_(
          engine_,
          ImageCleaner::Options{options_.image_clean_max_size_bytes,
                                options_.image_clean_exempt_tags, options_.image_clean_only_label},
          options_.request_timeout),
      freezer_(options_.freezer,
               CgroupFreezer(CgroupFreezer::Options{options_.proc_root, options_.cgroup_root}),
               ContainerFreezer::Engine{
                   [this](const ContainerId& id, bool pause) { return PauseOrUnpause(id, pause); },
                   [this](const ContainerId& id) -> absl::StatusOr<int64_t> {
                     ASSIGN_OR_RETURN(ContainerState state, InspectState(id));
                     return state.pid;
                   }}),
      pump_(std::move(pump)) {}

DockerDriver::~DockerDriver() = default;

EngineRequest DockerDriver::Request(std::string method, std::string path) const {
  EngineRequest request;
  request.method = std::move(method);
  request.path = std::move(path);
  request.timeout = options_.request_timeout;
  return request;
}

absl::StatusOr<ContainerId> DockerDriver::Create(const ContainerSpec& spec) {
  cleaner_.Touch(spec.image, absl::Now());
  const std::string network = spec.disable_network ? "" : networks_.Pick();
  CreateContext context;
  context.options = &options_;
  context.instance_id = instance_id_;
  context.network_mode = network;
  context.cgroup_v1 = cgroup_v1_;
  absl::StatusOr<json> body = BuildCreateBody(spec, context);
  if (!body.ok()) {
    networks_.Release(network);
    return body.status();
  }
  EngineRequest request = Request("POST", "/containers/create?name=" + UrlEncode(spec.name));
  request.headers.push_back("Content-Type: application/json");
  request.body = body->dump();
  const std::string what = absl::StrCat("creating container ", spec.name, " (", spec.image, ")");
  absl::StatusOr<json> reply = engine_.SendJson(std::move(request), what);
  std::string id = reply.ok() && reply->is_object() && (*reply)["Id"].is_string()
                       ? (*reply)["Id"].get<std::string>()
                       : "";
  if (!reply.ok() || id.empty()) {
    networks_.Release(network);
    if (!reply.ok()) return reply.status();
    return absl::InternalError(absl::StrCat(what, ": engine reply has no Id"));
  }
  if (!network.empty()) {
    absl::MutexLock lock(&mu_);
    container_networks_[ContainerId{id}] = network;
  }
  return ContainerId{std::move(id)};
}

absl::Status DockerDriver::AttachLogs(const ContainerId& id, LogSink& sink) {
  std::string version = engine_.ApiVersion();
  if (version.empty()) {
    RETURN_IF_ERROR(engine_.Negotiate());
    version = engine_.ApiVersion();
  }
  const std::string path = absl::StrCat("/v", version, "/containers/", PathPart(id.value),
                                        "/attach?stream=1&stdout=1&stderr=1");
  ASSIGN_OR_RETURN(AttachConnection connection,
                   OpenAttachStream(options_.socket_path, path, options_.request_timeout));
  return pump_->Add(id, std::move(connection), sink);
}

absl::Status DockerDriver::Start(const ContainerId& id) {
  absl::StatusOr<json> reply =
      engine_.SendJson(Request("POST", absl::StrCat("/containers/", PathPart(id.value), "/start")),
                       absl::StrCat("starting container ", id.value));
  if (!reply.ok() &&
      absl::StrContains(reply.status().message(), "failed to initialize logging driver")) {
    // fn's ErrSyslogUnavailable: the function's syslog endpoint is down, worth a retry.
    return absl::UnavailableError(reply.status().message());
  }
  return reply.status();
}

absl::StatusOr<ExitInfo> DockerDriver::Wait(const ContainerId& id, absl::Duration timeout) {
  EngineRequest request =
      Request("POST", absl::StrCat("/containers/", PathPart(id.value), "/wait"));
  request.timeout = timeout;
  const std::string what = absl::StrCat("waiting for container ", id.value);
  ASSIGN_OR_RETURN(EngineResponse reply,
                   engine_.Send(std::move(request), absl::StatusCode::kDeadlineExceeded));
  RETURN_IF_ERROR(StatusFromEngineReply(reply.status, reply.body, what));
  json parsed = json::parse(reply.body, nullptr, false);
  ASSIGN_OR_RETURN(ExitInfo exit, ParseWait(parsed));
  // The wait reply does not say why; the inspect does. Best effort: the exit code stands.
  // dockerd sets OOMKilled when containerd's OOM event arrives, which under load can come
  // after the exit event: a SIGKILL exit is looked at again for a short while (seen in
  // parallel tests: exit 137 with OOMKilled false on the first inspect).
  constexpr int kSigkillExit = 137;
  constexpr int kOomLooks = 5;
  for (int look = 0; look < kOomLooks; ++look) {
    if (look > 0) absl::SleepFor(absl::Milliseconds(40));
    absl::StatusOr<ContainerState> state = InspectState(id);
    if (!state.ok()) break;
    exit.oom_killed = state->oom_killed;
    if (exit.oom_killed || exit.exit_code != kSigkillExit) break;
  }
  return exit;
}

absl::StatusOr<ContainerState> DockerDriver::InspectState(const ContainerId& id) {
  ASSIGN_OR_RETURN(
      json reply,
      engine_.SendJson(Request("GET", absl::StrCat("/containers/", PathPart(id.value), "/json")),
                       absl::StrCat("inspecting container ", id.value)));
  return ParseContainerState(reply);
}

absl::Status DockerDriver::PauseOrUnpause(const ContainerId& id, bool pause) {
  const char* verb = pause ? "pause" : "unpause";
  EngineRequest request =
      Request("POST", absl::StrCat("/containers/", PathPart(id.value), "/", verb));
  request.timeout = options_.pause_timeout;
  const std::string what = absl::StrCat(verb, " container ", id.value);
  ASSIGN_OR_RETURN(EngineResponse reply, engine_.Send(std::move(request)));
  absl::Status status = StatusFromEngineReply(reply.status, reply.body, what);
  if (status.ok() || absl::IsNotFound(status)) return status;
  // Already in the wanted state (idempotent: OK), or not running at all. Engines disagree on
  // the code (20.10 answers 500 "is not paused" to an unpause), so the inspect decides
  // rather than the code or the wording of the message.
  ASSIGN_OR_RETURN(ContainerState state, InspectState(id));
  if (pause && state.paused) return absl::OkStatus();
  if (!pause && !state.paused && state.status == "running") return absl::OkStatus();
  if (state.status != "running" && state.status != "paused") {
    return absl::FailedPreconditionError(
        absl::StrCat(what, ": container is ", state.status, " (", status.message(), ")"));
  }
  return status;
}

absl::Status DockerDriver::Pause(const ContainerId& id) { return freezer_.Freeze(id); }

absl::Status DockerDriver::Unpause(const ContainerId& id) { return freezer_.Thaw(id); }

absl::StatusOr<ContainerStats> DockerDriver::Stats(const ContainerId& id) {
  // one-shot: no second sample a second later (we do not report CPU percentages).
  ASSIGN_OR_RETURN(
      json reply,
      engine_.SendJson(Request("GET", absl::StrCat("/containers/", PathPart(id.value),
                                                   "/stats?stream=false&one-shot=true")),
                       absl::StrCat("stats of container ", id.value)));
  return ParseStats(reply);
}

absl::Status DockerDriver::Remove(const ContainerId& id) {
  freezer_.ForgetForRemoval(id);
  absl::StatusOr<json> reply = engine_.SendJson(
      Request("DELETE", absl::StrCat("/containers/", PathPart(id.value), "?force=1&v=1")),
      absl::StrCat("removing container ", id.value));
  absl::Status status = reply.status();
  if (absl::IsNotFound(status)) status = absl::OkStatus();  // already gone
  // Whatever the engine said, the log stream stops now: the caller's sink may die after
  // we return.
  absl::Status logs = pump_->Remove(id);
  std::string network;
  {
    absl::MutexLock lock(&mu_);
    if (auto it = container_networks_.find(id); it != container_networks_.end()) {
      network = std::move(it->second);
      container_networks_.erase(it);
    }
  }
  networks_.Release(network);
  return status.ok() ? logs : status;
}

absl::StatusOr<ImageInfo> DockerDriver::InspectImage(absl::string_view image) {
  ASSIGN_OR_RETURN(
      json reply,
      engine_.SendJson(Request("GET", absl::StrCat("/images/", PathPart(image), "/json")),
                       absl::StrCat("inspecting image ", image)));
  return ParseImageInspect(reply);
}

absl::Status DockerDriver::PullImage(absl::string_view image, const RegistryAuth& auth) {
  RegistryAuthConfig config;
  if (!auth.registry_token.empty()) {
    config.registry_token = auth.registry_token;
  } else {
    config = credentials_.Find(ParseImageRef(image).registry);
  }
  RETURN_IF_ERROR(puller_.Pull(image, EncodeRegistryAuth(config)));
  // The engine said yes; make sure the image is really there before the caller creates a
  // container from it (fn maps "still missing" to a retryable busy error).
  absl::StatusOr<ImageInfo> pulled = InspectImage(image);
  if (absl::IsNotFound(pulled.status())) {
    return absl::UnavailableError(absl::StrCat("image ", image, " is missing after its pull"));
  }
  return pulled.status();
}

absl::StatusOr<std::vector<ContainerSummary>> DockerDriver::ListContainers(
    const std::map<std::string, std::string>& labels) {
  json filter = json::array();
  for (const auto& [key, value] : labels) filter.push_back(absl::StrCat(key, "=", value));
  std::string path = "/containers/json?all=1";
  if (!filter.empty()) {
    absl::StrAppend(&path, "&filters=", UrlEncode(json{{"label", filter}}.dump()));
  }
  ASSIGN_OR_RETURN(json reply, engine_.SendJson(Request("GET", path), "listing containers"));
  return ParseContainerList(reply);
}

absl::StatusOr<int> DockerDriver::RemoveOrphans() {
  if (options_.container_label_tag.empty()) return 0;
  ASSIGN_OR_RETURN(std::vector<ContainerSummary> containers,
                   ListContainers({{kClassifierLabel, options_.container_label_tag}}));
  int removed = 0;
  for (const ContainerSummary& c : containers) {
    auto instance = c.labels.find(kInstanceLabel);
    if (instance != c.labels.end() && instance->second == instance_id_) continue;
    // Some engines cannot kill a frozen container; thaw it first. Failure is not fatal:
    // the remove below reports what matters.
    if (c.state == "paused") PauseOrUnpause(c.id, false).IgnoreError();
    // A runner that died may have left it frozen through the cgroup: the engine says running.
    if (c.state == "running") freezer_.ThawLeftover(c.id);
    absl::StatusOr<json> reply = engine_.SendJson(
        Request("DELETE", absl::StrCat("/containers/", PathPart(c.id.value), "?force=1&v=1")),
        absl::StrCat("removing orphan container ", c.name));
    if (reply.ok() || absl::IsNotFound(reply.status())) {
      ++removed;
    } else {
      LOG(WARNING) << reply.status();
    }
  }
  if (removed > 0) LOG(INFO) << "removed " << removed << " orphaned containers";
  return removed;
}

absl::Status DockerDriver::LoadImages(const std::string& tarball) {
  EngineRequest request = Request("POST", "/images/load?quiet=1");
  request.headers.push_back("Content-Type: application/x-tar");
  request.body_file = tarball;
  request.timeout = absl::InfiniteDuration();  // as fn: a large tarball takes what it takes
  // The reply is a progress stream like a pull's; an error can come in it with status 200.
  PullProgressScanner scanner;
  std::string head;  // the start of the reply, for a non-200 answer's message
  request.on_body = [&](absl::string_view bytes) {
    scanner.Feed(bytes);
    if (head.size() < 4096) absl::StrAppend(&head, bytes.substr(0, 4096 - head.size()));
    return true;
  };
  const std::string what = absl::StrCat("loading images from ", tarball);
  ASSIGN_OR_RETURN(EngineResponse reply, engine_.Send(std::move(request)));
  scanner.Finish();
  RETURN_IF_ERROR(StatusFromEngineReply(reply.status, head, what));
  if (!scanner.error().empty()) {
    return absl::InvalidArgumentError(absl::StrCat(what, ": ", scanner.error()));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<ImageInfo>> DockerDriver::ListImages() {
  ASSIGN_OR_RETURN(json reply, engine_.SendJson(Request("GET", "/images/json"), "listing images"));
  return ParseImageList(reply);
}

absl::Status DockerDriver::RemoveImage(absl::string_view image) {
  return engine_
      .SendJson(Request("DELETE", absl::StrCat("/images/", PathPart(image))),
                absl::StrCat("removing image ", image))
      .status();
}

}  // namespace fnrunner
