// cuda/kernels/reduce_util.cuh: reductions over any set of axes. One block per output
// element (grid-stride over outputs); the block's threads stride over the reduced
// elements and combine with cub::BlockReduce. Index maps turn an output index and a
// reduced index into input offsets, so no transpose is needed.
#pragma once

#include <cub/block/block_reduce.cuh>

#include <limits>
#include <vector>

#include "kernels/common.cuh"

namespace nestor {
namespace cuda {

struct SumOp {
  template <typename T> __device__ static T identity() { return T(0); }
  template <typename T> __device__ T operator()(T a, T b) const { return a + b; }
};
struct MaxOp {
  template <typename T> __device__ static T identity() {
    return std::numeric_limits<T>::has_infinity ? -std::numeric_limits<T>::infinity() : std::numeric_limits<T>::lowest();
  }
  template <typename T> __device__ T operator()(T a, T b) const { return b > a ? b : a; }
};
struct MinOp {
  template <typename T> __device__ static T identity() {
    return std::numeric_limits<T>::has_infinity ? std::numeric_limits<T>::infinity() : std::numeric_limits<T>::max();
  }
  template <typename T> __device__ T operator()(T a, T b) const { return b < a ? b : a; }
};

template <typename T, typename Op>
__global__ void reduce_axes_kernel(const T* x, T* y, int64_t n_out, int64_t R, IndexMap kept, IndexMap red,
                                   bool mean) {
  using BR = cub::BlockReduce<T, kThreads>;
  __shared__ typename BR::TempStorage tmp;
  Op op;
  for (int64_t o = blockIdx.x; o < n_out; o += gridDim.x) {
    int64_t base = kept(o);
    T acc = Op::template identity<T>();
    for (int64_t r = threadIdx.x; r < R; r += blockDim.x) acc = op(acc, x[base + red(r)]);
    T total = BR(tmp).Reduce(acc, op);
    if (threadIdx.x == 0) {
      if (!mean) y[o] = total;
      else if (R > 0) y[o] = total / static_cast<T>(R);
      else y[o] = std::numeric_limits<T>::has_quiet_NaN ? std::numeric_limits<T>::quiet_NaN() : T(0);  // mean of nothing
    }
    __syncthreads();
  }
}

// The kept and reduced index maps of reducing `dims` over the axes where mask[i] != 0;
// returns the number of reduced elements per output.
inline int64_t reduce_maps(const Dims& dims, const std::vector<char>& mask, IndexMap& kept, IndexMap& red) {
  kept = IndexMap();
  red = IndexMap();
  Dims strides = strides_of(dims);
  int64_t R = 1;
  for (size_t i = 0; i < dims.size(); ++i) {
    IndexMap& m = mask[i] ? red : kept;
    m.dims[m.rank] = dims[i];
    m.strides[m.rank] = strides[i];
    ++m.rank;
    if (mask[i]) R *= dims[i];
  }
  return R;
}

inline unsigned reduce_blocks(int64_t n_out) { return static_cast<unsigned>(std::min<int64_t>(n_out, 65535 * 8)); }

// out = reduce(x) over the axes where mask[i] != 0 (out holds the kept axes' elements in
// order; its dims may include keepdims 1s). mean divides by the reduced count.
template <typename T, typename Op>
void reduce_axes(KernelCtx& ctx, const Tensor& x, const std::vector<char>& mask, Tensor& out, bool mean) {
  check_rank(ctx, x);
  CudaBackend& be = CudaBackend::of(ctx);
  IndexMap kept, red;
  int64_t R = reduce_maps(x.dims(), mask, kept, red);
  int64_t n_out = out.num_elements();
  if (n_out == 0) return;
  reduce_axes_kernel<T, Op><<<reduce_blocks(n_out), kThreads, 0, be.stream()>>>(x.data<T>(), out.data<T>(), n_out, R,
                                                                                kept, red, mean);
  NESTOR_CUDA_CHECK_LAUNCH();
}

// The general form: y[o] = fin(reduce_op(init, pre(x_r, o) for the reduced elements r of
// output o), o), with an accumulator type Acc of its own (counts, flags, (zeros, product)
// pairs). Functors are __device__ objects passed by value.
template <typename T, typename Acc, typename Out, typename Op, typename Pre, typename Fin>
__global__ void reduce_map_kernel(const T* x, Out* y, int64_t n_out, int64_t R, IndexMap kept, IndexMap red, Acc init,
                                  Op op, Pre pre, Fin fin) {
  using BR = cub::BlockReduce<Acc, kThreads>;
  __shared__ typename BR::TempStorage tmp;
  for (int64_t o = blockIdx.x; o < n_out; o += gridDim.x) {
    int64_t base = kept(o);
    Acc acc = init;
    for (int64_t r = threadIdx.x; r < R; r += blockDim.x) acc = op(acc, pre(x[base + red(r)], o));
    Acc total = BR(tmp).Reduce(acc, op);
    if (threadIdx.x == 0) y[o] = fin(total, o);
    __syncthreads();
  }
}

// Runs reduce_map_kernel over x reduced along `mask` into the n_out outputs at y (device
// memory). x's rank must be <= kMaxRank.
template <typename T, typename Acc, typename Out, typename Op, typename Pre, typename Fin>
void reduce_map(KernelCtx& ctx, const Tensor& x, const std::vector<char>& mask, Out* y, int64_t n_out, Acc init, Op op,
                Pre pre, Fin fin) {
  check_rank(ctx, x);
  IndexMap kept, red;
  int64_t R = reduce_maps(x.dims(), mask, kept, red);
  if (n_out == 0) return;
  reduce_map_kernel<T, Acc, Out><<<reduce_blocks(n_out), kThreads, 0, CudaBackend::of(ctx).stream()>>>(
      x.data<T>(), y, n_out, R, kept, red, init, op, pre, fin);
  NESTOR_CUDA_CHECK_LAUNCH();
}

}  // namespace cuda
}  // namespace nestor
