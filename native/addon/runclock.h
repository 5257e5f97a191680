// What 'auto' completion learns: per kind of run, how long runs take from enqueue to their end event, and how
// early to wake before that: early enough for the waiter thread and for the JS thread it wakes. Plain C++ (no CUDA, no N-API, no clock), so a CPU test can drive it with made-up runs.
#pragma once
#include <map>

namespace ntrt::addon {

//! Per kind of run: how long runs take, from enqueue to the end event, and how early to wake for them.
class RunClock {
 public:
  //! Microseconds to sleep after enqueue before polling (-1 while nothing has been learned), and the margin kept.
  double sleepUs(int kind, double* marginUs);
  //! Reports a run: `us` from enqueue to observed completion; `spunUs`, how long it was polled for before it
  //! ended; `late` when the first look already found it done (so `us` only bounds the run from above); `jsLate`
  //! when the JS thread asked to poll was not polling yet when the run ended (a wider margin lets it be awake at
  //! the end).
  void report(int kind, double us, double spunUs, bool late, bool jsLate = false);

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
