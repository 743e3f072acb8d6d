#include "lb-client/sip_hash.h"

#include <array>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "base/sha256.h"
#include "absl/strings/escaping.h"

namespace fnrunner {
namespace {

using ::testing::ElementsAreArray;

constexpr std::array<int, 7> kBuckets = {1, 2, 3, 4, 5, 8, 10};

std::vector<int> FnStarts(uint64_t key) {
  std::vector<int> out;
  for (int n : kBuckets) out.push_back(FnJumpHash(key, n));
  return out;
}

std::vector<int> TextbookStarts(uint64_t key) {
  std::vector<int> out;
  for (int n : kBuckets) out.push_back(JumpHash(key, n));
  return out;
}

// The reference key 00 01 .. 0f as SipHash's two little-endian halves.
constexpr uint64_t kRefK0 = 0x0706050403020100ULL;
constexpr uint64_t kRefK1 = 0x0f0e0d0c0b0a0908ULL;

TEST(SipHashTest, MatchesThePublishedReferenceVectors) {
  std::string fifteen;
  for (int i = 0; i < 15; ++i) fifteen.push_back(static_cast<char>(i));

  EXPECT_EQ(SipHash24(kRefK0, kRefK1, ""), 0x726fdb47dd0e0e31ULL);
  EXPECT_EQ(SipHash24(kRefK0, kRefK1, fifteen), 0xa129ca6149be45e5ULL);
}

struct ChVector {
  const char* fn_id;
  uint64_t hash;
  std::vector<int> fn_starts;        // N = 1, 2, 3, 4, 5, 8, 10
  std::vector<int> textbook_starts;  // the same N
};

// placement-and-metrics.md §1.5.
const ChVector kChVectors[] = {
    {"01D1H0PNWANG8G00RZJ0000002", 0x54a71913556ddffeULL, {0, 0, 2, 2, 2, 2, 2},
     {0, 1, 1, 1, 1, 6, 6}},
    {"01CWQ0WMBP1BT02580A0000002", 0x89f0e41cc6db6bb0ULL, {0, 0, 2, 2, 2, 6, 6},
     {0, 1, 2, 3, 3, 5, 5}},
    {"myfn", 0x6fc0948921c0385dULL, {0, 0, 0, 3, 3, 3, 3}, {0, 0, 2, 2, 2, 2, 2}},
    {"", 0x4dccf8f6e62ea9adULL, {0, 0, 2, 2, 2, 6, 6}, {0, 1, 2, 2, 2, 6, 6}},
};

TEST(SipHashTest, FnChHashMatchesTheSpecVectors) {
  for (const ChVector& v : kChVectors) {
    EXPECT_EQ(FnChHash(v.fn_id), v.hash) << "fn_id \"" << v.fn_id << "\"";
  }
}

TEST(FnJumpHashTest, StartIndexesMatchTheSpecVectors) {
  for (const ChVector& v : kChVectors) {
    EXPECT_THAT(FnStarts(v.hash), ElementsAreArray(v.fn_starts)) << "fn_id \"" << v.fn_id << "\"";
  }
}

TEST(FnJumpHashTest, RunnerProtocolSectionNineVectors) {
  // runner-protocol.md §9.3, for N = 1, 2, 3, 5, 10.
  const uint64_t h = FnChHash("01E8S0W2ABNG8G00GZJ000000A");
  std::vector<int> starts;
  for (int n : {1, 2, 3, 5, 10}) starts.push_back(FnJumpHash(h, n));

  EXPECT_EQ(h, 0x9b827ffab5ed4902ULL);
  EXPECT_THAT(starts, ElementsAreArray({0, 0, 0, 4, 4}));
}

TEST(JumpHashTest, TextbookStartIndexesMatchTheSpecVectors) {
  for (const ChVector& v : kChVectors) {
    EXPECT_THAT(TextbookStarts(v.hash), ElementsAreArray(v.textbook_starts))
        << "fn_id \"" << v.fn_id << "\"";
  }
}

TEST(FnJumpHashTest, ReproducesFnsSkew) {
  std::mt19937_64 gen(42);
  std::array<int, 3> three = {};
  bool two_always_zero = true;
  bool one_never_chosen = true;
  for (int i = 0; i < 100000; ++i) {
    const uint64_t key = gen();
    two_always_zero = two_always_zero && FnJumpHash(key, 2) == 0;
    one_never_chosen = one_never_chosen && FnJumpHash(key, 8) != 1;
    ++three[FnJumpHash(key, 3)];
  }

  EXPECT_TRUE(two_always_zero);
  EXPECT_TRUE(one_never_chosen);
  EXPECT_EQ(three[1], 0);
  EXPECT_NEAR(three[0], 50000, 1500);
  EXPECT_NEAR(three[2], 50000, 1500);
}

TEST(FnJumpHashTest, OneOrNoBucketIsZero) {
  EXPECT_EQ(FnJumpHash(12345, 1), 0);
  EXPECT_EQ(FnJumpHash(12345, 0), 0);
  EXPECT_EQ(JumpHash(12345, 0), 0);
}

TEST(LbSha256Test, MatchesFipsVectors) {
  EXPECT_EQ(absl::BytesToHexString(Sha256("")),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(absl::BytesToHexString(Sha256("abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(absl::BytesToHexString(
                Sha256("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq")),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  EXPECT_EQ(absl::BytesToHexString(Sha256(std::string(1000000, 'a'))),
            "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

}  // namespace
}  // namespace fnrunner
