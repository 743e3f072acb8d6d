#pragma once

// The hashes fn's consistent-hash placer uses (runner-protocol.md §9.3,
// placement-and-metrics.md §1.5): SipHash-2-4 and fn's integer-division variant of jump
// consistent hashing. Pure functions; thread-safe.

#include <cstdint>

#include "absl/strings/string_view.h"

namespace fnrunner {

// SipHash-2-4 with 64-bit output (Aumasson and Bernstein). The 128-bit key is given as its
// two little-endian halves: k0 from key bytes 0..7, k1 from bytes 8..15. Our own code (no
// library we use exports it); not constant-time, used for placement only.
uint64_t SipHash24(uint64_t k0, uint64_t k1, absl::string_view data);

// fn's CH key halves: k0 = 0, k1 = 0x4c617279426f6174 (the key's last eight bytes read
// "taoByraL", i.e. "LaryBoat" big-endian).
inline constexpr uint64_t kFnChHashK0 = 0;
inline constexpr uint64_t kFnChHashK1 = 0x4c617279426f6174;

// fn's CH hash of a call: SipHash-2-4 of the fn_id bytes under fn's key.
inline uint64_t FnChHash(absl::string_view fn_id) {
  return SipHash24(kFnChHashK0, kFnChHashK1, fn_id);
}

// fn's jump hash, reproduced bug for bug: per step j = (b + 1) * (2^31 / (key >> 33) + 1) in
// integer arithmetic, where the paper computes (b + 1) * 2^31 / ((key >> 33) + 1) in floating
// point. So every step at least doubles j: bucket 1 is never returned, with 2 buckets the
// result is always 0, and the split is skewed (3 buckets: about 50/0/50). Where Go would
// divide by zero (key >> 33 == 0, probability 2^-31 per step) we jump past the last bucket.
// Returns a bucket in [0, buckets); 0 if buckets <= 1.
//
// Why keep the bug: with the same runner list, our "ch" placer then sends each function to
// the same runner fn's LB would, so mixed fleets and A/B comparisons with fn stay faithful.
// Where one might deliberately differ: a new deployment with no fn LB to agree with should
// use JumpHash (even spread, minimal remapping) or rendezvous hashing (no list-order
// dependence; the capacity placer uses that).
int FnJumpHash(uint64_t key, int buckets);

// Lamping and Veach's jump consistent hash as published (floating-point step).
int JumpHash(uint64_t key, int buckets);

}  // namespace fnrunner
