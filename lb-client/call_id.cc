#include "lb-client/call_id.h"

#include <algorithm>

#include "absl/random/random.h"

namespace fnrunner {
namespace {

constexpr char kCrockford[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
constexpr uint64_t kMask40 = (uint64_t{1} << 40) - 1;

// SplitMix64: spreads a seed into well-mixed bits.
uint64_t Mix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

}  // namespace

CallIdGenerator::CallIdGenerator() : CallIdGenerator(absl::Uniform<uint64_t>(absl::BitGen())) {}

CallIdGenerator::CallIdGenerator(uint64_t seed)
    : node_(Mix(seed) & kMask40), counter_(Mix(seed + 1) & kMask40) {}

std::string CallIdGenerator::Next(absl::Time now) {
  uint64_t ms = 0;
  uint64_t low = 0;
  {
    absl::MutexLock lock(&mu_);
    ms = static_cast<uint64_t>(std::max<int64_t>(0, absl::ToUnixMillis(now)));
    // Never go back: a clock step keeps the previous millisecond, the counter keeps order.
    if (ms < last_ms_) ms = last_ms_;
    counter_ = (counter_ + 1) & kMask40;
    if (ms == last_ms_ && counter_ == 0) ++ms;  // counter wrapped within one millisecond
    last_ms_ = ms;
    low = counter_;
  }
  // 128 bits: ms (48) | node (40) | counter (40), as hi:lo 64-bit halves.
  const uint64_t hi = (ms & ((uint64_t{1} << 48) - 1)) << 16 | (node_ >> 24);
  const uint64_t lo = (node_ & ((uint64_t{1} << 24) - 1)) << 40 | low;
  // 26 characters x 5 bits = 130 bits: the first character carries the top 3 bits.
  std::string id(26, '0');
  for (int i = 25; i >= 0; --i) {
    const int bit = (25 - i) * 5;  // position of this character's lowest bit
    uint64_t value = 0;
    for (int b = 0; b < 5; ++b) {
      const int pos = bit + b;
      if (pos >= 128) break;
      const uint64_t word = pos < 64 ? lo : hi;
      value |= ((word >> (pos % 64)) & 1) << b;
    }
    id[i] = kCrockford[value];
  }
  return id;
}

}  // namespace fnrunner
