#include "tests/runner/runner_process.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "grpcpp/generic/generic_stub.h"

namespace fnrunner::testing {
namespace {

std::string Binary() { return absl::StrCat(FN_BINARY_DIR, "/runner/fn-runner"); }

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

absl::StatusOr<std::string> MakeTempDir() {
  char tmpl[] = "/tmp/fn-runner-test-e2e-XXXXXX";
  if (mkdtemp(tmpl) == nullptr) return absl::InternalError(strerror(errno));
  return std::string(tmpl);
}

// Starts the binary with stdout/stderr into `dir`, in a clean environment plus `env`.
absl::StatusOr<pid_t> Spawn(const std::string& dir, const std::vector<std::string>& args,
                            const std::map<std::string, std::string>& env) {
  std::vector<std::string> argv_strings = {Binary()};
  argv_strings.insert(argv_strings.end(), args.begin(), args.end());
  std::vector<std::string> env_strings;
  for (const auto& [k, v] : env) env_strings.push_back(k + "=" + v);
  std::vector<char*> argv, envp;
  for (std::string& s : argv_strings) argv.push_back(s.data());
  argv.push_back(nullptr);
  for (std::string& s : env_strings) envp.push_back(s.data());
  envp.push_back(nullptr);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  const std::string out = dir + "/stdout", err = dir + "/stderr";
  posix_spawn_file_actions_addopen(&actions, 1, out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_addopen(&actions, 2, err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  // The test may block SIGTERM/SIGINT; the runner must start with the default mask.
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t empty;
  sigemptyset(&empty);
  posix_spawnattr_setsigmask(&attr, &empty);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK);
  pid_t pid;
  const int rc = posix_spawn(&pid, argv[0], &actions, &attr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  if (rc != 0) return absl::InternalError(absl::StrCat("posix_spawn: ", strerror(rc)));
  return pid;
}

// Waits for `pid` to exit, at most `timeout`, without polling: a pidfd becomes readable when
// the process exits.
absl::StatusOr<ProcessResult> WaitExit(pid_t pid, absl::Duration timeout) {
  const int pidfd = static_cast<int>(syscall(SYS_pidfd_open, pid, 0));
  if (pidfd < 0) return absl::InternalError(absl::StrCat("pidfd_open: ", strerror(errno)));
  pollfd fd = {pidfd, POLLIN, 0};
  const int ready = poll(&fd, 1, static_cast<int>(absl::ToInt64Milliseconds(timeout)));
  close(pidfd);
  if (ready == 0) return absl::DeadlineExceededError("the runner did not exit in time");
  int status = 0;
  if (waitpid(pid, &status, 0) != pid) return absl::InternalError("waitpid failed");
  ProcessResult result;
  if (WIFEXITED(status)) result.exit_code = WEXITSTATUS(status);
  if (WIFSIGNALED(status)) result.signal = WTERMSIG(status);
  return result;
}

}  // namespace

absl::StatusOr<ProcessResult> RunRunnerToExit(const std::vector<std::string>& args,
                                              const std::map<std::string, std::string>& env,
                                              absl::Duration timeout) {
  absl::StatusOr<std::string> dir = MakeTempDir();
  if (!dir.ok()) return dir.status();
  std::vector<std::string> all = args;
  all.push_back("--instance=fn-runner-test-instance-e2e");
  // --help exits before looking at --instance; a bad --instance never happens.
  absl::StatusOr<pid_t> pid = Spawn(*dir, all, env);
  absl::StatusOr<ProcessResult> result =
      pid.ok() ? WaitExit(*pid, timeout) : absl::StatusOr<ProcessResult>(pid.status());
  if (!result.ok() && pid.ok()) {
    kill(*pid, SIGKILL);
    waitpid(*pid, nullptr, 0);
  }
  if (result.ok()) {
    result->out = ReadFile(*dir + "/stdout");
    result->err = ReadFile(*dir + "/stderr");
  }
  std::filesystem::remove_all(*dir);
  return result;
}

int FreePort() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr = {};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof(addr);
  int port = 0;
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    port = ntohs(addr.sin_port);
  }
  close(fd);
  return port;
}

RunnerProcess::RunnerProcess() = default;

RunnerProcess::~RunnerProcess() {
  if (pid_ > 0) {
    kill(pid_, SIGTERM);
    if (!WaitExit(pid_, absl::Seconds(30)).ok()) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
  }
  if (!dir_.empty()) std::filesystem::remove_all(dir_);
}

absl::Status RunnerProcess::Start(const std::vector<std::string>& args,
                                  const std::map<std::string, std::string>& env) {
  absl::StatusOr<std::string> dir = MakeTempDir();
  if (!dir.ok()) return dir.status();
  dir_ = *dir;
  grpc_port_ = FreePort();
  http_port_ = FreePort();
  std::vector<std::string> all = {"--listen-host=127.0.0.1",
                                  absl::StrCat("--grpc-port=", grpc_port_),
                                  absl::StrCat("--port=", http_port_),
                                  absl::StrCat("--instance=fn-runner-test-instance-", getpid())};
  all.insert(all.end(), args.begin(), args.end());
  absl::StatusOr<pid_t> pid = Spawn(dir_, all, env);
  if (!pid.ok()) return pid.status();
  pid_ = *pid;
  // wait_for_ready: the channel keeps connecting until the runner listens or 30 s pass.
  const int health = HealthCheck(Channel(), "", /*wait_for_ready=*/true);
  if (health != 1) {
    return absl::UnavailableError(
        absl::StrCat("fn-runner not serving (health ", health, "); log:\n", log()));
  }
  return absl::OkStatus();
}

void RunnerProcess::Signal(int signo) {
  if (pid_ > 0) kill(pid_, signo);
}

absl::StatusOr<ProcessResult> RunnerProcess::Wait(absl::Duration timeout) {
  absl::StatusOr<ProcessResult> result = WaitExit(pid_, timeout);
  if (result.ok()) {
    pid_ = -1;
    result->out = ReadFile(dir_ + "/stdout");
    result->err = ReadFile(dir_ + "/stderr");
  }
  return result;
}

std::string RunnerProcess::log() const { return ReadFile(dir_ + "/stderr"); }

std::shared_ptr<grpc::Channel> RunnerProcess::Channel() const {
  // Retry connecting quickly while the runner starts (gRPC's default first backoff is 1 s).
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 20);
  args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, 20);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 200);
  return grpc::CreateCustomChannel(absl::StrCat("127.0.0.1:", grpc_port_),
                                   grpc::InsecureChannelCredentials(), args);
}

std::unique_ptr<RunnerProtocol::Stub> RunnerProcess::Stub() const {
  return RunnerProtocol::NewStub(Channel());
}

absl::StatusOr<std::string> HttpGet(int port, const std::string& path) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr = {};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  timeval tv = {10, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    close(fd);
    return absl::UnavailableError(absl::StrCat("connect: ", strerror(errno)));
  }
  const std::string request =
      absl::StrCat("GET ", path, " HTTP/1.0\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
  if (write(fd, request.data(), request.size()) != static_cast<ssize_t>(request.size())) {
    close(fd);
    return absl::UnavailableError("write failed");
  }
  std::string response;
  char buf[16384];
  ssize_t n;
  while ((n = read(fd, buf, sizeof(buf))) > 0) response.append(buf, static_cast<size_t>(n));
  close(fd);
  return response;
}

int HealthCheck(const std::shared_ptr<grpc::Channel>& channel, const std::string& service,
                bool wait_for_ready) {
  grpc::GenericStub stub(channel);
  std::string request;
  if (!service.empty()) {
    request.push_back(0x0a);
    request.push_back(static_cast<char>(service.size()));
    request += service;
  }
  grpc::Slice slice(request);
  grpc::ByteBuffer in(&slice, 1);
  grpc::ByteBuffer out;
  grpc::ClientContext context;
  context.set_wait_for_ready(wait_for_ready);
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
  absl::Notification done;
  grpc::Status status;
  stub.UnaryCall(&context, "/grpc.health.v1.Health/Check", grpc::StubOptions(), &in, &out,
                 [&](grpc::Status s) {
                   status = std::move(s);
                   done.Notify();
                 });
  done.WaitForNotification();
  if (!status.ok()) return -static_cast<int>(status.error_code());
  std::vector<grpc::Slice> slices;
  if (!out.Dump(&slices).ok()) return 0;
  std::string bytes;
  for (const grpc::Slice& s : slices) {
    bytes.append(reinterpret_cast<const char*>(s.begin()), s.size());
  }
  return bytes.size() == 2 && bytes[0] == 0x08 ? bytes[1] : 0;
}

}  // namespace fnrunner::testing
