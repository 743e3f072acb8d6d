#include "lb-client/bench_workload.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace fnrunner {

ZipfSampler::ZipfSampler(int k, double s) {
  cdf_.reserve(std::max(k, 1));
  double total = 0;
  for (int i = 0; i < std::max(k, 1); ++i) {
    total += 1.0 / std::pow(i + 1.0, s);
    cdf_.push_back(total);
  }
  for (double& c : cdf_) c /= total;
}

int ZipfSampler::Sample(std::mt19937_64& gen) const {
  const double u = std::uniform_real_distribution<double>(0.0, 1.0)(gen);
  const auto it = std::upper_bound(cdf_.begin(), cdf_.end(), u);
  return static_cast<int>(std::min<ptrdiff_t>(it - cdf_.begin(), cdf_.size() - 1));
}

double ZipfSampler::Probability(int i) const {
  return i == 0 ? cdf_[0] : cdf_[i] - cdf_[i - 1];
}

absl::StatusOr<Burst> ParseBurst(absl::string_view spec, int functions) {
  const auto bad = [&] {
    return absl::InvalidArgumentError(
        absl::StrCat("--burst \"", spec, "\" is not CALLS@SECONDS[/FUNCTION]"));
  };
  const size_t at = spec.find('@');
  if (at == absl::string_view::npos) return bad();
  Burst burst;
  absl::string_view when = spec.substr(at + 1);
  const size_t slash = when.find('/');
  double seconds = 0;
  if (!absl::SimpleAtoi(spec.substr(0, at), &burst.calls) || burst.calls <= 0 ||
      !absl::SimpleAtod(when.substr(0, slash), &seconds) || seconds < 0) {
    return bad();
  }
  burst.at = absl::Seconds(seconds);
  if (slash != absl::string_view::npos) {
    if (!absl::SimpleAtoi(when.substr(slash + 1), &burst.function) || burst.function < 0 ||
        burst.function >= functions) {
      return bad();
    }
  }
  return burst;
}

std::vector<Arrival> PoissonArrivals(double rate, absl::Duration duration, const ZipfSampler& zipf,
                                     uint64_t seed) {
  std::vector<Arrival> out;
  if (rate <= 0) return out;
  std::mt19937_64 gen(seed);
  std::exponential_distribution<double> gap(rate);
  absl::Duration t = absl::ZeroDuration();
  while (true) {
    t += absl::Seconds(gap(gen));
    if (t >= duration) break;
    out.push_back(Arrival{t, zipf.Sample(gen)});
  }
  return out;
}

}  // namespace fnrunner
