#include "agent/slot_key.h"

#include <functional>
#include <sstream>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/time/time.h"
#include "agent/call.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace fnrunner {
namespace {

std::string HexSha256(absl::string_view data) { return absl::BytesToHexString(Sha256(data)); }

std::string Bytes(int n) {
  std::string out;
  for (int i = 0; i < n; ++i) out.push_back(static_cast<char>(i % 256));
  return out;
}

TEST(Sha256Test, FipsVectors) {
  EXPECT_EQ(HexSha256("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(HexSha256(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(HexSha256("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  EXPECT_EQ(HexSha256("abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnop"
                      "jklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu"),
            "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1");
}

TEST(Sha256Test, MillionAs) {
  EXPECT_EQ(HexSha256(std::string(1'000'000, 'a')),
            "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

// Lengths around the padding boundaries (55/56 bytes: one or two final blocks), checked
// against Python's hashlib.
TEST(Sha256Test, PaddingBoundaries) {
  const std::pair<int, const char*> cases[] = {
      {55, "463eb28e72f82e0a96c0a4cc53690c571281131f672aa229e0d45ae59b598b59"},
      {56, "da2ae4d6b36748f2a318f23e7ab1dfdf45acdc9d049bd80e59de82a60895f562"},
      {63, "29af2686fd53374a36b0846694cc342177e428d1647515f078784d69cdb9e488"},
      {64, "fdeab9acf3710362bd2658cdc9a29e8f9c757fcf9811603a8c447cd1d9151108"},
      {65, "4bfd2c8b6f1eec7a2afeb48b934ee4b2694182027e6d0fc075074f2fabb31781"},
      {119, "da18797ed7c3a777f0847f429724a2d8cd5138e6ed2895c3fa1a6d39d18f7ec6"},
      {120, "f52b23db1fbb6ded89ef42a23ce0c8922c45f25c50b568a93bf1c075420bbb7c"},
      {128, "471fb943aa23c511f6f72f8d1652d9c880cfa392ad80503120547703e56a2be5"},
  };
  for (const auto& [length, want] : cases) {
    EXPECT_EQ(HexSha256(Bytes(length)), want) << length << " bytes";
  }
}

Call BaseCall() {
  Call call;
  call.id = CallId{"01E8S0W2ABNG8G00GZJ000000A"};
  call.app_id = "app1";
  call.fn_id = "fn1";
  call.image = "fn-test/fdk:latest";
  call.timeout = absl::Seconds(30);
  call.idle_timeout = absl::Seconds(30);
  call.memory_mb = 128;
  call.milli_cpus = 100;
  call.config = {{"FN_MEMORY", "128"}, {"A", "b"}};
  call.annotations = {{"k", R"("v")"}};
  return call;
}

TEST(SlotKeyTest, GoldenValueMatchesFnsByteLayout) {
  // Written out by hand from §1.4 (std::string's literal stops at the first NUL, so build it).
  using namespace std::string_literals;
  const std::string layout =
      "app1\0"s
      "\0"s
      "fn1\0"s
      "fn-test/fdk:latest\0"s  // app, syslog, fn, image
      "\x1e\0\0\0"s
      "\x1e\0\0\0"s
      "\0\0\0\0"s  // timeout, idle, tmpfs
      "\x80\0\0\0\0\0\0\0"s
      "\x64\0\0\0\0\0\0\0"s
      "\0"s  // memory, cpus, NUL
      "A\0b\0"s
      "FN_MEMORY\0"s
      "128\0"s
      "\0"s           // sorted config, NUL
      "k\0\"v\"\0"s;  // annotations
  ASSERT_EQ(layout.size(), 83u);

  SlotKey key = HashSlotKey(BaseCall());

  EXPECT_EQ(key.bytes, Sha256(layout));
  EXPECT_EQ(key.Hex(), "a0d4000b758d0da7a484c9f362eb1d372c2da35299768af424e2e849a01c1bcb");
}

TEST(SlotKeyTest, EqualCallsHaveEqualKeys) {
  EXPECT_EQ(HashSlotKey(BaseCall()), HashSlotKey(BaseCall()));
}

TEST(SlotKeyTest, EveryKeyedFieldChangesTheKey) {
  const std::pair<const char*, std::function<void(Call&)>> mutations[] = {
      {"app_id", [](Call& c) { c.app_id = "app2"; }},
      {"syslog_url", [](Call& c) { c.syslog_url = "tcp://logs:514"; }},
      {"fn_id", [](Call& c) { c.fn_id = "fn2"; }},
      {"image", [](Call& c) { c.image = "fn-test/fdk:v2"; }},
      {"timeout", [](Call& c) { c.timeout = absl::Seconds(31); }},
      {"idle_timeout", [](Call& c) { c.idle_timeout = absl::Seconds(31); }},
      {"tmpfs_size", [](Call& c) { c.tmpfs_size_mb = 1; }},
      {"memory", [](Call& c) { c.memory_mb = 256; }},
      {"cpus", [](Call& c) { c.milli_cpus = 200; }},
      {"config value", [](Call& c) { c.config["A"] = "c"; }},
      {"config key added", [](Call& c) { c.config["Z"] = ""; }},
      {"annotation value", [](Call& c) { c.annotations["k"] = R"("w")"; }},
      {"annotation added", [](Call& c) { c.annotations["z"] = "1"; }},
      {"annotations removed", [](Call& c) { c.annotations.clear(); }},
      // Field boundaries are NUL-delimited: moving bytes between fields must matter.
      {"app/fn boundary",
       [](Call& c) {
         c.app_id = "app1f";
         c.fn_id = "n1";
       }},
  };
  const SlotKey base = HashSlotKey(BaseCall());
  for (const auto& [name, mutate] : mutations) {
    Call call = BaseCall();
    mutate(call);

    EXPECT_NE(HashSlotKey(call), base) << name;
  }
}

TEST(SlotKeyTest, FieldsOutsideTheKeyDoNotChangeIt) {
  const std::pair<const char*, std::function<void(Call&)>> mutations[] = {
      {"id", [](Call& c) { c.id = CallId{"other"}; }},
      {"headers",
       [](Call& c) {
         c.headers.push_back(CallHeader{"X", {"1"}});
       }},
      {"method", [](Call& c) { c.method = "GET"; }},
      {"url", [](Call& c) { c.url = "http://elsewhere/"; }},
      {"type", [](Call& c) { c.type = CallType::kDetached; }},
      {"trigger_id", [](Call& c) { c.trigger_id = "t1"; }},
      {"app_name", [](Call& c) { c.app_name = "renamed"; }},
  };
  const SlotKey base = HashSlotKey(BaseCall());
  for (const auto& [name, mutate] : mutations) {
    Call call = BaseCall();
    mutate(call);

    EXPECT_EQ(HashSlotKey(call), base) << name;
  }
}

TEST(SlotKeyTest, ConfigEntryCannotMoveToAnnotations) {
  Call in_config = BaseCall();
  in_config.annotations.clear();
  in_config.config = {{"k", R"("v")"}};
  Call in_annotations = BaseCall();
  in_annotations.config.clear();
  in_annotations.annotations = {{"k", R"("v")"}};

  EXPECT_NE(HashSlotKey(in_config), HashSlotKey(in_annotations));
}

TEST(SlotKeyTest, MapOrderInJsonDoesNotMatter) {
  absl::StatusOr<Call> one =
      ParseCall(R"({"config":{"A":"1","B":"2"},"annotations":{"x":1,"y":{"a":1}}})");
  absl::StatusOr<Call> two =
      ParseCall(R"({"annotations":{"y":{"a":1},"x":1},"config":{"B":"2","A":"1"}})");
  ASSERT_THAT(one, IsOk());
  ASSERT_THAT(two, IsOk());

  EXPECT_EQ(HashSlotKey(*one), HashSlotKey(*two));
}

TEST(SlotKeyTest, DriverExtensionIsPartOfTheKey) {
  EXPECT_NE(HashSlotKey(BaseCall(), "runtime=gvisor"), HashSlotKey(BaseCall()));
  EXPECT_EQ(HashSlotKey(BaseCall(), ""), HashSlotKey(BaseCall()));
}

TEST(SlotKeyTest, SlotKeyOfHashesWhenNoSlotHashId) {
  EXPECT_THAT(SlotKeyOf(BaseCall()), IsOkAndHolds(HashSlotKey(BaseCall())));
}

TEST(SlotKeyTest, SlotHashIdReplacesTheComputedKey) {
  Call call = BaseCall();
  call.slot_hash_id = "00ff10Ab";

  absl::StatusOr<SlotKey> key = SlotKeyOf(call);

  ASSERT_THAT(key, IsOk());
  EXPECT_EQ(key->bytes, std::string("\x00\xff\x10\xab", 4));
  EXPECT_EQ(key->Hex(), "00ff10ab");
}

TEST(SlotKeyTest, CallsWithEqualSlotHashIdShareAKeyWhateverTheirFields) {
  Call one = BaseCall();
  one.slot_hash_id = "abcd";
  Call two = BaseCall();
  two.image = "other";
  two.slot_hash_id = "ABCD";

  EXPECT_EQ(*SlotKeyOf(one), *SlotKeyOf(two));
}

TEST(SlotKeyTest, BadSlotHashIdGivesGosHexError) {
  const std::pair<std::string, std::string> cases[] = {
      {"abc", "encoding/hex: odd length hex string"},
      {"zz", "encoding/hex: invalid byte: U+007A 'z'"},
      {"0g", "encoding/hex: invalid byte: U+0067 'g'"},
      {"abg", "encoding/hex: invalid byte: U+0067 'g'"},  // a bad digit wins over odd length
      {"ab c", "encoding/hex: invalid byte: U+0020 ' '"},
      {std::string("\x00"
                   "0",
                   2),
       "encoding/hex: invalid byte: U+0000"},
      {"\x7f"
       "0",
       "encoding/hex: invalid byte: U+007F"},
      {"\xa0"
       "0",
       "encoding/hex: invalid byte: U+00A0"},
      {"\xc3\xa9", "encoding/hex: invalid byte: U+00C3 '\xc3\x83'"},
  };
  for (const auto& [hex, message] : cases) {
    Call call = BaseCall();
    call.slot_hash_id = hex;

    EXPECT_THAT(SlotKeyOf(call), StatusIs(absl::StatusCode::kInvalidArgument, message))
        << absl::CEscape(hex);
  }
}

TEST(SlotKeyTest, PrintsAsHex) {
  std::ostringstream out;
  out << SlotKey{std::string("\x01\xfe", 2)};

  EXPECT_EQ(out.str(), "01fe");
}

}  // namespace
}  // namespace fnrunner
