#pragma once

// Strong ID types: IDs that travel together get their own types, so a call ID cannot be
// passed where a container ID is expected.

#include <ostream>
#include <string>
#include <utility>

namespace fnrunner {

// A container as the engine knows it (Docker's 64-hex id).
struct ContainerId {
  std::string value;
  friend bool operator==(const ContainerId&, const ContainerId&) = default;
  template <typename H>
  friend H AbslHashValue(H h, const ContainerId& id) {
    return H::combine(std::move(h), id.value);
  }
  friend std::ostream& operator<<(std::ostream& os, const ContainerId& id) {
    return os << id.value;
  }
};

// One function invocation (fn's 26-character call id).
struct CallId {
  std::string value;
  friend bool operator==(const CallId&, const CallId&) = default;
  template <typename H>
  friend H AbslHashValue(H h, const CallId& id) {
    return H::combine(std::move(h), id.value);
  }
  friend std::ostream& operator<<(std::ostream& os, const CallId& id) {
    return os << id.value;
  }
};

}  // namespace fnrunner
