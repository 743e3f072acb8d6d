#pragma once

#include <cstdint>
#include <string>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace fnrunner {

// Makes fn-style call ids: 26 characters of Crockford base32 (0-9, A-Z without I, L, O, U)
// encoding 128 bits, ULID layout: 48 bits of Unix milliseconds, then 80 bits made of a random
// per-generator prefix and a counter. Ids sort by time as strings, and ids from one generator
// strictly increase, even within a millisecond or if the clock steps back. Thread-safe.
class CallIdGenerator {
 public:
  CallIdGenerator();  // a random prefix
  explicit CallIdGenerator(uint64_t seed);  // deterministic, for tests and seeded benchmarks

  std::string Next(absl::Time now) ABSL_LOCKS_EXCLUDED(mu_);

 private:
  const uint64_t node_;  // 40 random bits
  absl::Mutex mu_;
  uint64_t last_ms_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t counter_ ABSL_GUARDED_BY(mu_);  // 40 bits, starts random, +1 per id
};

}  // namespace fnrunner
