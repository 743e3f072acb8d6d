#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "drivers/docker/docker_options.h"
#include "drivers/driver.h"
#include "nlohmann/json.hpp"

namespace fnrunner {

// Labels the driver puts on every container when a classifier tag is configured.
inline constexpr char kClassifierLabel[] = "fn-agent-classifier";
inline constexpr char kInstanceLabel[] = "fn-agent-instance";
// Neutral hostname for every container: fn used the runner host's name, which leaks it to
// the function (spec §10.23).
inline constexpr char kContainerHostname[] = "fn";
// Where the iofs directory appears inside the container.
inline constexpr char kIofsMountPoint[] = "/tmp/iofs";

// What besides the spec decides a container's create body.
struct CreateContext {
  const DockerDriverOptions* options = nullptr;  // not owned; must not be null
  std::string instance_id;                       // value of kInstanceLabel
  std::string network_mode;                      // "none", or a network name
  bool cgroup_v1 = true;                         // MemorySwappiness exists only on v1
};

// The JSON body of POST /containers/create for `spec` (spec §5.1 with our changes: no host
// name leak, no KernelMemory, no network unless configured). InvalidArgument for a spec the
// engine would reject or misread (empty name or image, negative or overflowing sizes).
absl::StatusOr<nlohmann::json> BuildCreateBody(const ContainerSpec& spec,
                                               const CreateContext& context);

}  // namespace fnrunner
