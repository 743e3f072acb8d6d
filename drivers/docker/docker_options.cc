#include "drivers/docker/docker_options.h"

#include <algorithm>
#include <cstdlib>
#include <limits>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "base/status_macros.h"

namespace fnrunner {
namespace {

// The variable's trimmed value; nullopt if unset.
std::optional<std::string> Get(const EnvLookup& lookup, absl::string_view name) {
  std::optional<std::string> value = lookup(name);
  if (!value) return std::nullopt;
  return std::string(absl::StripAsciiWhitespace(*value));
}

absl::Status Invalid(absl::string_view name, absl::string_view value, absl::string_view want) {
  return absl::InvalidArgumentError(absl::StrCat(name, "='", value, "': expected ", want));
}

// Empty or unset keeps `*out`.
absl::Status ReadInt(const EnvLookup& lookup, absl::string_view name, int64_t* out) {
  std::optional<std::string> value = Get(lookup, name);
  if (!value || value->empty()) return absl::OkStatus();
  int64_t parsed = 0;
  if (!absl::SimpleAtoi(*value, &parsed) || parsed < 0) {
    return Invalid(name, *value, "a non-negative integer");
  }
  *out = parsed;
  return absl::OkStatus();
}

// fn's ulimit rule: present but empty is an error; a valid number above the int64 range
// means "do not set this ulimit".
absl::Status ReadUlimit(const EnvLookup& lookup, absl::string_view name,
                        std::optional<int64_t>* out) {
  std::optional<std::string> value = Get(lookup, name);
  if (!value) return absl::OkStatus();
  int64_t parsed = 0;
  if (absl::SimpleAtoi(*value, &parsed) && parsed >= 0) {
    *out = parsed;
    return absl::OkStatus();
  }
  if (!value->empty() && std::all_of(value->begin(), value->end(), absl::ascii_isdigit)) {
    *out = std::nullopt;
    return absl::OkStatus();
  }
  return Invalid(name, *value, "a non-negative integer (above 2^63-1 to leave it unset)");
}

// Go's strconv.ParseBool spellings.
absl::Status ReadBool(const EnvLookup& lookup, absl::string_view name, bool* out) {
  std::optional<std::string> value = Get(lookup, name);
  if (!value || value->empty()) return absl::OkStatus();
  const std::string v = *value;
  if (v == "1" || v == "t" || v == "T" || v == "true" || v == "TRUE" || v == "True") {
    *out = true;
  } else if (v == "0" || v == "f" || v == "F" || v == "false" || v == "FALSE" || v == "False") {
    *out = false;
  } else {
    return Invalid(name, v, "a boolean (1/0, t/f, true/false)");
  }
  return absl::OkStatus();
}

// Integer milliseconds; negative means "no limit" (fn's rule).
absl::Status ReadMsecs(const EnvLookup& lookup, absl::string_view name, absl::Duration* out) {
  std::optional<std::string> value = Get(lookup, name);
  if (!value || value->empty()) return absl::OkStatus();
  int64_t ms = 0;
  if (!absl::SimpleAtoi(*value, &ms)) return Invalid(name, *value, "integer milliseconds");
  *out = ms < 0 ? absl::InfiniteDuration() : absl::Milliseconds(ms);
  return absl::OkStatus();
}

std::vector<std::string> Words(absl::string_view text) {
  return absl::StrSplit(text, absl::ByAnyChar(" \t\n\r"), absl::SkipEmpty());
}

}  // namespace

EnvLookup ProcessEnv() {
  return [](absl::string_view name) -> std::optional<std::string> {
    const char* value = std::getenv(std::string(name).c_str());
    if (value == nullptr) return std::nullopt;
    return std::string(value);
  };
}

absl::StatusOr<DockerDriverOptions> DockerDriverOptionsFromEnv(const EnvLookup& lookup) {
  DockerDriverOptions o;
  if (std::optional<std::string> host = Get(lookup, "DOCKER_HOST"); host && !host->empty()) {
    absl::string_view path = *host;
    if (!absl::ConsumePrefix(&path, "unix://") || path.empty()) {
      return Invalid("DOCKER_HOST", *host, "unix://<socket path> (only unix sockets)");
    }
    o.socket_path = std::string(path);
  }
  RETURN_IF_ERROR(ReadInt(lookup, "FN_MAX_PIDS", &o.max_pids));
  RETURN_IF_ERROR(ReadUlimit(lookup, "FN_MAX_OPEN_FILES", &o.max_open_files));
  RETURN_IF_ERROR(ReadUlimit(lookup, "FN_MAX_LOCKED_MEMORY", &o.max_locked_memory));
  RETURN_IF_ERROR(ReadUlimit(lookup, "FN_MAX_PENDING_SIGNALS", &o.max_pending_signals));
  RETURN_IF_ERROR(ReadUlimit(lookup, "FN_MAX_MESSAGE_QUEUE", &o.max_message_queue));
  RETURN_IF_ERROR(ReadInt(lookup, "FN_MAX_TMPFS_INODES", &o.max_tmpfs_inodes));
  RETURN_IF_ERROR(ReadInt(lookup, "FN_MAX_FS_SIZE_MB", &o.max_fs_size_mb));
  RETURN_IF_ERROR(ReadBool(lookup, "FN_DISABLE_READONLY_ROOTFS", &o.disable_readonly_rootfs));
  RETURN_IF_ERROR(
      ReadBool(lookup, "FN_DISABLE_UNPRIVILEGED_CONTAINERS", &o.disable_unprivileged_containers));
  if (std::optional<std::string> v = Get(lookup, "FN_DOCKER_NETWORKS")) o.networks = Words(*v);
  if (std::optional<std::string> v = Get(lookup, "FN_CONTAINER_LABEL_TAG")) {
    o.container_label_tag = *v;
  }
  if (std::optional<std::string> v = Get(lookup, "FN_DOCKER_AUTH")) o.docker_auth_json = *v;
  if (std::optional<std::string> dir = Get(lookup, "DOCKER_CONFIG"); dir && !dir->empty()) {
    o.docker_config_path = absl::StrCat(*dir, "/config.json");
  } else if (std::optional<std::string> home = Get(lookup, "HOME"); home && !home->empty()) {
    o.docker_config_path = absl::StrCat(*home, "/.docker/config.json");
  }
  if (std::optional<std::string> v = Get(lookup, "FN_DOCKER_FREEZER"); v && !v->empty()) {
    if (*v == "auto") {
      o.freezer = DockerDriverOptions::FreezerMode::kAuto;
    } else if (*v == "cgroup") {
      o.freezer = DockerDriverOptions::FreezerMode::kCgroup;
    } else if (*v == "engine") {
      o.freezer = DockerDriverOptions::FreezerMode::kEngine;
    } else {
      return Invalid("FN_DOCKER_FREEZER", *v, "auto, cgroup or engine");
    }
  }
  if (std::optional<std::string> v = Get(lookup, "FN_DOCKER_LOAD_FILE")) o.load_file = *v;
  RETURN_IF_ERROR(ReadMsecs(lookup, "FN_DOCKER_API_TIMEOUT_MSECS", &o.request_timeout));
  RETURN_IF_ERROR(ReadMsecs(lookup, "FN_HOT_PULL_TIMEOUT_MSECS", &o.pull_timeout));
  RETURN_IF_ERROR(ReadInt(lookup, "FN_IMAGE_CLEAN_MAX_SIZE", &o.image_clean_max_size_bytes));
  if (std::optional<std::string> v = Get(lookup, "FN_IMAGE_CLEAN_EXEMPT_TAGS")) {
    o.image_clean_exempt_tags = Words(*v);
  }
  return o;
}

const std::vector<EnvSettingHelp>& DockerDriverEnvHelp() {
  static const std::vector<EnvSettingHelp> kHelp = {
      {"DOCKER_HOST", "unix:///var/run/docker.sock", "the engine's socket (unix:// only)"},
      {"FN_DOCKER_API_TIMEOUT_MSECS", "30000", "deadline of each engine request but pulls"},
      {"FN_DOCKER_FREEZER", "auto",
       "how idle containers freeze: cgroup (write the cgroup freezer; needs /proc and "
       "/sys/fs/cgroup of the host), engine (Docker's pause) or auto (cgroup where usable)"},
      {"FN_CONTAINER_LABEL_TAG", "fn-runner-<grpc port>",
       "fn-agent-classifier label of this runner's containers; a restarted runner removes "
       "leftovers carrying it"},
      {"FN_DOCKER_NETWORKS", "\"\" (no network)",
       "networks functions join, whitespace-separated (bridge = Docker's default)"},
      {"FN_MAX_PIDS", "50", "pids limit per container (0 = unlimited)"},
      {"FN_MAX_OPEN_FILES", "350", "nofile ulimit per container"},
      {"FN_MAX_LOCKED_MEMORY", "65536", "memlock ulimit per container"},
      {"FN_MAX_PENDING_SIGNALS", "5000", "sigpending ulimit per container"},
      {"FN_MAX_MESSAGE_QUEUE", "819200", "msgqueue ulimit per container"},
      {"FN_MAX_TMPFS_INODES", "0", "inodes of each container's /tmp tmpfs (0 = tmpfs default)"},
      {"FN_MAX_FS_SIZE_MB", "0", "root filesystem size per container (0 = no limit)"},
      {"FN_DISABLE_READONLY_ROOTFS", "false", "give functions a writable root filesystem"},
      {"FN_DISABLE_UNPRIVILEGED_CONTAINERS", "false",
       "run functions as the image's user, not as 1000:1000 with no capabilities"},
      {"FN_DOCKER_AUTH", "\"\"", "registry credentials as JSON ({\"auths\": ...})"},
      {"DOCKER_CONFIG", "~/.docker", "directory of the Docker config.json with credentials"},
      {"FN_DOCKER_LOAD_FILE", "\"\"",
       "image tarball (docker save) loaded at start-up; start-up fails if it cannot be"},
      {"FN_IMAGE_CLEAN_MAX_SIZE", "0", "remove unused images above this many bytes (0 = off)"},
      {"FN_IMAGE_CLEAN_EXEMPT_TAGS", "\"\"", "repo:tag never cleaned, whitespace-separated"},
  };
  return kHelp;
}

}  // namespace fnrunner
