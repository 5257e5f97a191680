#include "waiter.h"

#include <sys/prctl.h>

#include <algorithm>

namespace ntrt::addon {

using Clock = std::chrono::steady_clock;

namespace {
constexpr double kPollWindowUs = 200;  // after the wake-up, the JS thread polls at most this long (or 3 margins)
constexpr double kSettleGraceUs = 50;  // how long to wait for a polling JS thread to see an end this thread saw

double since(Clock::time_point t0) { return std::chrono::duration<double, std::micro>(Clock::now() - t0).count(); }
}  // namespace

// ---- EventWaiter ------------------------------------------------------------------------------

EventWaiter::EventWaiter(WaitMode mode) : mode_(mode), thread_([this] { loop(); }) {}

EventWaiter::~EventWaiter() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_one();
  thread_.join();
}

Napi::Promise EventWaiter::whenDone(Napi::Env env, int device, cudaEvent_t event, int kind, Settle settle,
                                    OnFault onFault, std::shared_ptr<void> owner) {
  Napi::Promise promise;
  void* p = preparePending(env, std::move(settle), std::move(onFault), &promise, std::move(owner));
  {
    std::lock_guard<std::mutex> lock(mu_);
    queue_.push_back({device, event, kind, Clock::now(), p});
  }
  cv_.notify_one();
  return promise;
}

cudaError_t EventWaiter::wait(const Item& item) {
  if (mode_ == WaitMode::Blocking) return cudaEventSynchronize(item.event);
  if (mode_ == WaitMode::Spin) {
    cudaError_t e;
    while ((e = cudaEventQuery(item.event)) == cudaErrorNotReady) {
    }
    return e;
  }
  double margin = 0;
  double sleep = clock_.sleepUs(item.kind, &margin);
  if (sleep < 0) {
    cudaError_t e = cudaEventSynchronize(item.event);  // nothing learned yet: sleep, and learn an upper bound
    clock_.report(item.kind, since(item.enqueued), 0, false);
    return e;
  }
  std::this_thread::sleep_until(item.enqueued + std::chrono::duration<double, std::micro>(sleep));
  runs_.fetch_add(1, std::memory_order_relaxed);
  cudaError_t e = cudaEventQuery(item.event);
  if (e != cudaErrorNotReady) {
    lateWakes_.fetch_add(1, std::memory_order_relaxed);
    clock_.report(item.kind, since(item.enqueued), 0, true);
    return e;
  }
  // The JS thread polls from here (it settles the run itself, within a turn of its loop); this thread sleeps.
  const double window = std::max(kPollWindowUs, 3 * margin);
  postHot(item.pending, item.event, static_cast<int64_t>(window));
  // Settled by a poll already (the JS thread may even have re-recorded the event for its next run): nothing to wait for.
  if (!pollOutcome(item.pending).settled) e = cudaEventSynchronize(item.event);
  else e = cudaSuccess;
  PollOutcome o = pollOutcome(item.pending);
  // Polling, but not yet seen the end this thread woke for: give the JS thread's next turn a moment.
  for (auto t0 = Clock::now(); !o.settled && o.fromNs != 0 && since(t0) < kSettleGraceUs; o = pollOutcome(item.pending)) {
    std::this_thread::yield();
  }
  if (o.settled) {
    const double enq = std::chrono::duration<double, std::nano>(item.enqueued.time_since_epoch()).count();
    polled_.fetch_add(1, std::memory_order_relaxed);
    polledNs_.fetch_add(o.sawEndNs - o.fromNs, std::memory_order_relaxed);
    clock_.report(item.kind, (o.sawEndNs - enq) / 1e3, (o.sawEndNs - o.fromNs) / 1e3, false);
  } else {
    // The JS thread was not polling yet (or any more) when the run ended: wake it earlier next time.
    notPolled_.fetch_add(1, std::memory_order_relaxed);
    clock_.report(item.kind, since(item.enqueued), 0, false, true);
  }
  return e;
}

EventWaiter::Stats EventWaiter::stats() const {
  return {runs_.load(), lateWakes_.load(), polled_.load(), notPolled_.load(), polledNs_.load() / 1e3};
}

void EventWaiter::loop() {
  // Sleeps end within microseconds of their deadline instead of the default 50 µs timer slack.
  if (mode_ == WaitMode::Auto) prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);
  int current = -1;
  for (;;) {
    Item item;
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [this] { return stop_ || !queue_.empty(); });
      if (queue_.empty()) return;
      item = queue_.front();
      queue_.pop_front();
    }
    if (item.device != current && cudaSetDevice(item.device) == cudaSuccess) current = item.device;
    cudaError_t e = wait(item);
    if (e != cudaSuccess) (void)cudaGetLastError();
    postPending(item.pending, e);
  }
}

}  // namespace ntrt::addon
