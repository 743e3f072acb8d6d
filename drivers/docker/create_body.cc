#include "drivers/docker/create_body.h"

#include <cstdint>
#include <limits>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace fnrunner {
namespace {

using json = nlohmann::json;

constexpr int64_t kCpuPeriodMicros = 100000;
// Sizes are clamped to what fits in int64 bytes after the MB conversion (spec §10.13).
constexpr int64_t kMaxMb = std::numeric_limits<int64_t>::max() >> 20;

json Ulimit(const char* name, int64_t value) {
  return json{{"Name", name}, {"Soft", value}, {"Hard", value}};
}

}  // namespace

absl::StatusOr<json> BuildCreateBody(const ContainerSpec& spec, const CreateContext& context) {
  const DockerDriverOptions& options = *context.options;
  if (spec.name.empty()) return absl::InvalidArgumentError("container spec has no name");
  if (spec.image.empty()) return absl::InvalidArgumentError("container spec has no image");
  if (spec.memory_mb < 0 || spec.memory_mb > kMaxMb || spec.milli_cpus < 0 ||
      spec.milli_cpus > kMaxMb || spec.tmpfs_mb < 0 || spec.tmpfs_mb > kMaxMb) {
    return absl::InvalidArgumentError(absl::StrCat(
        "container spec '", spec.name, "' has out-of-range sizes: memory_mb=", spec.memory_mb,
        " milli_cpus=", spec.milli_cpus, " tmpfs_mb=", spec.tmpfs_mb));
  }

  json host;
  if (spec.memory_mb > 0) {
    const int64_t bytes = spec.memory_mb << 20;
    host["Memory"] = bytes;
    host["MemorySwap"] = bytes;  // equal to Memory: no swap
    if (context.cgroup_v1) host["MemorySwappiness"] = 0;
  }
  if (spec.milli_cpus > 0) {
    host["CpuQuota"] = spec.milli_cpus * (kCpuPeriodMicros / 1000);
    host["CpuPeriod"] = kCpuPeriodMicros;
  }
  if (options.max_pids > 0) host["PidsLimit"] = options.max_pids;
  json ulimits = json::array();
  if (options.max_open_files) ulimits.push_back(Ulimit("nofile", *options.max_open_files));
  if (options.max_locked_memory) {
    ulimits.push_back(Ulimit("memlock", *options.max_locked_memory));
  }
  if (options.max_pending_signals) {
    ulimits.push_back(Ulimit("sigpending", *options.max_pending_signals));
  }
  if (options.max_message_queue) {
    ulimits.push_back(Ulimit("msgqueue", *options.max_message_queue));
  }
  if (!ulimits.empty()) host["Ulimits"] = ulimits;

  const bool read_only = !options.disable_readonly_rootfs;
  host["ReadonlyRootfs"] = read_only;
  if (spec.tmpfs_mb > 0) {
    std::string tmpfs = absl::StrCat("size=", spec.tmpfs_mb, "m");
    if (options.max_tmpfs_inodes > 0) {
      absl::StrAppend(&tmpfs, ",nr_inodes=", options.max_tmpfs_inodes);
    }
    host["Tmpfs"] = json{{"/tmp", tmpfs}};
  } else if (read_only) {
    // A read-only root still needs a writable /tmp, with the engine's default size.
    host["Tmpfs"] = json{{"/tmp", ""}};
  }
  if (!spec.iofs_host_dir.empty()) {
    host["Binds"] = json::array({absl::StrCat(spec.iofs_host_dir, ":", kIofsMountPoint)});
  }
  if (options.max_fs_size_mb > 0) {
    host["StorageOpt"] = json{{"size", absl::StrCat(options.max_fs_size_mb, "M")}};
  }
  if (!options.disable_unprivileged_containers) {
    host["CapDrop"] = json::array({"all"});
    host["SecurityOpt"] = json::array({"no-new-privileges"});
  }
  host["Init"] = true;
  host["NetworkMode"] = spec.disable_network || context.network_mode.empty() ? std::string("none")
                                                                             : context.network_mode;
  if (spec.syslog_url.empty()) {
    host["LogConfig"] = json{{"Type", "none"}, {"Config", json::object()}};
  } else {
    json config{{"syslog-address", spec.syslog_url},
                {"syslog-facility", "user"},
                {"syslog-format", "rfc5424"}};
    config["tag"] = spec.syslog_tag.empty() ? spec.name : spec.syslog_tag;
    host["LogConfig"] = json{{"Type", "syslog"}, {"Config", config}};
  }

  json labels = json::object();
  for (const auto& [key, value] : spec.labels) labels[key] = value;
  // The runner's own labels win over the spec's, so a spec cannot make a container look
  // like another instance's (RemoveOrphans trusts them).
  if (!options.container_label_tag.empty()) {
    labels[kClassifierLabel] = options.container_label_tag;
    labels[kInstanceLabel] = context.instance_id;
  }

  json body;
  body["Image"] = spec.image;
  body["Cmd"] = nullptr;  // the image's entrypoint and command
  if (!spec.env.empty()) body["Env"] = spec.env;
  if (!options.disable_unprivileged_containers) body["User"] = "1000:1000";
  body["Hostname"] = kContainerHostname;
  body["Labels"] = labels;
  body["AttachStdin"] = false;
  body["OpenStdin"] = false;
  body["StdinOnce"] = false;
  body["AttachStdout"] = true;
  body["AttachStderr"] = true;
  body["Tty"] = false;
  body["HostConfig"] = host;
  body["NetworkingConfig"] = json::object();
  return body;
}

}  // namespace fnrunner
