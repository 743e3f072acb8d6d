#pragma once

// The load `fnlb bench` generates: K functions with Zipf popularity, optional bursts, all from a
// seed so every placer sees the same workload.

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace fnrunner {

// Draws function indexes 0..k-1 with P(i) proportional to 1 / (i + 1)^s; s = 0 is uniform.
// Immutable after construction; thread-safe (callers bring their own generators).
class ZipfSampler {
 public:
  ZipfSampler(int k, double s);
  int Sample(std::mt19937_64& gen) const;
  double Probability(int i) const;

 private:
  std::vector<double> cdf_;
};

// `--burst N@S[/F]`: N calls at once, S seconds into the run, all for function F (or, without
// /F, one function drawn from the Zipf popularity with the run's seed).
struct Burst {
  int calls = 0;
  absl::Duration at;
  int function = -1;  // -1: drawn
};

// Parses one --burst value. InvalidArgument if malformed or F >= `functions`.
absl::StatusOr<Burst> ParseBurst(absl::string_view spec, int functions);

// Open-loop arrivals: Poisson with `rate` per second over `duration`, each with its function.
struct Arrival {
  absl::Duration at;
  int function;
};
std::vector<Arrival> PoissonArrivals(double rate, absl::Duration duration, const ZipfSampler& zipf,
                                     uint64_t seed);

}  // namespace fnrunner
