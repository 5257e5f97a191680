#include "waiter.h"

#include "../cuda/device.h"

namespace ntrt::addon {

EventWaiter::EventWaiter() : thread_([this] { loop(); }) {}

EventWaiter::~EventWaiter() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_one();
  thread_.join();
}

Napi::Promise EventWaiter::whenDone(Napi::Env env, int device, cudaEvent_t event, Settle settle) {
  Napi::Promise promise;
  void* p = preparePending(env, device, nullptr, std::move(settle), &promise);
  {
    std::lock_guard<std::mutex> lock(mu_);
    queue_.push_back({device, event, p});
  }
  cv_.notify_one();
  return promise;
}

void EventWaiter::loop() {
  for (;;) {
    Item item;
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [this] { return stop_ || !queue_.empty(); });
      if (queue_.empty()) return;
      item = queue_.front();
      queue_.pop_front();
    }
    cudaSetDevice(item.device);
    cudaEventSynchronize(item.event);  // an error is reported when the promise settles (it queries the event)
    postPending(item.pending);
  }
}

}  // namespace ntrt::addon
