#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "drivers/docker/container_freezer.h"
#include "drivers/docker/docker_options.h"
#include "drivers/docker/engine_client.h"
#include "drivers/docker/engine_replies.h"
#include "drivers/docker/http_transport.h"
#include "drivers/docker/image_cleaner.h"
#include "drivers/docker/image_puller.h"
#include "drivers/docker/log_pump.h"
#include "drivers/docker/network_picker.h"
#include "drivers/docker/registry_auth.h"
#include "drivers/driver.h"

namespace fnrunner {

// The Driver over the Docker Engine HTTP API on a unix socket. Requests go through an
// HttpTransport (libcurl, pooled keep-alive connections) with a timeout each; container
// output is read by one LogPump thread for all containers. When the engine goes away calls
// fail fast with Unavailable and work again once it is back, without restarting the
// process. Thread-safe.
class DockerDriver final : public Driver {
 public:
  using Options = DockerDriverOptions;

  // Parses fn's FN_* variables (see DockerDriverOptionsFromEnv).
  static absl::StatusOr<Options> OptionsFromEnv(const EnvLookup& lookup) {
    return DockerDriverOptionsFromEnv(lookup);
  }

  // Connects to the engine at options.socket_path (API version, cgroup version), loads the
  // registry credentials, probes the cgroup freezer and starts the log thread. Unavailable if
  // the engine does not answer, FailedPrecondition if it is too old or FN_DOCKER_FREEZER=cgroup
  // cannot work here, InvalidArgument for bad FN_DOCKER_AUTH.
  static absl::StatusOr<std::unique_ptr<DockerDriver>> Create(Options options);
  // The same over a given transport (tests script the engine). AttachLogs still dials
  // options.socket_path.
  static absl::StatusOr<std::unique_ptr<DockerDriver>> Create(
      Options options, std::unique_ptr<HttpTransport> transport);
  // Stops the log thread; streams of containers never removed get OnClosed() first.
  ~DockerDriver() override;

  absl::StatusOr<ContainerId> Create(const ContainerSpec& spec) override;
  absl::Status AttachLogs(const ContainerId& id, LogSink& sink) override;
  absl::Status Start(const ContainerId& id) override;
  absl::StatusOr<ExitInfo> Wait(const ContainerId& id, absl::Duration timeout) override;
  // Through the cgroup freezer or the engine's pause (freezer_method()); a container frozen
  // through the cgroup still shows "running" in the engine until it is thawed.
  absl::Status Pause(const ContainerId& id) override;
  absl::Status Unpause(const ContainerId& id) override;
  absl::StatusOr<ContainerStats> Stats(const ContainerId& id) override;
  // Thaws a container frozen through the cgroup first. Also returns the container's network
  // and stops its log stream (OnClosed() delivered, no sink call after return) even when the
  // engine call fails.
  absl::Status Remove(const ContainerId& id) override ABSL_LOCKS_EXCLUDED(mu_);
  absl::StatusOr<ImageInfo> InspectImage(absl::string_view image) override;
  // Credentials: auth.registry_token if set, else the static ones for the image's registry.
  // Unavailable if the image is still missing after a successful pull.
  absl::Status PullImage(absl::string_view image, const RegistryAuth& auth) override;
  absl::StatusOr<std::vector<ContainerSummary>> ListContainers(
      const std::map<std::string, std::string>& labels) override;
  // 0 without a classifier tag. Orphans paused or frozen through the cgroup are thawed first.
  // A container that cannot be removed is logged and skipped; Unavailable only if the engine
  // cannot list.
  absl::StatusOr<int> RemoveOrphans() override;

  // One pass of the image cleaner (options.image_clean_max_size_bytes > 0): removes least
  // recently used images no container uses while the image store is over the mark. Returns
  // how many were removed (0 when disabled). For the runner's periodic Tick().
  absl::StatusOr<int> CleanImages() { return cleaner_.Tick(); }

  // Loads the images of a tarball (`docker save` output) through POST /images/load, streamed
  // from disk, with no deadline. NotFound if the file cannot be read; the engine's error
  // otherwise (InvalidArgument for a tarball it rejects). Create() calls it for
  // FN_DOCKER_LOAD_FILE.
  absl::Status LoadImages(const std::string& tarball);

  // Lists images (GET /images/json).
  absl::StatusOr<std::vector<ImageInfo>> ListImages();
  // Deletes an image by id or name without force. NotFound if it is gone; FailedPrecondition
  // if a container uses it or it has several tags.
  absl::Status RemoveImage(absl::string_view image);

  const std::string& instance_id() const { return instance_id_; }
  const std::string& api_version_at_start() const { return api_version_at_start_; }
  // "cgroup" or "engine": how Pause and Unpause freeze (decided at Create()).
  const char* freezer_method() const { return freezer_.method(); }
  // Bytes of container output held in partial lines, over all containers.
  size_t BufferedLogBytes() const { return pump_->BufferedBytes(); }
  size_t LogStreamCount() { return pump_->StreamCount(); }

 private:
  DockerDriver(Options options, std::unique_ptr<HttpTransport> transport,
               std::unique_ptr<LogPump> pump, RegistryCredentials credentials);
  // POST /containers/{id}/<verb> for pause/unpause, made idempotent by inspecting on 409.
  absl::Status PauseOrUnpause(const ContainerId& id, bool pause);
  absl::StatusOr<ContainerState> InspectState(const ContainerId& id);
  EngineRequest Request(std::string method, std::string path) const;

  const Options options_;
  const std::string instance_id_;
  const std::unique_ptr<HttpTransport> transport_;
  EngineClient engine_;
  ImagePuller puller_;
  const RegistryCredentials credentials_;
  NetworkPicker networks_;
  ImageCleaner cleaner_;
  ContainerFreezer freezer_;
  bool cgroup_v1_ = true;             // set in Create(), before the driver is shared
  std::string api_version_at_start_;  // likewise
  absl::Mutex mu_;
  // The network each live container holds, returned on Remove().
  absl::flat_hash_map<ContainerId, std::string> container_networks_ ABSL_GUARDED_BY(mu_);
  // Declared last: destroyed first, so its thread stops before anything it might use.
  std::unique_ptr<LogPump> pump_;
};

}  // namespace fnrunner
