// A thread that waits for the end event of a context's runs and settles their promises: the alternative to host
// callbacks. Three ways to wait:
// - spin: polls the event (trtexec's --useSpinWait); wakes within microseconds of the GPU, one busy core meanwhile;
// - blocking: sleeps in cudaEventSynchronize on a blocking-sync event until the driver wakes it;
// - auto: sleeps until just before the run's expected end, learned from earlier runs of the same kind, then asks
//   the JS thread to poll the end event on each turn of its event loop (postHot) and sleeps in
//   cudaEventSynchronize. The JS thread, awake by the end, settles the promise itself within a turn; the waiter's
//   hand-over afterwards only frees it (or settles it, when the run ended outside the polling window). What it
//   learns is keyed by the kind of run (batch size, transfers, image input), which the caller folds into one int.
// Every way reads the event's status, so a run that faulted on the GPU settles too, with the error.
#pragma once
#include <cuda_runtime_api.h>
#include <napi.h>

#include <chrono>
#include <condition_variable>
#include <deque>
#include <atomic>
#include <cstdint>
#include <mutex>
#include <thread>

#include "addon.h"
#include "runclock.h"

namespace ntrt::addon {

//! How a waiter thread waits (the numbers of lib/native.ts `createContext(…, sync)`, less 'callback' = 0).
enum class WaitMode : int { Spin = 1, Blocking = 2, Auto = 3 };

class EventWaiter {
 public:
  explicit EventWaiter(WaitMode mode);
  ~EventWaiter();  //!< finishes what is queued, then joins
  EventWaiter(const EventWaiter&) = delete;
  EventWaiter& operator=(const EventWaiter&) = delete;

  //! A promise settled (on the JS thread, by `settle`) once `event` has completed, or rejected with the error the
  //! GPU reported (after `onFault` ran). `kind` keys what 'auto' learns (runs of one kind take about as long).
  //! `owner` (the context the event belongs to) is kept alive until the promise is freed.
  Napi::Promise whenDone(Napi::Env env, int device, cudaEvent_t event, int kind, Settle settle, OnFault onFault,
                         std::shared_ptr<void> owner);
  WaitMode mode() const { return mode_; }
  //! What 'auto' did so far: runs waited for; wakes that came after the run had ended; runs the JS thread settled
  //! by polling, and the microseconds it polled for them in all; runs whose end found it not polling.
  struct Stats {
    uint64_t runs, lateWakes, polled, notPolled;
    double polledUs;
  };
  Stats stats() const;

 private:
  struct Item {
    int device;
    cudaEvent_t event;
    int kind;
    std::chrono::steady_clock::time_point enqueued;
    void* pending;
  };
  void loop();
  cudaError_t wait(const Item& item);
  WaitMode mode_;
  RunClock clock_;  // touched by the waiter thread only
  std::atomic<uint64_t> runs_{0}, lateWakes_{0}, polled_{0}, notPolled_{0};
  std::atomic<int64_t> polledNs_{0};
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Item> queue_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace ntrt::addon
