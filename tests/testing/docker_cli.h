#pragma once

// Running the docker CLI from tests, and containers that tests own. Every container a test
// creates carries the label fn-runner-test=1 and is removed by a TestContainer, even when the
// test fails; the test script checks that `docker ps -a --filter label=fn-runner-test=1` is
// empty after the run.

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace fnrunner {

// Images built by tests/functions/build_images.sh (documented in tests/functions/README.md).
inline constexpr char kFdkTestImage[] = "fn-test/fdk:latest";
inline constexpr char kNotAFunctionImage[] = "fn-test/not-a-function:latest";
inline constexpr char kTestContainerLabel[] = "fn-runner-test=1";

// What one docker CLI run printed, and how it ended.
struct DockerOutput {
  int exit_code = 0;
  std::string out;  // Its stdout.
  std::string err;  // Its stderr.
};

// Runs `docker <args...>` (no shell) with stdin from /dev/null and waits at most `timeout`.
// Any exit code is OK. Errors: Unavailable if docker cannot be started; DeadlineExceeded if it
// ran too long (it is killed). Blocks. Thread-safe.
absl::StatusOr<DockerOutput> ExecDocker(const std::vector<std::string>& args,
                                        absl::Duration timeout = absl::Minutes(1));

// Like ExecDocker, but a non-zero exit is an error: NotFound when docker says "No such ...",
// Unavailable when it cannot reach the engine, Internal otherwise; the message holds docker's
// stderr. Returns stdout with trailing newlines removed.
absl::StatusOr<std::string> RunDocker(const std::vector<std::string>& args,
                                      absl::Duration timeout = absl::Minutes(1));

// OK if `image` exists locally. FailedPrecondition otherwise, telling how to build the test
// images: tests must fail, not skip, without them.
absl::Status RequireImage(absl::string_view image);

// A container a test owns: `docker rm -f` when this object dies. Movable, not copyable. Not
// thread-safe.
class TestContainer {
 public:
  // Adopts `id` (an id or a name), e.g. a container the code under test created.
  explicit TestContainer(std::string id) : id_(std::move(id)) {}
  TestContainer(TestContainer&& other) noexcept;
  TestContainer& operator=(TestContainer&& other) noexcept;
  TestContainer(const TestContainer&) = delete;
  TestContainer& operator=(const TestContainer&) = delete;
  // Removes the container; a failure is reported as a gtest failure (ADD_FAILURE).
  ~TestContainer();

  const std::string& id() const { return id_; }

  // `docker inspect -f <format>`, e.g. "{{.State.ExitCode}}", trailing newline removed.
  absl::StatusOr<std::string> Inspect(absl::string_view format) const;
  // Everything the container wrote so far (`docker logs`), stdout and stderr kept apart.
  absl::StatusOr<DockerOutput> Logs() const;
  // Polls until the container has stopped, then returns its exit code. DeadlineExceeded if
  // it is still running after `timeout`.
  absl::StatusOr<int> WaitExit(absl::Duration timeout) const;
  // Removes the container now (`docker rm -f`). Idempotent.
  absl::Status Remove();

 private:
  std::string id_;  // Empty once removed or moved from.
};

struct TestContainerOptions {
  std::string image = kFdkTestImage;
  // Host directory bind-mounted at /tmp/iofs (make it TempDir::Mode::kWorldWritable). If set,
  // FN_LISTENER=unix:/tmp/iofs/lsnr.sock and FN_FORMAT=http-stream are set too.
  std::string iofs_dir;
  // More environment, "NAME=value", applied after (so overriding) the FN_* defaults.
  std::vector<std::string> env;
  // More `docker create` flags, e.g. "--memory=64m".
  std::vector<std::string> extra_args;
};

// Creates and starts a container the way the agent runs functions: --init, read-only root
// fs, tmpfs on /tmp, user 1000:1000, label fn-runner-test=1, named fn-runner-test-<random>.
// On failure nothing is left behind. Errors: as RunDocker (NotFound if the image is missing).
absl::StatusOr<TestContainer> RunTestContainer(const TestContainerOptions& options);

}  // namespace fnrunner
