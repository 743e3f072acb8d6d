#pragma once

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace fnrunner {

// Checks `image` against Docker's image reference grammar (distribution/reference):
//   [domain[:port]/]path-component[/path-component...][:tag][@algorithm:hex]
// with lowercase path components, a tag of at most 128 word characters, dots and dashes, and
// a name of at most 255 characters. InvalidArgument saying what is wrong otherwise. Image
// names come from callers and end up in Engine API paths: nothing else may reach the engine.
absl::Status ValidateImageReference(absl::string_view image);

}  // namespace fnrunner
