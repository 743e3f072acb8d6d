#pragma once

// The fixture of the FDK test-function tests: one fn-test/fdk container per test, run the way
// the agent runs functions, with its iofs directory in a TempDir.

#include <optional>
#include <string>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "tests/testing/docker_cli.h"
#include "tests/testing/temp_dir.h"
#include "tests/testing/uds_http.h"

namespace fnrunner {

// Bounds for things outside the test's control; generous because the machine is shared.
inline constexpr absl::Duration kStartTimeout = absl::Seconds(20);
inline constexpr absl::Duration kCallTimeout = absl::Seconds(30);

class FdkFunctionTest : public ::testing::Test {
 protected:
  // Fails the test (rather than skipping it) if the images were not built.
  void SetUp() override;

  // Starts a container of `image` with the iofs directory and FN_* variables, plus `env` and
  // `extra_args`, without waiting for anything.
  absl::Status Launch(std::vector<std::string> env = {}, std::vector<std::string> extra_args = {},
                      std::string image = kFdkTestImage);
  // Launch(), then wait until lsnr.sock accepts connections.
  absl::Status StartFunction(std::vector<std::string> env = {},
                             std::vector<std::string> extra_args = {});

  // Host-side path of `name` in the iofs directory.
  std::string IofsPath(const std::string& name) const { return iofs_->Join(name); }
  std::string SocketPath() const { return IofsPath("lsnr.sock"); }

  // One POST /call with `headers` and `body` on a new connection.
  absl::StatusOr<HttpResponse> Call(std::vector<HttpHeader> headers, std::string body = "",
                                    absl::Duration timeout = kCallTimeout);

  // Polls `docker logs` until `done` accepts them; returns the last logs read.
  absl::StatusOr<DockerOutput> WaitForLogs(absl::FunctionRef<bool(const DockerOutput&)> done);

  const TestContainer& container() const { return *container_; }

 private:
  // Declared first so it dies last: the container goes before its directory.
  std::optional<TempDir> iofs_;
  std::optional<TestContainer> container_;
};

}  // namespace fnrunner
