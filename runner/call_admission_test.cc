#include "runner/call_admission.h"

#include <string>
#include <variant>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "proto/runner.pb.h"
#include "runner/test_util.h"

namespace fnrunner {
namespace {

using ::fnrunner::testing::CallJson;

TryCall Try(const std::string& json, const std::string& slot_hash_id = "") {
  TryCall t;
  t.set_models_call_json(json);
  t.set_slot_hash_id(slot_hash_id);
  return t;
}

const AdmissionError& Refused(const std::variant<Call, AdmissionError>& result) {
  static const AdmissionError kNone{};
  if (const auto* error = std::get_if<AdmissionError>(&result)) return *error;
  ADD_FAILURE() << "admitted";
  return kNone;
}

TEST(CallAdmissionTest, AdmitsAValidCall) {
  std::variant<Call, AdmissionError> result = AdmitTryCall(Try(CallJson("c1", "img")), {});

  ASSERT_TRUE(std::holds_alternative<Call>(result));
  EXPECT_EQ(std::get<Call>(result).id.value, "c1");
}

TEST(CallAdmissionTest, ACallAskingForNoMemoryGetsTheDefault) {
  const std::string no_memory =
      R"({"id":"c","image":"img","timeout":30,"idle_timeout":30,"memory":0,"app_id":"a","fn_id":"f"})";
  AdmissionPolicy with_default;
  with_default.default_memory_mb = 128;

  std::variant<Call, AdmissionError> defaulted = AdmitTryCall(Try(no_memory), with_default);
  std::variant<Call, AdmissionError> unlimited = AdmitTryCall(Try(no_memory), {});
  std::variant<Call, AdmissionError> explicit_memory = AdmitTryCall(Try(CallJson()), with_default);

  ASSERT_TRUE(std::holds_alternative<Call>(defaulted));
  EXPECT_EQ(std::get<Call>(defaulted).memory_mb, 128u);
  ASSERT_TRUE(std::holds_alternative<Call>(unlimited));
  EXPECT_EQ(std::get<Call>(unlimited).memory_mb, 0u);
  ASSERT_TRUE(std::holds_alternative<Call>(explicit_memory));
  EXPECT_EQ(std::get<Call>(explicit_memory).memory_mb, 128u);
}

TEST(CallAdmissionTest, ADefaultedCallMustFitTheMachine) {
  const std::string no_memory =
      R"({"id":"c","image":"img","timeout":30,"idle_timeout":30,"memory":0,"app_id":"a","fn_id":"f"})";
  AdmissionPolicy small;
  small.default_memory_mb = 128;
  small.capacity = Resources{64 << 20, 1000};
  const std::variant<Call, AdmissionError> result = AdmitTryCall(Try(no_memory), small);

  const AdmissionError& error = Refused(result);
  EXPECT_EQ(error.error.code, 400);
  EXPECT_EQ(error.error.message, "Requested CPU/Memory cannot be allocated");
}

TEST(CallAdmissionTest, CopiesSlotHashAndExtensionsIntoTheCall) {
  TryCall t = Try(CallJson(), "0aff");
  (*t.mutable_extensions())["FN_REGISTRY_TOKEN"] = "secret";

  std::variant<Call, AdmissionError> result = AdmitTryCall(t, {});

  ASSERT_TRUE(std::holds_alternative<Call>(result));
  EXPECT_EQ(std::get<Call>(result).slot_hash_id, "0aff");
  EXPECT_EQ(std::get<Call>(result).extensions.at("FN_REGISTRY_TOKEN"), "secret");
}

TEST(CallAdmissionTest, RefusalsCarryFnCodesAndStrings) {
  struct Case {
    std::string name;
    TryCall try_call;
    AdmissionPolicy policy;
    int code;
    std::string message;  // "" = any
    bool call_known;
  };
  AdmissionPolicy status_image;
  status_image.status_image = "status:1";
  AdmissionPolicy small;
  small.capacity = Resources{64 << 20, 1000};
  AdmissionPolicy draining;
  draining.draining = true;
  const Case cases[] = {
      {"not json", Try("{"), {}, 0, "", false},
      {"cpus number", Try(CallJson("c", "i", R"(,"cpus":1)")), {}, 400, "Invalid JSON", false},
      {"cpus range", Try(CallJson("c", "i", R"(,"cpus":"2000000m")")), {}, 400,
       "Cpus is invalid. Value should be either between [0.000 and 1024.000] or [0m and "
       "1024000m] milliCPU units",
       false},
      {"status image", Try(CallJson("c", "status:1")), status_image, 400, "Invalid Fn image",
       false},
      {"empty image", Try(CallJson("c", "")), {}, 400, "Invalid Fn image: the image is empty",
       false},
      {"image with a command", Try(CallJson("c", "fn-test/fdk:latest; rm -rf /")), {}, 400,
       "Invalid Fn image: the image is not a valid reference", false},
      {"image with a query", Try(CallJson("c", "x?all=1")), {}, 400,
       "Invalid Fn image: the image is not a valid reference", false},
      {"too big", Try(CallJson("c", "i")), small, 400, "Requested CPU/Memory cannot be allocated",
       false},
      {"odd hex", Try(CallJson(), "abc"), {}, 0, "encoding/hex: odd length hex string", true},
      {"bad hex", Try(CallJson(), "zz"), {}, 0, "encoding/hex: invalid byte: U+007A 'z'", true},
      {"detached", Try(CallJson("c", "i", R"(,"type":"detached")")), {}, 501,
       "Detach call functions are not supported on this server", true},
      {"draining", Try(CallJson()), draining, 503, "Timed out - server too busy", true},
  };
  for (const Case& c : cases) {
    std::variant<Call, AdmissionError> result = AdmitTryCall(c.try_call, c.policy);

    const AdmissionError& error = Refused(result);
    EXPECT_EQ(error.error.code, c.code) << c.name;
    if (!c.message.empty()) {
      EXPECT_EQ(error.error.message, c.message) << c.name;
    }
    EXPECT_FALSE(error.error.user_error) << c.name;
    EXPECT_EQ(error.call.has_value(), c.call_known) << c.name;
  }
}

TEST(CallAdmissionTest, StatusImageIsCheckedBeforeDetached) {
  AdmissionPolicy policy;
  policy.status_image = "s";

  const std::variant<Call, AdmissionError> result =
      AdmitTryCall(Try(CallJson("c", "s", R"(,"type":"detached")")), policy);

  const AdmissionError& error = Refused(result);

  EXPECT_EQ(error.error.code, 400);
}

TEST(CallAdmissionTest, GoHexErrors) {
  EXPECT_EQ(GoHexDecodeError("00ffAB"), std::nullopt);
  EXPECT_EQ(GoHexDecodeError(""), std::nullopt);
  EXPECT_EQ(GoHexDecodeError("0"), "encoding/hex: odd length hex string");
  EXPECT_EQ(GoHexDecodeError("0g"), "encoding/hex: invalid byte: U+0067 'g'");
  EXPECT_EQ(GoHexDecodeError("00g"), "encoding/hex: invalid byte: U+0067 'g'");
  EXPECT_EQ(GoHexDecodeError("g00"), "encoding/hex: invalid byte: U+0067 'g'");
  EXPECT_EQ(GoHexDecodeError(std::string("0\x01", 2)), "encoding/hex: invalid byte: U+0001");
  EXPECT_EQ(GoHexDecodeError("0\xe9"), "encoding/hex: invalid byte: U+00E9 '\xc3\xa9'");
}

}  // namespace
}  // namespace fnrunner
