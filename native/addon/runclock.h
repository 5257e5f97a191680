// What 'auto' completion learns: per kind of run, how long runs take from enqueue to their end event, and how
// early to wake before that. Plain C++ (no CUDA, no N-API, no clock), so a CPU test can drive it with made-up runs.
#pragma once
#include <map>

namespace ntrt::addon {

//! Per kind of run: how long runs take, from enqueue to the end event, and how early to wake for them.
class RunClock {
 public:
  //! Microseconds to sleep after enqueue before polling (-1 while nothing has been learned), and the margin kept.
  double sleepUs(int kind, double* marginUs);
  //! Reports a run: `us` from enqueue to observed completion; `late` when the first poll already found it done
  //! (so `us` only bounds the run from above).
  void report(int kind, double us, double spunUs, bool late);

 private:
  struct Stats {
    double recent[16] = {};
    int count = 0;
    double marginUs = 40;
  };
  static double estimate(const Stats& s);
  std::map<int, Stats> byKind_;
};

}  // namespace ntrt::addon
