#include "runclock.h"

#include <algorithm>

namespace ntrt::addon {
namespace {
constexpr double kMinMarginUs = 15;  // below this, wake-up jitter makes a late wake likely
constexpr double kMaxMarginUs = 2000;
}  // namespace

double RunClock::estimate(const Stats& s) {
  int n = std::min(s.count, 16);
  double sorted[16];
  std::copy(s.recent, s.recent + n, sorted);
  std::nth_element(sorted, sorted + n / 4, sorted + n);
  return sorted[n / 4];  // a low quantile: a run rarely ends before it
}

double RunClock::sleepUs(int kind, double* marginUs) {
  auto it = byKind_.find(kind);
  if (it == byKind_.end() || it->second.count < 3) return -1;
  const Stats& s = it->second;
  double est = estimate(s);
  // Never spin through more than half a run, however unsure the last runs made us.
  *marginUs = std::min(s.marginUs, std::max(kMinMarginUs, est / 2));
  return std::max(0.0, est - *marginUs);
}

void RunClock::report(int kind, double us, double spunUs, bool late, bool jsLate) {
  Stats& s = byKind_[kind];
  // A late wake only bounds the run from above, but it is recent: when runs got shorter, it pulls the estimate down.
  s.recent[s.count % 16] = us;
  ++s.count;
  if (late) s.marginUs = std::min(s.marginUs * 2, kMaxMarginUs);  // wake earlier next time
  else if (jsLate) s.marginUs = std::min(s.marginUs * 1.25, kMaxMarginUs);  // the JS thread needs longer to wake
  else if (spunUs > kMinMarginUs + 10) s.marginUs = std::max(kMinMarginUs, s.marginUs * 0.95);  // woke needlessly early
}
}  // namespace ntrt::addon
