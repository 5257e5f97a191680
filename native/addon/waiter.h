// A thread that waits for CUDA events and settles their promises: the low-latency alternative to host callbacks.
// With a spin-wait event it wakes within microseconds of the GPU (trtexec's --useSpinWait) at the cost of a busy
// core while work is in flight; with a blocking-sync event the thread sleeps until the driver's interrupt.
#pragma once
#include <cuda_runtime_api.h>
#include <napi.h>

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>

#include "addon.h"

namespace ntrt::addon {

class EventWaiter {
 public:
  EventWaiter();
  ~EventWaiter();  //!< finishes what is queued, then joins
  EventWaiter(const EventWaiter&) = delete;
  EventWaiter& operator=(const EventWaiter&) = delete;

  //! A promise settled (on the JS thread, by `settle`) once `event` has completed.
  Napi::Promise whenDone(Napi::Env env, int device, cudaEvent_t event, Settle settle);

 private:
  struct Item {
    int device;
    cudaEvent_t event;
    void* pending;
  };
  void loop();
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Item> queue_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace ntrt::addon
