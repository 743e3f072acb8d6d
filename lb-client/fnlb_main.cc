// fnlb: our LB client as a tool. `fnlb call` runs one call as fn's LB would; `fnlb bench`
// generates load through the placers; `fnlb health` probes runners' gRPC health service.
// Flags are parsed per subcommand (lb-client/cli_args.h).

#include <iostream>
#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "lb-client/bench_command.h"
#include "lb-client/call_command.h"
#include "lb-client/health_command.h"

namespace {

constexpr char kUsage[] = R"(usage: fnlb <command> [flags]
  call    run one call through a placer and print the answer
  bench   generate load and report throughput, latency, NACKs and cold starts
  health  check that runners' grpc.health.v1 service is SERVING (exit code 0)
Run `fnlb <command> --help` for its flags.
)";

}  // namespace

int main(int argc, char** argv) {
  // As in fn-runner: Debian's Abseil checks lock order on every Mutex lock, a few percent of
  // the client's CPU per call in `fnlb bench`. The tests keep the check.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  if (argc < 2) {
    std::cerr << kUsage;
    return 2;
  }
  const std::string command = argv[1];
  const std::vector<std::string> args(argv + 2, argv + argc);
  if (command == "call") return fnrunner::RunCallCommand(args, std::cin, std::cout, std::cerr);
  if (command == "bench") return fnrunner::RunBenchCommand(args, std::cout, std::cerr);
  if (command == "health") return fnrunner::RunHealthCommand(args, std::cout, std::cerr);
  if (command == "help" || command == "--help" || command == "-h") {
    std::cout << kUsage;
    return 0;
  }
  std::cerr << "fnlb: unknown command \"" << command << "\"\n" << kUsage;
  return 2;
}
