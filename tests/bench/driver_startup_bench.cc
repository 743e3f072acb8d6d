// Container start-up latency: DockerDriver (create -> attach -> start -> socket ready) versus
// `docker run -d` of the same image with the same isolation flags (CLI spawn -> socket
// ready), over N runs each, interleaved. "Socket ready" is the moment lsnr.sock appears in
// the bound iofs directory (inotify), exactly what the agent waits for.
//
// Usage: driver_startup_bench [--runs=N] [--image=fn-test/fdk:latest]
// Not a test: prints a Markdown table for tests/bench/results/driver-startup.md.
#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "base/unique_fd.h"
#include "drivers/docker/docker_driver.h"

extern char** environ;

namespace fnrunner {
namespace {

constexpr char kSocketName[] = "lsnr.sock";

class NullSink : public LogSink {
 public:
  void OnLine(LogStream, absl::string_view) override {}
};

// A fresh world-writable iofs directory, removed when this dies.
class IofsDir {
 public:
  IofsDir() {
    const char* tmp = std::getenv("TMPDIR");
    std::string pattern = absl::StrCat(tmp != nullptr ? tmp : "/tmp", "/fn-runner-test-XXXXXX");
    if (::mkdtemp(pattern.data()) != nullptr) {
      path_ = pattern;
      ::chmod(path_.c_str(), 0777);
    }
  }
  ~IofsDir() {
    std::error_code ignored;  // best effort: a leftover is reported by the test scripts
    if (!path_.empty()) std::filesystem::remove_all(path_, ignored);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// Watches `dir` for lsnr.sock; Wait() returns when it appears.
class SocketWatch {
 public:
  explicit SocketWatch(const std::string& dir) : fd_(::inotify_init1(IN_NONBLOCK | IN_CLOEXEC)) {
    ::inotify_add_watch(fd_.get(), dir.c_str(), IN_CREATE | IN_MOVED_TO);
  }
  absl::Status Wait(absl::Time deadline) {
    alignas(inotify_event) char buf[4096];
    while (absl::Now() < deadline) {
      pollfd p{fd_.get(), POLLIN, 0};
      ::poll(&p, 1, static_cast<int>(absl::ToInt64Milliseconds(deadline - absl::Now()) + 1));
      const ssize_t n = ::read(fd_.get(), buf, sizeof(buf));
      for (ssize_t off = 0; off < n;) {
        const auto* event = reinterpret_cast<const inotify_event*>(buf + off);
        if (event->len > 0 && std::strcmp(event->name, kSocketName) == 0) return absl::OkStatus();
        off += static_cast<ssize_t>(sizeof(inotify_event) + event->len);
      }
    }
    return absl::DeadlineExceededError("lsnr.sock did not appear");
  }

 private:
  UniqueFd fd_;
};

// Runs a command (no shell) and returns its stdout; waits for it to exit.
absl::StatusOr<std::string> Run(const std::vector<std::string>& args) {
  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC) != 0) return absl::InternalError("pipe2");
  UniqueFd read_end(pipe_fds[0]);
  UniqueFd write_end(pipe_fds[1]);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, write_end.get(), STDOUT_FILENO);
  std::vector<char*> argv;
  for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  pid_t pid = 0;
  const int rc = ::posix_spawnp(&pid, argv[0], &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) return absl::UnavailableError(absl::StrCat("spawn ", args[0]));
  write_end.Reset();
  std::string out;
  char buf[4096];
  ssize_t n;
  while ((n = ::read(read_end.get(), buf, sizeof(buf))) > 0) out.append(buf, n);
  int status = 0;
  ::waitpid(pid, &status, 0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    return absl::InternalError(absl::StrCat(args[0], " ", args[1], " failed"));
  }
  return std::string(absl::StripTrailingAsciiWhitespace(out));
}

absl::StatusOr<absl::Duration> DriverRun(DockerDriver& driver, const std::string& image, int run) {
  IofsDir iofs;
  SocketWatch watch(iofs.path());
  ContainerSpec spec;
  spec.name = absl::StrCat("fn-runner-test-bench-", ::getpid(), "-", run);
  spec.image = image;
  spec.env = {"FN_FORMAT=http-stream", "FN_LISTENER=unix:/tmp/iofs/lsnr.sock"};
  spec.memory_mb = 128;
  spec.iofs_host_dir = iofs.path();
  spec.labels = {{"fn-runner-test", "1"}};
  NullSink sink;
  const absl::Time start = absl::Now();
  absl::StatusOr<ContainerId> id = driver.Create(spec);
  if (!id.ok()) return id.status();
  absl::Status status = driver.AttachLogs(*id, sink);
  if (status.ok()) status = driver.Start(*id);
  if (status.ok()) status = watch.Wait(start + absl::Seconds(30));
  const absl::Duration elapsed = absl::Now() - start;
  absl::Status removed = driver.Remove(*id);
  if (!status.ok()) return status;
  if (!removed.ok()) return removed;
  return elapsed;
}

absl::StatusOr<absl::Duration> CliRun(const std::string& image, int run) {
  IofsDir iofs;
  SocketWatch watch(iofs.path());
  const std::string name = absl::StrCat("fn-runner-test-bench-cli-", ::getpid(), "-", run);
  const absl::Time start = absl::Now();
  absl::StatusOr<std::string> id = Run({"docker",
                                        "run",
                                        "-d",
                                        "--name",
                                        name,
                                        "--init",
                                        "--read-only",
                                        "--tmpfs",
                                        "/tmp",
                                        "--user",
                                        "1000:1000",
                                        "--cap-drop",
                                        "all",
                                        "--security-opt",
                                        "no-new-privileges",
                                        "--network",
                                        "none",
                                        "--memory",
                                        "128m",
                                        "--memory-swap",
                                        "128m",
                                        "--pids-limit",
                                        "50",
                                        "--log-driver",
                                        "none",
                                        "--label",
                                        "fn-runner-test=1",
                                        "-v",
                                        iofs.path() + ":/tmp/iofs",
                                        "-e",
                                        "FN_FORMAT=http-stream",
                                        "-e",
                                        "FN_LISTENER=unix:/tmp/iofs/lsnr.sock",
                                        image});
  absl::Status status = id.status();
  if (status.ok()) status = watch.Wait(start + absl::Seconds(30));
  const absl::Duration elapsed = absl::Now() - start;
  Run({"docker", "rm", "-f", name}).IgnoreError();  // reported below if the run failed
  if (!status.ok()) return status;
  return elapsed;
}

std::string Summary(std::vector<absl::Duration> samples) {
  std::sort(samples.begin(), samples.end());
  auto pct = [&samples](double p) {
    const size_t i = std::min(samples.size() - 1, static_cast<size_t>(p * samples.size()));
    return absl::StrCat(absl::ToInt64Milliseconds(samples[i]));
  };
  return absl::StrCat(pct(0.5), " | ", pct(0.9), " | ", absl::ToInt64Milliseconds(samples.back()));
}

int Main(int argc, char** argv) {
  int runs = 20;
  std::string image = "fn-test/fdk:latest";
  for (int i = 1; i < argc; ++i) {
    absl::string_view arg = argv[i];
    if (absl::ConsumePrefix(&arg, "--runs=") && absl::SimpleAtoi(arg, &runs) && runs > 0) {
      continue;
    }
    if (absl::ConsumePrefix(&arg, "--image=")) {
      image = std::string(arg);
      continue;
    }
    std::fprintf(stderr, "usage: %s [--runs=N] [--image=IMAGE]\n", argv[0]);
    return 2;
  }
  absl::StatusOr<DockerDriver::Options> options = DockerDriver::OptionsFromEnv(ProcessEnv());
  if (!options.ok()) {
    std::fprintf(stderr, "%s\n", options.status().ToString().c_str());
    return 1;
  }
  absl::StatusOr<std::unique_ptr<DockerDriver>> driver = DockerDriver::Create(*options);
  if (!driver.ok()) {
    std::fprintf(stderr, "%s\n", driver.status().ToString().c_str());
    return 1;
  }
  std::vector<absl::Duration> driver_samples;
  std::vector<absl::Duration> cli_samples;
  // One warm-up of each (page cache, first connection), then interleaved runs so both see
  // the same machine load.
  for (int i = -1; i < runs; ++i) {
    absl::StatusOr<absl::Duration> d = DriverRun(**driver, image, i + 1);
    absl::StatusOr<absl::Duration> c = CliRun(image, i + 1);
    if (!d.ok() || !c.ok()) {
      std::fprintf(stderr, "run %d failed: %s / %s\n", i, d.status().ToString().c_str(),
                   c.status().ToString().c_str());
      return 1;
    }
    if (i < 0) continue;
    driver_samples.push_back(*d);
    cli_samples.push_back(*c);
  }
  std::printf("| path (%d runs, image %s) | p50 ms | p90 ms | max ms |\n", runs, image.c_str());
  std::printf("|---|---|---|---|\n");
  std::printf("| DockerDriver create+attach+start -> lsnr.sock | %s |\n",
              Summary(driver_samples).c_str());
  std::printf("| `docker run -d` (CLI) -> lsnr.sock | %s |\n", Summary(cli_samples).c_str());
  return 0;
}

}  // namespace
}  // namespace fnrunner

int main(int argc, char** argv) { return fnrunner::Main(argc, argv); }
