#include "tests/fdk/fdk_fixture.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "base/status_macros.h"
#include "tests/testing/poll.h"
#include "tests/testing/status_matchers.h"

namespace fnrunner {

void FdkFunctionTest::SetUp() {
  ASSERT_THAT(RequireImage(kFdkTestImage), IsOk());
  ASSERT_THAT(RequireImage(kNotAFunctionImage), IsOk());
  absl::StatusOr<TempDir> dir = TempDir::Create(TempDir::Mode::kWorldWritable);
  ASSERT_THAT(dir, IsOk());
  iofs_.emplace(*std::move(dir));
}

absl::Status FdkFunctionTest::Launch(std::vector<std::string> env,
                                     std::vector<std::string> extra_args, std::string image) {
  TestContainerOptions options;
  options.image = std::move(image);
  options.iofs_dir = iofs_->path();
  options.env = std::move(env);
  options.extra_args = std::move(extra_args);
  ASSIGN_OR_RETURN(TestContainer container, RunTestContainer(options));
  container_.emplace(std::move(container));
  return absl::OkStatus();
}

absl::Status FdkFunctionTest::StartFunction(std::vector<std::string> env,
                                            std::vector<std::string> extra_args) {
  RETURN_IF_ERROR(Launch(std::move(env), std::move(extra_args)));
  return WaitForSocket(SocketPath(), kStartTimeout);
}

absl::StatusOr<HttpResponse> FdkFunctionTest::Call(std::vector<HttpHeader> headers,
                                                   std::string body, absl::Duration timeout) {
  ASSIGN_OR_RETURN(UdsHttpClient client, UdsHttpClient::Connect(SocketPath()));
  HttpRequest request;
  request.headers = std::move(headers);
  request.body = std::move(body);
  return client.RoundTrip(request, timeout);
}

absl::StatusOr<DockerOutput> FdkFunctionTest::WaitForLogs(
    absl::FunctionRef<bool(const DockerOutput&)> done) {
  absl::StatusOr<DockerOutput> logs;
  absl::Status waited = PollUntil(
      [&] {
        logs = container_->Logs();
        return !logs.ok() || done(*logs);
      },
      kStartTimeout, "the expected container logs", absl::Milliseconds(50));
  if (!waited.ok() && logs.ok()) {
    // Say what the logs were instead, or a failure here is a guessing game.
    auto tail = [](const std::string& text) {
      return text.size() <= 2048 ? text : "..." + text.substr(text.size() - 2048);
    };
    return absl::DeadlineExceededError(absl::StrCat(waited.message(), "; last stdout: \"",
                                                    tail(logs->out), "\", stderr: \"",
                                                    tail(logs->err), "\""));
  }
  RETURN_IF_ERROR(waited);
  return logs;
}

}  // namespace fnrunner
