#include "runner/log_level.h"

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "glog/logging.h"

namespace fnrunner {

absl::Status SetLogLevel(absl::string_view level) {
  const std::string l = absl::AsciiStrToLower(absl::StripAsciiWhitespace(level));
  int min_level;
  int verbosity = 0;
  if (l == "debug") {
    min_level = google::GLOG_INFO;
    verbosity = 1;
  } else if (l == "info") {
    min_level = google::GLOG_INFO;
  } else if (l == "warn" || l == "warning") {
    min_level = google::GLOG_WARNING;
  } else if (l == "error") {
    min_level = google::GLOG_ERROR;
  } else {
    return absl::InvalidArgumentError(
        absl::StrCat("\"", level, "\" is not a log level (debug, info, warn, error)"));
  }
  FLAGS_minloglevel = min_level;
  FLAGS_v = verbosity;
  return absl::OkStatus();
}

}  // namespace fnrunner
