// What an engine or context keeps per value of its dynamic dimension (an executor, a readied executor): the
// profile's min, opt and max for good, and at most `capacity` other values, the least recently used going first.
// A sweep over every length of a long range then holds a bounded number of programs instead of one per length.
// Plain C++ (no CUDA), so a CPU test drives it (test/helpers/kept-values-sim.cc).
#pragma once
#include <cstddef>
#include <cstdint>
#include <map>
#include <utility>
#include <vector>

namespace ntrt::builtin {

template <class V>
class KeptValues {
 public:
  KeptValues(size_t capacity, std::vector<int> pinned) : capacity_(capacity), pinned_(std::move(pinned)) {}

  //! The entry for `s`, marked as just used; nullptr when absent.
  V* find(int s) {
    auto it = items_.find(s);
    if (it == items_.end()) return nullptr;
    it->second.used = ++clock_;
    return &it->second.value;
  }
  //! Without marking it used.
  const V* peek(int s) const {
    auto it = items_.find(s);
    return it == items_.end() ? nullptr : &it->second.value;
  }
  //! Inserts (or keeps the present entry for) `s`; then, while more than `capacity` unpinned values are kept, drops
  //! the least recently used of them other than `s`, appending each dropped value to `dropped` when given.
  V& put(int s, V value, std::vector<int>* dropped = nullptr) {
    auto ins = items_.emplace(s, Item{std::move(value), 0});
    ins.first->second.used = ++clock_;
    while (unpinnedCount() > capacity_) {
      auto victim = items_.end();
      for (auto it = items_.begin(); it != items_.end(); ++it) {
        if (it->first == s || isPinned(it->first)) continue;
        if (victim == items_.end() || it->second.used < victim->second.used) victim = it;
      }
      if (victim == items_.end()) break;
      if (dropped) dropped->push_back(victim->first);
      items_.erase(victim);
    }
    return items_.find(s)->second.value;
  }
  bool isPinned(int s) const {
    for (int p : pinned_) {
      if (p == s) return true;
    }
    return false;
  }
  std::vector<int> keys() const {
    std::vector<int> out;
    for (const auto& kv : items_) out.push_back(kv.first);
    return out;
  }
  size_t size() const { return items_.size(); }
  void clear() { items_.clear(); }

 private:
  struct Item {
    V value;
    uint64_t used;
  };
  size_t unpinnedCount() const {
    size_t n = 0;
    for (const auto& kv : items_) n += isPinned(kv.first) ? 0 : 1;
    return n;
  }
  size_t capacity_;
  std::vector<int> pinned_;
  std::map<int, Item> items_;
  uint64_t clock_ = 0;
};

}  // namespace ntrt::builtin
