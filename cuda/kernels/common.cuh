// cuda/kernels/common.cuh: helpers shared by the CUDA kernels: launch shapes, numpy
// broadcasting index maps, elementwise launchers (unary, binary, three-input) taking device
// functors, dtype dispatch.
// Each kernel file registers its kernels under the CPU op names (cpp/src/ops/<same stem>.cc)
// with the same attributes, dtypes, shapes and error messages.
#pragma once

#include <cuda_runtime.h>

#include <algorithm>
#include <cstdint>

#include "backend/cuda_backend.h"
#include "nestor/op.h"
#include "ops/shape_util.h"  // broadcast_dims and the other shape rules, shared with the CPU kernels

namespace nestor {
namespace cuda {

constexpr int kThreads = 256;
constexpr int kMaxRank = 8;

inline unsigned blocks_for(int64_t n) {
  int64_t b = (n + kThreads - 1) / kThreads;
  return static_cast<unsigned>(std::max<int64_t>(1, std::min<int64_t>(b, 65535 * 8)));
}

#define NESTOR_GRID_STRIDE(i, n) \
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < (n); i += int64_t(blockDim.x) * gridDim.x)

// Fails unless the tensor can be handled by the device kernels (rank <= kMaxRank).
inline void check_rank(const KernelCtx& ctx, const Tensor& t) {
  if (t.rank() > kMaxRank)
    ctx.fail(Code::kUnimplemented, "CUDA kernels support rank <= ", kMaxRank, ", got shape ", dims_str(t.dims()));
}

// The sum over d of f(d, o_d), (o_0, ..., o_{rank-1}) being the row-major coordinates of
// linear index `idx` over dims[0, rank): the index -> offset walk of every index map of the
// kernels (IndexMap and BroadcastMap below, index_map.cuh's GatherMap).
template <typename F>
__device__ __forceinline__ int64_t sum_over_coords(int rank, const int64_t* dims, int64_t idx, const F& f) {
  int64_t off = 0;
  for (int i = rank - 1; i >= 0; --i) {
    off += f(i, idx % dims[i]);
    idx /= dims[i];
  }
  return off;
}

// Linear index over `dims` (row-major) -> offset with `strides`.
struct IndexMap {
  int rank = 0;
  int64_t dims[kMaxRank] = {};
  int64_t strides[kMaxRank] = {};
  __device__ int64_t operator()(int64_t idx) const {
    return sum_over_coords(rank, dims, idx, [this](int i, int64_t o) { return o * strides[i]; });
  }
};

// Output linear index -> input offset for an input broadcast to `out` (strides 0 where
// the input has extent 1 or lacks the axis).
struct BroadcastMap : IndexMap {
  BroadcastMap() = default;
  BroadcastMap(const Dims& out, const Dims& in) {
    rank = static_cast<int>(out.size());
    size_t off = out.size() - in.size();
    int64_t s = 1;
    for (size_t i = out.size(); i-- > 0;) {
      dims[i] = out[i];
      if (i >= off) {
        int64_t d = in[i - off];
        strides[i] = d == 1 ? 0 : s;
        s *= d;
      }
    }
  }
};

template <typename T, typename R, typename F>
__global__ void unary_kernel(const T* x, R* y, int64_t n, F f) {
  NESTOR_GRID_STRIDE(i, n) y[i] = f(x[i]);
}

template <typename T, typename R, typename F>
__global__ void binary_same_kernel(const T* a, const T* b, R* y, int64_t n, F f) {
  NESTOR_GRID_STRIDE(i, n) y[i] = f(a[i], b[i]);
}

template <typename T, typename R, typename F>
__global__ void binary_bcast_kernel(const T* a, const T* b, R* y, int64_t n, BroadcastMap ma, BroadcastMap mb, F f) {
  NESTOR_GRID_STRIDE(i, n) y[i] = f(a[ma(i)], b[mb(i)]);
}

// y = f(x), elementwise, on the kernel's stream.
template <typename T, typename R, typename F>
void launch_unary(KernelCtx& ctx, F f) {
  const Tensor& x = ctx.input(0);
  CudaBackend& be = CudaBackend::of(ctx);
  Tensor& y = ctx.allocate_output(0, DTypeOf<R>::value, x.dims());
  int64_t n = x.num_elements();
  if (n == 0) return;
  unary_kernel<T, R><<<blocks_for(n), kThreads, 0, be.stream()>>>(x.data<T>(), y.data<R>(), n, f);
  NESTOR_CUDA_CHECK_LAUNCH();
}

// y = f(a, b) with numpy broadcasting, on the kernel's stream.
template <typename T, typename R, typename F>
void launch_binary(KernelCtx& ctx, F f) {
  const Tensor& a = ctx.input(0);
  const Tensor& b = ctx.input(1);
  CudaBackend& be = CudaBackend::of(ctx);
  bool same = a.dims() == b.dims();
  Dims od = same ? a.dims() : broadcast_dims(ctx, a.dims(), b.dims());
  Tensor& y = ctx.allocate_output(0, DTypeOf<R>::value, od);
  int64_t n = y.num_elements();
  if (n == 0) return;
  if (same) {
    binary_same_kernel<T, R><<<blocks_for(n), kThreads, 0, be.stream()>>>(a.data<T>(), b.data<T>(), y.data<R>(), n, f);
  } else {
    if (od.size() > static_cast<size_t>(kMaxRank))
      ctx.fail(Code::kUnimplemented, "CUDA kernels broadcast up to rank ", kMaxRank, ", got ", dims_str(od));
    binary_bcast_kernel<T, R><<<blocks_for(n), kThreads, 0, be.stream()>>>(
        a.data<T>(), b.data<T>(), y.data<R>(), n, BroadcastMap(od, a.dims()), BroadcastMap(od, b.dims()), f);
  }
  NESTOR_CUDA_CHECK_LAUNCH();
}

// Fails unless an output of shape `od` can be indexed by BroadcastMap (rank <= kMaxRank).
inline void check_broadcast_rank(const KernelCtx& ctx, const Dims& od) {
  if (od.size() > static_cast<size_t>(kMaxRank))
    ctx.fail(Code::kUnimplemented, "CUDA kernels broadcast up to rank ", kMaxRank, ", got ", dims_str(od));
}

// Output linear index -> offset of one operand of a broadcasting op: the index itself where
// the operand has the output's shape, 0 where it has one element, else a BroadcastMap.
struct OperandMap {
  enum Kind : int { kSame = 0, kScalar = 1, kBroadcast = 2 };
  int kind = kSame;
  BroadcastMap map;
  OperandMap() = default;
  // `out` must pass check_broadcast_rank unless every operand is kSame or kScalar
  // (operand_map below checks).
  OperandMap(const Dims& out, const Dims& in)
      : kind(in == out ? kSame : (num_elements(in) == 1 ? kScalar : kBroadcast)) {
    if (kind == kBroadcast) map = BroadcastMap(out, in);
  }
  __device__ int64_t operator()(int64_t i) const { return kind == kSame ? i : (kind == kScalar ? 0 : map(i)); }
};

// The OperandMap of `in` for output `out`, failing (Unimplemented) if it needs a
// BroadcastMap of rank > kMaxRank.
inline OperandMap operand_map(const KernelCtx& ctx, const Dims& out, const Dims& in) {
  if (in != out && num_elements(in) != 1) check_broadcast_rank(ctx, out);
  return OperandMap(out, in);
}

template <typename A, typename B, typename C, typename R, typename F>
__global__ void ternary_kernel(const A* a, const B* b, const C* c, R* y, int64_t n, OperandMap ma, OperandMap mb,
                               OperandMap mc, F f) {
  NESTOR_GRID_STRIDE(i, n) y[i] = f(a[ma(i)], b[mb(i)], c[mc(i)]);
}

// y = f(a, b, c) with numpy broadcasting of all three inputs (output shape
// broadcast(broadcast(a, b), c), as the CPU kernels compute it), on the kernel's stream.
template <typename A, typename B, typename C, typename R, typename F>
void launch_ternary(KernelCtx& ctx, F f) {
  const Tensor& a = ctx.input(0);
  const Tensor& b = ctx.input(1);
  const Tensor& c = ctx.input(2);
  CudaBackend& be = CudaBackend::of(ctx);
  Dims od = broadcast_dims(ctx, broadcast_dims(ctx, a.dims(), b.dims()), c.dims());
  Tensor& y = ctx.allocate_output(0, DTypeOf<R>::value, od);
  int64_t n = y.num_elements();
  if (n == 0) return;
  OperandMap ma = operand_map(ctx, od, a.dims()), mb = operand_map(ctx, od, b.dims()),
             mc = operand_map(ctx, od, c.dims());
  ternary_kernel<A, B, C, R><<<blocks_for(n), kThreads, 0, be.stream()>>>(a.data<A>(), b.data<B>(), c.data<C>(),
                                                                          y.data<R>(), n, ma, mb, mc, f);
  NESTOR_CUDA_CHECK_LAUNCH();
}

// A functor template F<T> applied over the dtypes of a dispatch group.
#define NESTOR_CUDA_UNARY(GROUP, NAME, F)                                          \
  [](KernelCtx& ctx) {                                                             \
    GROUP(ctx.input(0).dtype(), NAME, [&] {                                        \
      ::nestor::cuda::launch_unary<scalar_t, scalar_t>(ctx, F<scalar_t>{});        \
    });                                                                            \
  }
#define NESTOR_CUDA_BINARY(GROUP, NAME, F)                                         \
  [](KernelCtx& ctx) {                                                             \
    GROUP(ctx.input(0).dtype(), NAME, [&] {                                        \
      ::nestor::cuda::launch_binary<scalar_t, scalar_t>(ctx, F<scalar_t>{});       \
    });                                                                            \
  }

}  // namespace cuda
}  // namespace nestor
