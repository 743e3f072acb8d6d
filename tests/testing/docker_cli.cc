#include "tests/testing/docker_cli.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <random>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "base/status_macros.h"
#include "gtest/gtest.h"

extern char** environ;

namespace fnrunner {
namespace {

// Closes the descriptor it holds when it dies.
class Fd {
 public:
  Fd() = default;
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() { Reset(); }
  int* Out() { return &fd_; }
  int get() const { return fd_; }
  void Reset() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  int fd_ = -1;
};

absl::Status MakePipe(Fd& read_end, Fd& write_end) {
  int fds[2];
  // O_CLOEXEC: a docker CLI started by another test thread must not inherit our pipes, or
  // we would never see EOF on them.
  if (::pipe2(fds, O_CLOEXEC) != 0) {
    return absl::InternalError(absl::StrCat("pipe2: ", std::strerror(errno)));
  }
  *read_end.Out() = fds[0];
  *write_end.Out() = fds[1];
  return absl::OkStatus();
}

// Reads `out` and `err` to EOF into `output`. Returns false if `deadline` passed first.
bool ReadUntilEof(Fd& out, Fd& err, absl::Time deadline, DockerOutput& output) {
  Fd* fds[] = {&out, &err};
  std::string* sinks[] = {&output.out, &output.err};
  while (out.get() >= 0 || err.get() >= 0) {
    pollfd polls[2];
    for (int i = 0; i < 2; ++i) polls[i] = pollfd{fds[i]->get(), POLLIN, 0};
    absl::Duration left = deadline - absl::Now();
    if (left <= absl::ZeroDuration()) return false;
    int ready = ::poll(polls, 2, static_cast<int>(absl::ToInt64Milliseconds(left)) + 1);
    if (ready < 0 && errno != EINTR) return false;
    for (int i = 0; i < 2 && ready > 0; ++i) {
      if (polls[i].revents == 0) continue;
      char buffer[65536];
      ssize_t n = ::read(fds[i]->get(), buffer, sizeof(buffer));
      if (n > 0) {
        sinks[i]->append(buffer, static_cast<size_t>(n));
      } else if (n == 0 || errno != EINTR) {
        fds[i]->Reset();  // poll() ignores negative descriptors.
      }
    }
  }
  return true;
}

}  // namespace

absl::StatusOr<DockerOutput> ExecDocker(const std::vector<std::string>& args,
                                        absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  Fd out_read, out_write, err_read, err_write;
  RETURN_IF_ERROR(MakePipe(out_read, out_write));
  RETURN_IF_ERROR(MakePipe(err_read, err_write));

  std::vector<char*> argv;
  argv.push_back(const_cast<char*>("docker"));
  for (const std::string& arg : args) argv.push_back(const_cast<char*>(arg.c_str()));
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, out_write.get(), STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&actions, err_write.get(), STDERR_FILENO);
  pid_t pid;
  int spawn_error = ::posix_spawnp(&pid, "docker", &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (spawn_error != 0) {
    return absl::UnavailableError(absl::StrCat("cannot run docker: ", std::strerror(spawn_error)));
  }
  // Only the child may hold the write ends, so that its exit gives us EOF.
  out_write.Reset();
  err_write.Reset();

  DockerOutput output;
  bool finished = ReadUntilEof(out_read, err_read, deadline, output);
  if (!finished) ::kill(pid, SIGKILL);
  int wait_status = 0;
  while (::waitpid(pid, &wait_status, 0) < 0 && errno == EINTR) {
  }
  if (!finished) {
    return absl::DeadlineExceededError(absl::StrCat("docker ", absl::StrJoin(args, " "),
                                                    ": still running after ",
                                                    absl::FormatDuration(timeout)));
  }
  output.exit_code =
      WIFEXITED(wait_status) ? WEXITSTATUS(wait_status) : 128 + WTERMSIG(wait_status);
  return output;
}

absl::StatusOr<std::string> RunDocker(const std::vector<std::string>& args,
                                      absl::Duration timeout) {
  ASSIGN_OR_RETURN(DockerOutput output, ExecDocker(args, timeout));
  if (output.exit_code == 0) {
    return std::string(absl::StripTrailingAsciiWhitespace(output.out));
  }
  std::string message =
      absl::StrCat("docker ", absl::StrJoin(args, " "), ": exit ", output.exit_code, ": ",
                   absl::StripTrailingAsciiWhitespace(output.err));
  if (absl::StrContains(output.err, "No such")) return absl::NotFoundError(message);
  if (absl::StrContains(output.err, "Cannot connect to the Docker daemon")) {
    return absl::UnavailableError(message);
  }
  return absl::InternalError(message);
}

absl::Status RequireImage(absl::string_view image) {
  absl::StatusOr<std::string> id =
      RunDocker({"image", "inspect", "-f", "{{.Id}}", std::string(image)});
  if (absl::IsNotFound(id.status())) {
    return absl::FailedPreconditionError(absl::StrCat(
        "test image ", image,
        " is missing; build it with: cmake --build <build dir> --target "
        "fdk-test-function not-a-function && tests/functions/build_images.sh <build dir>"));
  }
  return id.status();
}

TestContainer::TestContainer(TestContainer&& other) noexcept : id_(std::exchange(other.id_, "")) {}

TestContainer& TestContainer::operator=(TestContainer&& other) noexcept {
  if (this != &other) {
    if (absl::Status removed = Remove(); !removed.ok()) ADD_FAILURE() << removed;
    id_ = std::exchange(other.id_, "");
  }
  return *this;
}

TestContainer::~TestContainer() {
  if (absl::Status removed = Remove(); !removed.ok()) ADD_FAILURE() << removed;
}

absl::StatusOr<std::string> TestContainer::Inspect(absl::string_view format) const {
  return RunDocker({"inspect", "-f", std::string(format), id_});
}

absl::StatusOr<DockerOutput> TestContainer::Logs() const {
  ASSIGN_OR_RETURN(DockerOutput output, ExecDocker({"logs", id_}));
  if (output.exit_code != 0) {
    return absl::InternalError(absl::StrCat("docker logs ", id_, ": ", output.err));
  }
  return output;
}

absl::StatusOr<int> TestContainer::WaitExit(absl::Duration timeout) const {
  // `docker wait` blocks until the container stops and prints its exit code; ExecDocker's
  // timeout bounds it.
  ASSIGN_OR_RETURN(std::string printed, RunDocker({"wait", id_}, timeout));
  int exit_code;
  if (!absl::SimpleAtoi(printed, &exit_code)) {
    return absl::InternalError(absl::StrCat("docker wait ", id_, " printed \"", printed, "\""));
  }
  return exit_code;
}

absl::Status TestContainer::Remove() {
  if (id_.empty()) return absl::OkStatus();
  absl::Status removed = RunDocker({"rm", "-f", "-v", id_}).status();
  if (!removed.ok() && !absl::IsNotFound(removed)) return removed;
  id_.clear();
  return absl::OkStatus();
}

absl::StatusOr<TestContainer> RunTestContainer(const TestContainerOptions& options) {
  std::vector<std::string> args = {"create", "--init",    "--read-only", "--tmpfs",          "/tmp",
                                   "--user", "1000:1000", "--label",     kTestContainerLabel};
  if (!options.iofs_dir.empty()) {
    args.insert(args.end(),
                {"-v", absl::StrCat(options.iofs_dir, ":/tmp/iofs"), "-e",
                 "FN_LISTENER=unix:/tmp/iofs/lsnr.sock", "-e", "FN_FORMAT=http-stream"});
  }
  for (const std::string& env : options.env) args.insert(args.end(), {"-e", env});
  args.insert(args.end(), options.extra_args.begin(), options.extra_args.end());
  args.push_back(options.image);

  // A name chosen here lets the guard own the container before `docker create` returns:
  // a create that times out or fails half-way cannot leak it.
  std::random_device random;
  TestContainer container(absl::StrCat("fn-runner-test-", absl::Hex(random(), absl::kZeroPad8),
                                       absl::Hex(random(), absl::kZeroPad8)));
  args.insert(args.begin() + 1, {"--name", container.id()});
  RETURN_IF_ERROR(RunDocker(args).status());
  RETURN_IF_ERROR(RunDocker({"start", container.id()}).status());
  return container;
}

}  // namespace fnrunner
