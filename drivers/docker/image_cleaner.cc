#include "drivers/docker/image_cleaner.h"

#include <algorithm>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "base/status_macros.h"
#include "glog/logging.h"

namespace fnrunner {
namespace {

using json = nlohmann::json;

// "busybox" -> "busybox:latest": specs may omit the tag, RepoTags never do.
std::string WithTag(absl::string_view image) {
  const size_t slash = image.rfind('/');
  const absl::string_view last = slash == absl::string_view::npos ? image : image.substr(slash);
  if (absl::StrContains(last, ':') || absl::StrContains(image, '@')) return std::string(image);
  return absl::StrCat(image, ":latest");
}

int64_t IntField(const json& object, const char* key) {
  auto it = object.find(key);
  return it != object.end() && it->is_number_integer() ? it->get<int64_t>() : 0;
}

}  // namespace

void ImageCleaner::Touch(absl::string_view image, absl::Time now) {
  if (options_.max_size_bytes <= 0) return;
  absl::MutexLock lock(&mu_);
  last_used_[WithTag(image)] = now;
}

absl::StatusOr<int> ImageCleaner::Tick() {
  if (options_.max_size_bytes <= 0) return 0;
  EngineRequest request;
  request.path = "/system/df";
  request.timeout = request_timeout_;
  ASSIGN_OR_RETURN(json df, engine_.SendJson(std::move(request), "GET /system/df"));
  if (!df.is_object() || !df.contains("Images") || !df["Images"].is_array()) {
    return absl::InternalError("GET /system/df: reply has no Images");
  }
  int64_t total = IntField(df, "LayersSize");
  if (total <= options_.max_size_bytes) return 0;

  std::vector<Candidate> candidates;
  {
    absl::MutexLock lock(&mu_);
    for (const json& image : df["Images"]) {
      if (!image.is_object() || !image.contains("Id") || !image["Id"].is_string()) continue;
      if (IntField(image, "Containers") != 0) continue;  // in use, in any state
      Candidate c;
      c.id = image["Id"].get<std::string>();
      if (image.contains("RepoTags") && image["RepoTags"].is_array()) {
        for (const json& tag : image["RepoTags"]) {
          if (tag.is_string() && tag != "<none>:<none>") c.tags.push_back(tag.get<std::string>());
        }
      }
      const bool exempt = std::any_of(c.tags.begin(), c.tags.end(), [&](const std::string& t) {
        return std::find(options_.exempt_tags.begin(), options_.exempt_tags.end(), t) !=
               options_.exempt_tags.end();
      });
      if (exempt) continue;
      if (!options_.only_label.empty()) {
        const size_t eq = options_.only_label.find('=');
        const std::string key = options_.only_label.substr(0, eq);
        const std::string value = eq == std::string::npos ? "" : options_.only_label.substr(eq + 1);
        const json* labels = image.contains("Labels") ? &image["Labels"] : nullptr;
        if (labels == nullptr || !labels->is_object() || !labels->contains(key) ||
            (*labels)[key] != value) {
          continue;
        }
      }
      c.unique_bytes =
          std::max<int64_t>(0, IntField(image, "Size") - IntField(image, "SharedSize"));
      for (const std::string& tag : c.tags) {
        if (auto it = last_used_.find(tag); it != last_used_.end()) {
          c.last_used = std::max(c.last_used, it->second);
        }
      }
      candidates.push_back(std::move(c));
    }
  }
  // Least recently used first; never-used images (InfinitePast) before any used one.
  std::stable_sort(
      candidates.begin(), candidates.end(),
      [](const Candidate& a, const Candidate& b) { return a.last_used < b.last_used; });

  int removed = 0;
  for (const Candidate& c : candidates) {
    if (total <= options_.max_size_bytes) break;
    if (absl::Status s = RemoveImage(c); !s.ok()) {
      if (absl::IsUnavailable(s)) return s;
      // In use since the listing (409), or otherwise refused: next Tick() looks again.
      LOG(WARNING) << "image cleaner: " << s;
      continue;
    }
    total -= c.unique_bytes;
    ++removed;
    VLOG(1) << "image cleaner removed " << c.id;
  }
  return removed;
}

absl::Status ImageCleaner::RemoveImage(const Candidate& candidate) {
  // Tag by tag: the engine refuses to delete a multi-tagged image by id without force, and
  // force would also untag it from under a concurrent pull. The last untag deletes it.
  std::vector<std::string> names = candidate.tags;
  if (names.empty()) names.push_back(candidate.id);
  for (const std::string& name : names) {
    EngineRequest request;
    request.method = "DELETE";
    request.path = absl::StrCat("/images/", UrlEncode(name, ":@/"));
    request.timeout = request_timeout_;
    absl::StatusOr<json> reply =
        engine_.SendJson(std::move(request), absl::StrCat("removing image ", name));
    if (!reply.ok() && !absl::IsNotFound(reply.status())) return reply.status();
  }
  return absl::OkStatus();
}

}  // namespace fnrunner
