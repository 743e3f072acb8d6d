#pragma once

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace fnrunner {

// A fresh directory for one test, `$TMPDIR/fn-runner-test-XXXXXX` (or under /tmp), removed
// with everything in it when the TempDir dies. The test script fails the run if any such
// directory outlives it. Owns the directory; movable, not copyable. Not thread-safe.
class TempDir {
 public:
  enum class Mode {
    kPrivate,
    // chmod 0777: an iofs directory, where a container running as uid 1000 creates files.
    kWorldWritable,
  };

  // Creates the directory. Errors: Internal if it cannot be created.
  static absl::StatusOr<TempDir> Create(Mode mode = Mode::kPrivate);

  TempDir(TempDir&& other) noexcept;
  TempDir& operator=(TempDir&& other) noexcept;
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  // Removes the directory; a failure is reported as a gtest failure (ADD_FAILURE), since a
  // leaked directory fails the run anyway and this names the culprit.
  ~TempDir();

  const std::string& path() const { return path_; }
  // `path()` + "/" + `name`.
  std::string Join(absl::string_view name) const;

  // Removes the directory and its contents now, whoever owns them (root may remove files a
  // container's uid 1000 created; otherwise permissions are widened where we own the parent).
  // Idempotent. Errors: Internal, naming the entry that could not be removed.
  absl::Status Remove();

 private:
  explicit TempDir(std::string path) : path_(std::move(path)) {}

  std::string path_;  // Empty once removed or moved from.
};

}  // namespace fnrunner
