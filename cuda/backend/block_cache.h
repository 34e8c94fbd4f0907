// cuda/backend/block_cache.h: the size-class free lists behind the CUDA plugin's device
// and pinned-host allocators. Plain C++ (no CUDA calls) so tests/cpp can check the bin
// logic without a GPU.
//
// Sizes are rounded up to a class (512 B minimum; above that, 1/8 of the enclosing power of
// two, so at most 12.5% is wasted); a freed block goes back to its class's list and is
// handed out again for any request of the same class. Thread-safe.
#pragma once

#include <algorithm>
#include <cstddef>
#include <mutex>
#include <unordered_map>
#include <utility>
#include <vector>

namespace nestor {
namespace cuda {

inline size_t size_class(size_t n) {
  constexpr size_t kMin = 512;
  if (n <= kMin) return kMin;
  size_t p = 1;
  while (p * 2 <= n) p *= 2;
  size_t step = std::max(p / 8, kMin);
  return (n + step - 1) / step * step;
}

// Free blocks by size class. `Tag` is extra per-block state kept with the block (the
// pinned pool keeps an "in use by the GPU until this event" marker there).
template <typename Tag = char>
class BlockCache {
 public:
  struct Block {
    void* ptr = nullptr;
    Tag tag{};
  };

  // A cached block of class `cls` for which ready(tag) holds, or a null block.
  template <typename Ready>
  Block take(size_t cls, Ready&& ready) {
    std::lock_guard<std::mutex> l(mu_);
    auto it = free_.find(cls);
    if (it == free_.end()) return Block{};
    auto& v = it->second;
    for (size_t i = v.size(); i-- > 0;) {
      if (!ready(v[i].tag)) continue;
      Block b = v[i];
      v.erase(v.begin() + static_cast<std::ptrdiff_t>(i));
      cached_ -= cls;
      return b;
    }
    return Block{};
  }
  Block take(size_t cls) {
    return take(cls, [](const Tag&) { return true; });
  }

  void put(size_t cls, Block b) {
    std::lock_guard<std::mutex> l(mu_);
    free_[cls].push_back(std::move(b));
    cached_ += cls;
  }

  // Removes every cached block, calling release(block) on each; returns the bytes removed.
  template <typename Release>
  size_t drain(Release&& release) {
    std::unordered_map<size_t, std::vector<Block>> all;
    size_t bytes;
    {
      std::lock_guard<std::mutex> l(mu_);
      all.swap(free_);
      bytes = cached_;
      cached_ = 0;
    }
    for (auto& kv : all)
      for (auto& b : kv.second) release(b);
    return bytes;
  }

  size_t cached_bytes() const {
    std::lock_guard<std::mutex> l(mu_);
    return cached_;
  }

 private:
  mutable std::mutex mu_;
  std::unordered_map<size_t, std::vector<Block>> free_;
  size_t cached_ = 0;
};

}  // namespace cuda
}  // namespace nestor
