#include "drivers/docker/image_reference.h"

#include <regex>
#include <string>

#include "absl/strings/str_cat.h"

namespace fnrunner {
namespace {

// distribution/reference's grammar (reference/regexp.go), anchored. std::regex: the
// expression is compiled once, and a call costs microseconds at admission.
const std::regex& ReferencePattern() {
  static const std::regex* const pattern = [] {
    const std::string alnum = "[a-z0-9]+";
    const std::string separator = "(?:[._]|__|[-]*)";
    const std::string path_component = alnum + "(?:" + separator + alnum + ")*";
    const std::string domain_component = "(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])";
    const std::string domain =
        domain_component + "(?:\\." + domain_component + ")*" + "(?::[0-9]+)?";
    const std::string name =
        "(?:" + domain + "/)?" + path_component + "(?:/" + path_component + ")*";
    const std::string tag = "[\\w][\\w.-]{0,127}";
    const std::string digest = "[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}";
    return new std::regex("(" + name + ")(?::" + tag + ")?(?:@" + digest + ")?",
                          std::regex::ECMAScript | std::regex::optimize);
  }();
  return *pattern;
}

constexpr size_t kMaxNameLength = 255;
constexpr size_t kMaxReferenceLength = 1024;  // bounds the regex's work on hostile input

}  // namespace

absl::Status ValidateImageReference(absl::string_view image) {
  if (image.empty()) return absl::InvalidArgumentError("the image is empty");
  if (image.size() > kMaxReferenceLength) {
    return absl::InvalidArgumentError(
        absl::StrCat("the image reference is longer than ", kMaxReferenceLength, " characters"));
  }
  std::cmatch match;
  if (!std::regex_match(image.data(), image.data() + image.size(), match, ReferencePattern())) {
    return absl::InvalidArgumentError("the image is not a valid reference");
  }
  if (match.length(1) > static_cast<long>(kMaxNameLength)) {
    return absl::InvalidArgumentError(
        absl::StrCat("the image name is longer than ", kMaxNameLength, " characters"));
  }
  return absl::OkStatus();
}

}  // namespace fnrunner
