#pragma once

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace fnrunner {

// Applies fn's FN_LOG_LEVEL to glog: "debug" (INFO and VLOG(1)), "info", "warn"/"warning",
// "error". InvalidArgument for anything else. Changes glog's process-wide flags; safe at any
// time (ConfigureRunner uses it at run time).
absl::Status SetLogLevel(absl::string_view level);

}  // namespace fnrunner
