#pragma once

#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"

namespace fnrunner {

// Spreads containers over the configured networks: each container joins the network with
// the fewest current users. Thread-safe.
class NetworkPicker {
 public:
  explicit NetworkPicker(std::vector<std::string> networks);

  // The least-used network (ties: the first configured), counted as used until Release();
  // "" when no networks are configured.
  std::string Pick() ABSL_LOCKS_EXCLUDED(mu_);
  // Gives back one use of `network`; "" and unknown names are ignored.
  void Release(const std::string& network) ABSL_LOCKS_EXCLUDED(mu_);
  int Users(const std::string& network) ABSL_LOCKS_EXCLUDED(mu_);

 private:
  const std::vector<std::string> networks_;
  absl::Mutex mu_;
  absl::flat_hash_map<std::string, int> users_ ABSL_GUARDED_BY(mu_);
};

}  // namespace fnrunner
