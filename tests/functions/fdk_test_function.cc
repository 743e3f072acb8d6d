// fdk-test-function: an fn function that follows the FDK contract (spec §4.2) and misbehaves
// on request, so one image serves every Docker driver, agent and runner test. Per-call
// behaviour comes from Fn-Test-* request headers, startup behaviour from FDK_TEST_* variables;
// README.md documents both.

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>
#include <thread>

#include "tests/functions/call_handler.h"
#include "tests/functions/http_io.h"

namespace fnrunner::fdktest {
namespace {

constexpr int kConfigError = 2;  // Exit code for an unusable FN_* or FDK_TEST_* variable.

std::string Env(const char* name) {
  const char* value = std::getenv(name);
  return value == nullptr ? "" : value;
}

bool EnvFlag(const char* name) {
  std::string value = Env(name);
  return value == "1" || value == "true";
}

[[noreturn]] void Fail(int code, const std::string& message) {
  std::fprintf(stderr, "fdk-test-function: %s\n", message.c_str());
  std::exit(code);
}

[[noreturn]] void SleepForever() {
  while (true) std::this_thread::sleep_for(std::chrono::hours(1));
}

uint64_t EnvNumber(const char* name) {
  std::string value = Env(name);
  if (value.empty()) return 0;
  std::optional<uint64_t> number = ParseDecimal(value, 100'000'000);
  if (!number) Fail(kConfigError, std::string("invalid ") + name + "=" + value);
  return *number;
}

// Threads here run until the process is killed, which is how a function ends, so nothing
// joins them. pthread_create rather than std::thread: it reports failure (for example under
// the container's pids limit) as a value instead of an exception. Returns false on failure.
bool StartDetached(void* (*routine)(void*), void* arg) {
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  pthread_t thread;
  int error = pthread_create(&thread, &attr, routine, arg);
  pthread_attr_destroy(&attr);
  if (error != 0) {
    std::fprintf(stderr, "fdk-test-function: cannot start a thread: %s\n", std::strerror(error));
  }
  return error == 0;
}

void* ServeConnectionThread(void* arg) {
  ServeConnection(static_cast<int>(reinterpret_cast<intptr_t>(arg)));
  return nullptr;
}

// Writes to stdout as fast as the reader takes it, until stdout fails.
void* FloodStdout(void*) {
  std::string lines;
  for (int i = 0; i < 1024; ++i) lines += "flood flood flood flood flood flood flood flood\n";
  while (WriteAll(STDOUT_FILENO, lines)) {
  }
  return nullptr;
}

// Binds a listening unix socket at `path`, connectable by any uid (the agent does not run as
// the function's uid). Exits the process on failure: a function without a socket is useless.
int Listen(const std::string& path) {
  sockaddr_un address = {};
  address.sun_family = AF_UNIX;
  if (path.size() >= sizeof(address.sun_path)) Fail(1, "socket path too long: " + path);
  std::memcpy(address.sun_path, path.c_str(), path.size() + 1);
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0 ||
      ::listen(fd, 128) != 0 || ::chmod(path.c_str(), 0666) != 0) {
    Fail(1, "cannot listen on " + path + ": " + std::strerror(errno));
  }
  return fd;
}

void RemoveStale(const std::string& path) {
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
    Fail(1, "cannot remove " + path + ": " + std::strerror(errno));
  }
}

// fdk-go's "phony socket" pattern: listen on a private name, then publish it with a relative
// symlink, so lsnr.sock appears only once connections are accepted. FDK_TEST_DIRECT_BIND and
// FDK_TEST_HOSTILE_SYMLINK replace a step of it with the racy or hostile variant.
int CreateListener(const std::string& socket_path) {
  size_t slash = socket_path.rfind('/');
  std::string dir = socket_path.substr(0, slash);
  std::string phony_name = "phony" + socket_path.substr(slash + 1);
  std::string phony_path = dir + "/" + phony_name;
  RemoveStale(phony_path);
  RemoveStale(socket_path);
  if (EnvFlag("FDK_TEST_DIRECT_BIND")) return Listen(socket_path);

  int fd = Listen(phony_path);
  std::string target = Env("FDK_TEST_HOSTILE_SYMLINK");
  if (target.empty()) target = phony_name;
  if (::symlink(target.c_str(), socket_path.c_str()) != 0) {
    Fail(1, "cannot link " + socket_path + " -> " + target + ": " + std::strerror(errno));
  }
  return fd;
}

int Main() {
  // A peer that hangs up mid-answer must end that connection, not the process.
  ::signal(SIGPIPE, SIG_IGN);

  std::string format = Env("FN_FORMAT");
  if (!format.empty() && format != "http-stream") {
    Fail(kConfigError, "FN_FORMAT=" + format + " is not supported (want http-stream)");
  }
  std::string listener = Env("FN_LISTENER");
  if (listener.rfind("unix:/", 0) != 0) {
    Fail(kConfigError, "FN_LISTENER=\"" + listener + "\" is not unix:<absolute path>");
  }
  std::string socket_path = listener.substr(5);

  uint64_t startup_lines = EnvNumber("FDK_TEST_STARTUP_LOG_LINES");
  for (uint64_t i = 0; i < startup_lines; ++i) {
    std::string line = "startup " + std::to_string(i) + "\n";
    WriteAll(STDOUT_FILENO, line);
    WriteAll(STDERR_FILENO, line);
  }
  if (EnvFlag("FDK_TEST_FLOOD_STDOUT") && !StartDetached(FloodStdout, nullptr)) return 1;
  std::this_thread::sleep_for(std::chrono::milliseconds(EnvNumber("FDK_TEST_SOCKET_DELAY_MS")));
  if (EnvFlag("FDK_TEST_NO_SOCKET")) {
    // Tests wait for this line before checking that no socket appeared.
    std::fprintf(stderr, "fdk-test-function: FDK_TEST_NO_SOCKET set, never listening\n");
    SleepForever();
  }

  int listen_fd = CreateListener(socket_path);
  while (true) {
    int fd = ::accept4(listen_fd, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) {
      // Out of descriptors or memory: back off instead of spinning, and keep serving.
      if (errno != EINTR && errno != ECONNABORTED) {
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
      }
      continue;
    }
    if (!StartDetached(ServeConnectionThread, reinterpret_cast<void*>(intptr_t{fd}))) {
      ::close(fd);
    }
  }
}

}  // namespace
}  // namespace fnrunner::fdktest

int main() { return fnrunner::fdktest::Main(); }
