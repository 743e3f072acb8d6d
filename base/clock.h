#pragma once

#include "absl/time/time.h"

namespace fnrunner {

// The source of "now" for everything that measures or schedules time. Code that touches time
// takes a Clock& so tests can substitute FakeClock. Thread-safe.
class Clock {
 public:
  virtual ~Clock() = default;
  virtual absl::Time Now() = 0;

  // The process-wide real clock (absl::Now()). Stateless, so sharing it is safe.
  static Clock& Real();
};

}  // namespace fnrunner
