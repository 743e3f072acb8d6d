#include "drivers/docker/engine_replies.h"

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace fnrunner {
namespace {

using json = nlohmann::json;

const json* Field(const json& object, const char* key) {
  if (!object.is_object()) return nullptr;
  auto it = object.find(key);
  return it == object.end() ? nullptr : &*it;
}

std::string String(const json& object, const char* key) {
  const json* f = Field(object, key);
  return f != nullptr && f->is_string() ? f->get<std::string>() : "";
}

int64_t Int(const json& object, const char* key) {
  const json* f = Field(object, key);
  if (f == nullptr || !f->is_number()) return 0;
  if (f->is_number_unsigned()) {
    const uint64_t v = f->get<uint64_t>();
    return v > static_cast<uint64_t>(INT64_MAX) ? INT64_MAX : static_cast<int64_t>(v);
  }
  if (f->is_number_float()) return static_cast<int64_t>(f->get<double>());
  return f->get<int64_t>();
}

bool Bool(const json& object, const char* key) {
  const json* f = Field(object, key);
  return f != nullptr && f->is_boolean() && f->get<bool>();
}

std::vector<std::string> Strings(const json& object, const char* key) {
  std::vector<std::string> out;
  const json* f = Field(object, key);
  if (f == nullptr || !f->is_array()) return out;
  for (const json& item : *f) {
    if (item.is_string()) out.push_back(item.get<std::string>());
  }
  return out;
}

absl::Status Bad(absl::string_view what) {
  return absl::InternalError(absl::StrCat("unexpected engine reply: ", what));
}

ImageInfo ImageFrom(const json& image) {
  ImageInfo info;
  info.id = String(image, "Id");
  info.size_bytes = Int(image, "Size");
  info.repo_tags = Strings(image, "RepoTags");
  return info;
}

}  // namespace

absl::StatusOr<ImageInfo> ParseImageInspect(const json& reply) {
  if (String(reply, "Id").empty()) return Bad("image inspect without Id");
  ImageInfo info = ImageFrom(reply);
  if (const json* config = Field(reply, "Config")) {
    const json* volumes = Field(*config, "Volumes");
    info.declares_volumes = volumes != nullptr && volumes->is_object() && !volumes->empty();
  }
  return info;
}

absl::StatusOr<std::vector<ImageInfo>> ParseImageList(const json& reply) {
  if (!reply.is_array()) return Bad("image list is not an array");
  std::vector<ImageInfo> out;
  for (const json& image : reply) {
    if (String(image, "Id").empty()) continue;
    out.push_back(ImageFrom(image));
  }
  return out;
}

absl::StatusOr<std::vector<ContainerSummary>> ParseContainerList(const json& reply) {
  if (!reply.is_array()) return Bad("container list is not an array");
  std::vector<ContainerSummary> out;
  for (const json& c : reply) {
    ContainerSummary summary;
    summary.id = ContainerId{String(c, "Id")};
    if (summary.id.value.empty()) continue;
    std::vector<std::string> names = Strings(c, "Names");
    if (!names.empty()) {
      summary.name = names.front();
      if (!summary.name.empty() && summary.name[0] == '/') summary.name.erase(0, 1);
    }
    summary.state = String(c, "State");
    if (const json* labels = Field(c, "Labels"); labels != nullptr && labels->is_object()) {
      for (const auto& [key, value] : labels->items()) {
        if (value.is_string()) summary.labels[key] = value.get<std::string>();
      }
    }
    out.push_back(std::move(summary));
  }
  return out;
}

absl::StatusOr<ContainerStats> ParseStats(const json& reply) {
  if (!reply.is_object()) return Bad("stats is not an object");
  ContainerStats stats;
  if (const json* memory = Field(reply, "memory_stats")) {
    int64_t usage = Int(*memory, "usage");
    if (const json* detail = Field(*memory, "stats")) {
      // cgroup v1 reports total_inactive_file, v2 inactive_file.
      int64_t inactive = Int(*detail, "total_inactive_file");
      if (Field(*detail, "total_inactive_file") == nullptr) {
        inactive = Int(*detail, "inactive_file");
      }
      if (inactive > 0 && inactive < usage) usage -= inactive;
    }
    stats.memory_usage_bytes = usage;
    stats.memory_limit_bytes = Int(*memory, "limit");
  }
  if (const json* cpu = Field(reply, "cpu_stats")) {
    if (const json* usage = Field(*cpu, "cpu_usage")) {
      stats.cpu_total = absl::Nanoseconds(Int(*usage, "total_usage"));
    }
  }
  return stats;
}

absl::StatusOr<ExitInfo> ParseWait(const json& reply) {
  if (Field(reply, "StatusCode") == nullptr) return Bad("wait reply without StatusCode");
  ExitInfo exit;
  exit.exit_code = Int(reply, "StatusCode");
  return exit;
}

absl::StatusOr<ContainerState> ParseContainerState(const json& reply) {
  const json* state = Field(reply, "State");
  if (state == nullptr || !state->is_object()) return Bad("container inspect without State");
  ContainerState out;
  out.status = String(*state, "Status");
  out.paused = Bool(*state, "Paused");
  out.oom_killed = Bool(*state, "OOMKilled");
  if (const json* pid = Field(*state, "Pid"); pid != nullptr && pid->is_number_integer()) {
    out.pid = pid->get<int64_t>();
  }
  return out;
}

}  // namespace fnrunner
