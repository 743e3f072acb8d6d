#pragma once

#include <map>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "drivers/docker/engine_client.h"

namespace fnrunner {

// Keeps the engine's image store under a size high-water mark by removing the least recently
// used images (spec §6.5) without fn's bugs (§10.18): the store's size is the engine's own
// LayersSize (shared layers counted once), an image frees only its unshared bytes, images
// any container uses (in any state) are never removed, and a multi-tagged image is removed
// tag by tag instead of by id (which the engine refuses). An image the engine refuses to
// remove is skipped until the next Tick(), never retried in a loop. Thread-safe.
class ImageCleaner {
 public:
  struct Options {
    int64_t max_size_bytes = 0;            // 0 disables the cleaner
    std::vector<std::string> exempt_tags;  // "repo:tag" never removed
    // Only images carrying this label ("key=value") are candidates; empty = all images.
    // For tests, and for an engine shared with other software.
    std::string only_label;
  };

  // `engine` must outlive the cleaner.
  ImageCleaner(EngineClient& engine, Options options, absl::Duration request_timeout)
      : engine_(engine), options_(std::move(options)), request_timeout_(request_timeout) {}

  // Records that `image` (as named in a container spec) was just used.
  void Touch(absl::string_view image, absl::Time now) ABSL_LOCKS_EXCLUDED(mu_);

  // One cleaning pass: while the store is over the mark, removes the least recently used
  // candidate. Returns how many images were removed. Unavailable if the engine is down.
  // Blocks on engine calls; meant for the runner's periodic Tick().
  absl::StatusOr<int> Tick() ABSL_LOCKS_EXCLUDED(mu_);

 private:
  struct Candidate {
    std::string id;
    std::vector<std::string> tags;
    int64_t unique_bytes = 0;
    absl::Time last_used = absl::InfinitePast();
  };
  absl::Status RemoveImage(const Candidate& candidate);

  EngineClient& engine_;
  const Options options_;
  const absl::Duration request_timeout_;
  absl::Mutex mu_;
  // Image names (as in specs, normalised "repo:tag") to their last use.
  absl::flat_hash_map<std::string, absl::Time> last_used_ ABSL_GUARDED_BY(mu_);
};

}  // namespace fnrunner
