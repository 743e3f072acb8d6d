#include "drivers/docker/network_picker.h"

#include <utility>

namespace fnrunner {

NetworkPicker::NetworkPicker(std::vector<std::string> networks) : networks_(std::move(networks)) {}

std::string NetworkPicker::Pick() {
  if (networks_.empty()) return "";
  absl::MutexLock lock(&mu_);
  const std::string* best = &networks_.front();
  for (const std::string& network : networks_) {
    if (users_[network] < users_[*best]) best = &network;
  }
  ++users_[*best];
  return *best;
}

void NetworkPicker::Release(const std::string& network) {
  absl::MutexLock lock(&mu_);
  auto it = users_.find(network);
  if (it != users_.end() && it->second > 0) --it->second;
}

int NetworkPicker::Users(const std::string& network) {
  absl::MutexLock lock(&mu_);
  auto it = users_.find(network);
  return it == users_.end() ? 0 : it->second;
}

}  // namespace fnrunner
