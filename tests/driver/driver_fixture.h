#pragma once

#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "drivers/docker/docker_driver.h"
#include "drivers/recording_log_sink.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/testing/temp_dir.h"

namespace fnrunner {

// Base of the DockerDriver integration tests (real dockerd, fn-test/fdk image). Each test gets
// its own classifier tag, so it only ever sees its own containers; TearDown removes every
// container carrying that tag (and any the test registered with Track()), even on failure.
// Sinks come from NewSink() so they outlive the driver.
class DockerDriverIntegrationTest : public ::testing::Test {
 protected:
  void SetUp() override;
  void TearDown() override;

  // Options for drivers of this test: the test's tag, default isolation.
  DockerDriver::Options TestOptions() const;
  // A second driver with the same tag: another "runner instance".
  absl::StatusOr<std::unique_ptr<DockerDriver>> NewDriver(DockerDriver::Options options);

  // A fn-test/fdk spec the way the agent builds one: iofs bind, FN_LISTENER/FN_FORMAT, the
  // fn-runner-test=1 label. `iofs` must outlive the container.
  ContainerSpec FdkSpec(const TempDir& iofs, std::vector<std::string> extra_env = {});
  // A world-writable iofs directory owned by the fixture.
  const TempDir& NewIofsDir();
  RecordingLogSink& NewSink();

  // Create + AttachLogs(sink) + Start, then waits for the socket; the container's id.
  absl::StatusOr<ContainerId> Launch(const ContainerSpec& spec, LogSink& sink, const TempDir& iofs);

  // `docker inspect` of a container, parsed (independent of the driver under test).
  nlohmann::json Inspect(const std::string& id_or_name);
  // Removes, through the docker CLI, a container the test made outside the driver.
  void Track(std::string id) { extra_containers_.push_back(std::move(id)); }

  std::string tag_;
  std::deque<RecordingLogSink> sinks_;  // before driver_: destroyed after it
  std::deque<TempDir> iofs_dirs_;       // likewise: binds outlive containers
  std::unique_ptr<DockerDriver> driver_;

 private:
  std::vector<std::string> extra_containers_;
  int names_ = 0;  // container names are <tag>-<n>
};

// Thaws a container frozen through its cgroup (the engine shows it running, so `docker
// unpause` cannot), if it is. Best effort, for cleanup.
void ThawCgroupFrozen(const std::string& id);

// Resident set size of this process, from /proc/self/status (0 if unreadable).
int64_t ProcessRssBytes();

}  // namespace fnrunner
