#pragma once

#include <memory>
#include <string>

#include "agent/function_client.h"
#include "agent/function_io.h"
#include "agent/iofs_dir.h"

namespace fnrunner {

struct FdkFunctionIoOptions {
  IofsOptions iofs;                 // FN_IOFS_PATH, FN_IOFS_DOCKER_PATH
  FunctionClient::Options client;   // FN_MAX_RESPONSE_SIZE, FN_MAX_HDR_RESPONSE_SIZE, ...
};

// The production FunctionIo: fn's FDK contract (spec §4). Per container it creates an iofs
// directory and an inotify watch on it before the container exists, waits for `lsnr.sock`,
// pins the validated socket (closing fn's symlink hole) and speaks HTTP/1.1 over one
// kept-alive connection. Thread-safe.
class FdkFunctionIoFactory final : public FunctionIoFactory {
 public:
  explicit FdkFunctionIoFactory(FdkFunctionIoOptions options) : options_(std::move(options)) {}

  absl::StatusOr<std::unique_ptr<FunctionIo>> Prepare(absl::string_view container_name) override;

 private:
  const FdkFunctionIoOptions options_;
};

}  // namespace fnrunner
