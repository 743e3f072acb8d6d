#include "lb-client/sip_hash.h"

#include <cstdint>

namespace fnrunner {
namespace {

constexpr uint64_t Rotl(uint64_t x, int b) { return (x << b) | (x >> (64 - b)); }

struct SipState {
  uint64_t v0, v1, v2, v3;

  void Round() {
    v0 += v1;
    v1 = Rotl(v1, 13);
    v1 ^= v0;
    v0 = Rotl(v0, 32);
    v2 += v3;
    v3 = Rotl(v3, 16);
    v3 ^= v2;
    v0 += v3;
    v3 = Rotl(v3, 21);
    v3 ^= v0;
    v2 += v1;
    v1 = Rotl(v1, 17);
    v1 ^= v2;
    v2 = Rotl(v2, 32);
  }

  // One message word: c = 2 compression rounds.
  void Absorb(uint64_t m) {
    v3 ^= m;
    Round();
    Round();
    v0 ^= m;
  }
};

uint64_t LoadLe64(const unsigned char* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = v << 8 | p[i];
  return v;
}

}  // namespace

uint64_t SipHash24(uint64_t k0, uint64_t k1, absl::string_view data) {
  SipState s{k0 ^ 0x736f6d6570736575ULL, k1 ^ 0x646f72616e646f6dULL, k0 ^ 0x6c7967656e657261ULL,
             k1 ^ 0x7465646279746573ULL};
  const auto* bytes = reinterpret_cast<const unsigned char*>(data.data());
  const size_t full = data.size() / 8 * 8;
  for (size_t i = 0; i < full; i += 8) s.Absorb(LoadLe64(bytes + i));
  // The last word: the remaining bytes little-endian, the length (mod 256) in the top byte.
  uint64_t last = static_cast<uint64_t>(data.size() & 0xff) << 56;
  for (size_t i = full; i < data.size(); ++i) last |= uint64_t{bytes[i]} << (8 * (i - full));
  s.Absorb(last);
  // d = 4 finalization rounds.
  s.v2 ^= 0xff;
  for (int i = 0; i < 4; ++i) s.Round();
  return s.v0 ^ s.v1 ^ s.v2 ^ s.v3;
}

int FnJumpHash(uint64_t key, int buckets) {
  int64_t b = -1;
  int64_t j = 0;
  while (j < buckets) {
    b = j;
    key = key * 2862933555777941757ULL + 1;
    const uint64_t divisor = key >> 33;
    if (divisor == 0) break;  // Go panics here; we end at the current bucket instead.
    j = (b + 1) * static_cast<int64_t>((uint64_t{1} << 31) / divisor + 1);
  }
  return b < 0 ? 0 : static_cast<int>(b);
}

int JumpHash(uint64_t key, int buckets) {
  int64_t b = -1;
  int64_t j = 0;
  while (j < buckets) {
    b = j;
    key = key * 2862933555777941757ULL + 1;
    j = static_cast<int64_t>(static_cast<double>(b + 1) *
                             (static_cast<double>(int64_t{1} << 31) /
                              static_cast<double>((key >> 33) + 1)));
  }
  return b < 0 ? 0 : static_cast<int>(b);
}

}  // namespace fnrunner
