// cuda/kernels/index_util.cuh: helpers of the index-driven kernels (gather, segment and
// sparse ops, sparse optimizer updates). Indices are host-memory inputs of those kernels
// (declared with KernelPlacementRegistrar): they are validated on the host with the CPU
// kernels' messages, grouped on the host, and the grouping is copied to the device in one
// transfer. Sums then run one thread per output element over its group in the CPU's
// order, so results are deterministic (no atomics) and match the CPU's accumulation order.
#pragma once

#include <cuda_runtime.h>

#include <cstring>
#include <initializer_list>
#include <type_traits>
#include <unordered_map>
#include <vector>

#include "kernels/common.cuh"

namespace nestor {
namespace cuda {

// An int32/int64 host tensor as int64 values.
inline std::vector<int64_t> host_ints(const Tensor& t, const char* what) {
  std::vector<int64_t> v(static_cast<size_t>(t.num_elements()));
  NESTOR_DISPATCH_INDEX(t.dtype(), what, [&] {
    const scalar_t* p = t.data<scalar_t>();
    for (size_t j = 0; j < v.size(); ++j) v[j] = static_cast<int64_t>(p[j]);
  });
  return v;
}

// Positions 0..n-1 grouped by key: group u holds key keys[u] (groups in order of first
// occurrence) and positions pos[offsets[u] .. offsets[u + 1]) in increasing order.
struct Groups {
  std::vector<int64_t> keys;
  std::vector<int64_t> offsets;
  std::vector<int64_t> pos;
  int64_t size() const { return static_cast<int64_t>(keys.size()); }
};

// Keys < 0 are left out when skip_negative. `limit` > every key (or -1 when unknown): small
// key ranges are grouped through a table instead of a hash map.
inline Groups group_by_key(const std::vector<int64_t>& key, int64_t limit, bool skip_negative) {
  const size_t n = key.size();
  std::vector<int64_t> gid(n, -1);
  Groups g;
  std::vector<int64_t> count;
  auto add = [&](size_t i, int64_t& slot) {
    if (slot < 0) {
      slot = static_cast<int64_t>(g.keys.size());
      g.keys.push_back(key[i]);
      count.push_back(0);
    }
    gid[i] = slot;
    ++count[static_cast<size_t>(slot)];
  };
  if (limit >= 0 && static_cast<uint64_t>(limit) <= 8 * static_cast<uint64_t>(n) + 4096) {
    std::vector<int64_t> table(static_cast<size_t>(limit), -1);
    for (size_t i = 0; i < n; ++i)
      if (key[i] >= 0 || !skip_negative) add(i, table[static_cast<size_t>(key[i])]);
  } else {
    std::unordered_map<int64_t, int64_t> table;
    table.reserve(n);
    for (size_t i = 0; i < n; ++i)
      if (key[i] >= 0 || !skip_negative) add(i, table.emplace(key[i], -1).first->second);
  }
  g.offsets.assign(g.keys.size() + 1, 0);
  for (size_t u = 0; u < g.keys.size(); ++u) g.offsets[u + 1] = g.offsets[u] + count[u];
  g.pos.resize(static_cast<size_t>(g.offsets.back()));
  std::vector<int64_t> fill(g.offsets.begin(), g.offsets.end() - 1);
  for (size_t i = 0; i < n; ++i)
    if (gid[i] >= 0) g.pos[static_cast<size_t>(fill[static_cast<size_t>(gid[i])]++)] = static_cast<int64_t>(i);
  return g;
}

// Host int64 arrays copied to the device in one transfer (through pinned staging, so the
// host vectors may go at once); part(i) is the device address of the i-th array (null
// when it is empty). The device block is released to the stream-ordered cache with this
// object, after the kernels that read it were queued.
class DeviceInts {
 public:
  DeviceInts(CudaBackend& be, std::initializer_list<const std::vector<int64_t>*> parts) {
    size_t total = 0;
    for (const auto* p : parts) {
      offs_.push_back(total);
      sizes_.push_back(p->size());
      total += p->size();
    }
    if (total == 0) return;
    Tensor host = Tensor::empty(DType::kInt64, {static_cast<int64_t>(total)});
    size_t k = 0;
    for (const auto* p : parts) {
      if (!p->empty()) std::memcpy(host.data<int64_t>() + offs_[k], p->data(), p->size() * sizeof(int64_t));
      ++k;
    }
    dev_ = be.copy_from(host);
  }
  const int64_t* part(size_t i) const {
    return sizes_.at(i) == 0 ? nullptr : dev_.data<int64_t>() + offs_.at(i);
  }

 private:
  Tensor dev_;
  std::vector<size_t> offs_, sizes_;
};

// a * b rounded to T, never fused into an add (nvcc contracts a * b + c into an FMA by
// default; the CPU kernels round the product first). Sums built with it give the CPU's
// bits when they also add in the CPU's order.
template <typename T>
__device__ __forceinline__ T mul_rn(T a, T b) {
  if constexpr (std::is_same<T, float>::value) return __fmul_rn(a, b);
  else if constexpr (std::is_same<T, double>::value) return __dmul_rn(a, b);
  else return a * b;
}

}  // namespace cuda
}  // namespace nestor
