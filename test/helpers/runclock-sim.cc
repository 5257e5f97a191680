// Drives RunClock (native/addon/runclock.h) with simulated runs, the way EventWaiter's 'auto' mode does, and prints
// what it would cost: for test/unit/runclock.test.ts.
// Usage: runclock-sim <seed> <runs> <phase:durationUs:jitterUs>... [--wake minUs:maxUs] [--js minUs:maxUs] [--block us]
// --js: how long the JS thread takes to start polling after the waiter wakes and asks it to (postHot); 0:0 (the
// default) is at once. Spin fraction: the JS thread's polling.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "runclock.h"

int main(int argc, char** argv) {
  std::mt19937 rng(static_cast<unsigned>(std::atoi(argv[1])));
  int runs = std::atoi(argv[2]);
  struct Phase {
    double d, jitter;
  };
  std::vector<Phase> phases;
  double wakeMin = 3, wakeMax = 15, block = 40, jsMin = 0, jsMax = 0;
  for (int i = 3; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--wake")) std::sscanf(argv[++i], "%lf:%lf", &wakeMin, &wakeMax);
    else if (!std::strcmp(argv[i], "--js")) std::sscanf(argv[++i], "%lf:%lf", &jsMin, &jsMax);
    else if (!std::strcmp(argv[i], "--block")) block = std::atof(argv[++i]);
    else {
      Phase p{};
      std::sscanf(argv[i], "%lf:%lf", &p.d, &p.jitter);
      phases.push_back(p);
    }
  }
  ntrt::addon::RunClock clock;
  std::uniform_real_distribution<double> unit(0, 1);
  std::printf("[");
  for (size_t ph = 0; ph < phases.size(); ++ph) {
    std::vector<double> overhead;
    double spun = 0, busy = 0;
    int late = 0, jsLate = 0;
    for (int r = 0; r < runs; ++r) {
      double d = phases[ph].d + (2 * unit(rng) - 1) * phases[ph].jitter;
      double margin = 0, cpu = 0, observed;
      double sleep = clock.sleepUs(0, &margin);
      if (sleep < 0) {
        observed = d + block;
        clock.report(0, observed, 0, false);
      } else {
        double wake = sleep + wakeMin + unit(rng) * (wakeMax - wakeMin);
        if (wake >= d) {
          observed = wake;
          ++late;
          clock.report(0, observed, 0, true);
        } else {
          // The waiter asks the JS thread to poll, which it does from `wake + jsWake` until the end (within the
          // window); a run that ends before the JS thread polls is settled when it gets there.
          const double jsAt = wake + jsMin + unit(rng) * (jsMax - jsMin);
          double budget = std::max(200.0, 3 * margin);
          if (jsAt > d) {
            ++jsLate;
            observed = jsAt;
            clock.report(0, observed, 0, false, true);
          } else {
            cpu = std::min(d - jsAt, budget);
            observed = d - jsAt > budget ? d + block : d + 1;
            clock.report(0, observed, cpu, false);
          }
        }
      }
      overhead.push_back(observed - d);
      spun += cpu;
      busy += d;
    }
    std::sort(overhead.begin(), overhead.end());
    std::printf("%s{\"medianOverheadUs\":%.2f,\"p90OverheadUs\":%.2f,\"spinFraction\":%.4f,\"lateFraction\":%.4f,"
                "\"jsLateFraction\":%.4f}",
                ph ? "," : "", overhead[overhead.size() / 2], overhead[overhead.size() * 9 / 10], spun / busy,
                double(late) / runs, double(jsLate) / runs);
  }
  std::printf("]\n");
  return 0;
}
