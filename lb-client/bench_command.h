#pragma once

#include <iosfwd>
#include <string>
#include <vector>

namespace fnrunner {

// `fnlb bench`: a seeded load (K functions, Zipf popularity, closed or open loop, bursts)
// through each placer given, or straight to a function socket (--direct-socket); prints one
// summary per placer (--json: one JSON line each). Returns the exit code: 0, or 2 for bad
// usage.
int RunBenchCommand(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

}  // namespace fnrunner
