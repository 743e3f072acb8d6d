#include "base/clock.h"

#include "absl/time/clock.h"

namespace fnrunner {
namespace {

class RealClock final : public Clock {
 public:
  absl::Time Now() override { return absl::Now(); }
};

}  // namespace

Clock& Clock::Real() {
  // Stateless and trivially destructible in practice; never destroyed so that threads still
  // running at exit can use it.
  static RealClock* const clock = new RealClock;
  return *clock;
}

}  // namespace fnrunner
