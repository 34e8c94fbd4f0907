// CUDA kernels for cpp/src/ops/clip.cc: clip_by_value (bounds broadcast to t) and its
// grad, clip_safe_div, global_norm, clip_l2_norm, clip_scale and clip_scale_grad. Every
// one of them is elementwise or a reduction: the shape checks run on the host with the CPU
// kernels' messages, nothing waits for the device.
//
// The norms accumulate squares in double and round once, as the CPU kernels do:
// clip_l2_norm sums each output's elements in the CPU's order when there are few of them
// (one thread per output), else per block; global_norm sums per block, then the partial
// sums in a fixed order (deterministic, no atomics).
#include <cub/block/block_reduce.cuh>

#include <limits>
#include <vector>

#include "kernels/common.cuh"
#include "kernels/reduce_util.cuh"

namespace nestor {
namespace cuda {
namespace {

// Runtime broadcast shape of t and the bounds, which must not grow t (TF's rule); the CPU
// kernel's check and message.
Dims bounded_dims(const KernelCtx& ctx, const Dims& t, const Dims& lo, const Dims& hi) {
  Dims o = broadcast_dims(ctx, broadcast_dims(ctx, t, lo), hi);
  if (o != t)
    ctx.fail(Code::kInvalidArgument, "clip_value_min ", dims_str(lo), " and clip_value_max ", dims_str(hi),
             " must broadcast to the shape of t ", dims_str(t));
  return o;
}

// ---------------------------------------------------------------- clip_by_value (+ grad)
template <typename T> struct ClipByValue {
  __device__ T operator()(T v, T l, T h) const { return v < l ? l : (v > h ? h : v); }
};

NESTOR_REGISTER_KERNEL("clip_by_value", DeviceType::kCuda, ([](KernelCtx& ctx) {
  const Tensor &t = ctx.input(0), &lo = ctx.input(1), &hi = ctx.input(2);
  bounded_dims(ctx, t.dims(), lo.dims(), hi.dims());
  NESTOR_DISPATCH_NUMERIC(t.dtype(), "clip_by_value", [&] {
    using T = scalar_t;
    launch_ternary<T, T, T, T>(ctx, ClipByValue<T>{});
  });
}));

template <typename T>
__global__ void clip_by_value_grad_kernel(const T* dy, const T* t, const T* lo, const T* hi, T* dt, T* dl, T* dh,
                                          int64_t n, OperandMap ml, OperandMap mh) {
  NESTOR_GRID_STRIDE(i, n) {
    T v = t[i], d = dy[i];
    bool below = v < lo[ml(i)], above = v > hi[mh(i)];
    dt[i] = below || above ? T(0) : d;
    dl[i] = below ? d : T(0);
    dh[i] = above ? d : T(0);
  }
}

// clip_by_value_grad(dy, t, lo, hi) -> (dt, dlo, dhi), all of t's shape.
NESTOR_REGISTER_KERNEL("clip_by_value_grad", DeviceType::kCuda, ([](KernelCtx& ctx) {
  const Tensor &dy = ctx.input(0), &t = ctx.input(1), &lo = ctx.input(2), &hi = ctx.input(3);
  Dims od = bounded_dims(ctx, t.dims(), lo.dims(), hi.dims());
  if (dy.dims() != od)
    ctx.fail(Code::kInvalidArgument, "dy has shape ", dims_str(dy.dims()), ", expected ", dims_str(od));
  CudaBackend& be = CudaBackend::of(ctx);
  Tensor& dt = ctx.allocate_output(0, t.dtype(), od);
  Tensor& dl = ctx.allocate_output(1, t.dtype(), od);
  Tensor& dh = ctx.allocate_output(2, t.dtype(), od);
  int64_t n = dt.num_elements();
  if (n == 0) return;
  OperandMap ml = operand_map(ctx, od, lo.dims()), mh = operand_map(ctx, od, hi.dims());
  NESTOR_DISPATCH_FLOAT(t.dtype(), "clip_by_value_grad", [&] {
    using T = scalar_t;
    clip_by_value_grad_kernel<T><<<blocks_for(n), kThreads, 0, be.stream()>>>(
        dy.data<T>(), t.data<T>(), lo.data<T>(), hi.data<T>(), dt.data<T>(), dl.data<T>(), dh.data<T>(), n, ml, mh);
    NESTOR_CUDA_CHECK_LAUNCH();
  });
}));

// ---------------------------------------------------------------- clip_safe_div, clip_scale
// a / b, or 0 where b == 0.
template <typename T> struct SafeDiv {
  __device__ T operator()(T a, T b) const { return b == 0 ? T(0) : a / b; }
};
// clip_norm / max(norm, clip_norm); NaN where the norm is inf or NaN.
template <typename T> struct ClipScale {
  __device__ T operator()(T n, T c) const {
    if (!isfinite(n)) return std::numeric_limits<T>::quiet_NaN();
    return n > c ? c / n : T(1);
  }
};

NESTOR_REGISTER_KERNEL("clip_safe_div", DeviceType::kCuda,
                       NESTOR_CUDA_BINARY(NESTOR_DISPATCH_FLOAT, "clip_safe_div", SafeDiv));
NESTOR_REGISTER_KERNEL("clip_scale", DeviceType::kCuda,
                       NESTOR_CUDA_BINARY(NESTOR_DISPATCH_FLOAT, "clip_scale", ClipScale));

template <typename T>
__global__ void clip_scale_grad_kernel(const T* dy, const T* nm, const T* cl, T* dn, T* dc, int64_t n, OperandMap md,
                                       OperandMap mn, OperandMap mc) {
  NESTOR_GRID_STRIDE(i, n) {
    T d = dy[md(i)], nv = nm[mn(i)], c = cl[mc(i)];
    bool clipped = nv > c;  // scale = c / n there, 1 elsewhere
    dn[i] = clipped ? -d * c / (nv * nv) : T(0);
    dc[i] = clipped ? d / nv : T(0);
  }
}

// clip_scale_grad(dy, norm, clip_norm) -> (d norm, d clip_norm), of the broadcast shape.
NESTOR_REGISTER_KERNEL("clip_scale_grad", DeviceType::kCuda, ([](KernelCtx& ctx) {
  const Tensor &dy = ctx.input(0), &nm = ctx.input(1), &cl = ctx.input(2);
  Dims od = broadcast_dims(ctx, broadcast_dims(ctx, dy.dims(), nm.dims()), cl.dims());
  CudaBackend& be = CudaBackend::of(ctx);
  Tensor& dn = ctx.allocate_output(0, dy.dtype(), od);
  Tensor& dc = ctx.allocate_output(1, dy.dtype(), od);
  int64_t n = dn.num_elements();
  if (n == 0) return;
  OperandMap md = operand_map(ctx, od, dy.dims()), mn = operand_map(ctx, od, nm.dims()),
             mc = operand_map(ctx, od, cl.dims());
  NESTOR_DISPATCH_FLOAT(dy.dtype(), "clip_scale_grad", [&] {
    using T = scalar_t;
    clip_scale_grad_kernel<T><<<blocks_for(n), kThreads, 0, be.stream()>>>(
        dy.data<T>(), nm.data<T>(), cl.data<T>(), dn.data<T>(), dc.data<T>(), n, md, mn, mc);
    NESTOR_CUDA_CHECK_LAUNCH();
  });
}));

// ---------------------------------------------------------------- global_norm
// Products rounded on their own (no FMA contraction), as the CPU's sums.
__device__ inline double add_square(double acc, double v) { return __dadd_rn(acc, __dmul_rn(v, v)); }

constexpr int64_t kMaxNormBlocks = 1024;

// partial[b] = sum of x[i]^2 (in double) over the grid-stride elements of block b.
template <typename T>
__global__ void sum_squares_partial_kernel(const T* x, int64_t n, double* partial) {
  using BR = cub::BlockReduce<double, kThreads>;
  __shared__ typename BR::TempStorage tmp;
  double acc = 0;
  NESTOR_GRID_STRIDE(i, n) acc = add_square(acc, static_cast<double>(x[i]));
  double total = BR(tmp).Sum(acc);
  if (threadIdx.x == 0) partial[blockIdx.x] = total;
}

// y = sqrt(sum of partial[0..m)), summed in a fixed order by one block.
template <typename T>
__global__ void sqrt_of_sum_kernel(const double* partial, int64_t m, T* y) {
  using BR = cub::BlockReduce<double, kThreads>;
  __shared__ typename BR::TempStorage tmp;
  double acc = 0;
  for (int64_t i = threadIdx.x; i < m; i += blockDim.x) acc = __dadd_rn(acc, partial[i]);
  double total = BR(tmp).Sum(acc);
  if (threadIdx.x == 0) y[0] = static_cast<T>(sqrt(total));
}

// global_norm(t_1, ..., t_n) = sqrt(sum_i sum(t_i ** 2)), a scalar.
NESTOR_REGISTER_KERNEL("global_norm", DeviceType::kCuda, ([](KernelCtx& ctx) {
  DType dt = ctx.input(0).dtype();
  CudaBackend& be = CudaBackend::of(ctx);
  Tensor& o = ctx.allocate_output(0, dt, {});
  NESTOR_DISPATCH_FLOAT(dt, "global_norm", [&] {
    using T = scalar_t;
    std::vector<int64_t> blocks(static_cast<size_t>(ctx.num_inputs()));
    int64_t total_blocks = 0;
    for (int k = 0; k < ctx.num_inputs(); ++k) {
      int64_t n = ctx.input(k).num_elements();
      blocks[static_cast<size_t>(k)] = n == 0 ? 0 : std::min<int64_t>(kMaxNormBlocks, (n + kThreads - 1) / kThreads);
      total_blocks += blocks[static_cast<size_t>(k)];
    }
    // Freed when this returns: stream order keeps the block alive for the kernels below.
    Tensor partial = Tensor::empty(DType::kFloat64, {std::max<int64_t>(total_blocks, 1)}, be.allocator());
    double* pp = partial.data<double>();
    int64_t off = 0;
    for (int k = 0; k < ctx.num_inputs(); ++k) {
      int64_t nb = blocks[static_cast<size_t>(k)];
      if (nb == 0) continue;
      const Tensor& t = ctx.input(k);
      sum_squares_partial_kernel<T><<<static_cast<unsigned>(nb), kThreads, 0, be.stream()>>>(
          t.data<T>(), t.num_elements(), pp + off);
      NESTOR_CUDA_CHECK_LAUNCH();
      off += nb;
    }
    sqrt_of_sum_kernel<T><<<1, kThreads, 0, be.stream()>>>(pp, total_blocks, o.data<T>());
    NESTOR_CUDA_CHECK_LAUNCH();
  });
}));

// ---------------------------------------------------------------- clip_l2_norm
// Reduced counts up to this run one thread per output, summing in the CPU's order.
constexpr int64_t kSerialNormMax = 64;

template <typename T>
__global__ void l2_norm_serial_kernel(const T* x, T* y, int64_t n_out, int64_t R, IndexMap kept, IndexMap red) {
  NESTOR_GRID_STRIDE(o, n_out) {
    int64_t base = kept(o);
    double acc = 0;
    for (int64_t r = 0; r < R; ++r) acc = add_square(acc, static_cast<double>(x[base + red(r)]));
    y[o] = static_cast<T>(sqrt(acc));
  }
}

template <typename T>
__global__ void l2_norm_block_kernel(const T* x, T* y, int64_t n_out, int64_t R, IndexMap kept, IndexMap red) {
  using BR = cub::BlockReduce<double, kThreads>;
  __shared__ typename BR::TempStorage tmp;
  for (int64_t o = blockIdx.x; o < n_out; o += gridDim.x) {
    int64_t base = kept(o);
    double acc = 0;
    for (int64_t r = threadIdx.x; r < R; r += blockDim.x) acc = add_square(acc, static_cast<double>(x[base + red(r)]));
    double total = BR(tmp).Sum(acc);
    if (threadIdx.x == 0) y[o] = static_cast<T>(sqrt(total));
    __syncthreads();
  }
}

// clip_l2_norm(t; axes) = sqrt(sum(t ** 2, axes, keepdims=True)); no axes attribute: all.
NESTOR_REGISTER_KERNEL("clip_l2_norm", DeviceType::kCuda, ([](KernelCtx& ctx) {
  const Tensor& t = ctx.input(0);
  check_rank(ctx, t);
  int64_t rank = static_cast<int64_t>(t.dims().size());
  Dims od = t.dims();
  std::vector<char> mask(od.size(), 0);
  if (!ctx.node().attrs.has("axes")) {
    for (size_t i = 0; i < od.size(); ++i) mask[i] = 1;
  } else {
    for (int64_t a : ctx.attr<std::vector<int64_t>>("axes")) {
      if (a < -rank || a >= rank) ctx.fail(Code::kInvalidArgument, "axis ", a, " is out of range for rank ", rank);
      mask[static_cast<size_t>(a < 0 ? a + rank : a)] = 1;
    }
  }
  for (size_t i = 0; i < od.size(); ++i)
    if (mask[i]) od[i] = 1;
  CudaBackend& be = CudaBackend::of(ctx);
  Tensor& o = ctx.allocate_output(0, t.dtype(), od);
  int64_t n_out = o.num_elements();
  if (n_out == 0) return;
  // Output index -> offset of its first element (kept axes); reduced index -> offset.
  IndexMap kept, red;
  int64_t R = 1, stride = 1;
  std::vector<int64_t> strides(od.size());
  for (size_t i = od.size(); i-- > 0;) {
    strides[i] = stride;
    stride *= t.dims()[i];
  }
  for (size_t i = 0; i < od.size(); ++i) {
    IndexMap& m = mask[i] ? red : kept;
    m.dims[m.rank] = t.dims()[i];
    m.strides[m.rank] = strides[i];
    ++m.rank;
    if (mask[i]) R *= t.dims()[i];
  }
  NESTOR_DISPATCH_FLOAT(t.dtype(), "clip_l2_norm", [&] {
    using T = scalar_t;
    if (R <= kSerialNormMax) {
      l2_norm_serial_kernel<T><<<blocks_for(n_out), kThreads, 0, be.stream()>>>(t.data<T>(), o.data<T>(), n_out, R,
                                                                                 kept, red);
    } else {
      unsigned blocks = static_cast<unsigned>(std::min<int64_t>(n_out, 65535 * 8));
      l2_norm_block_kernel<T><<<blocks, kThreads, 0, be.stream()>>>(t.data<T>(), o.data<T>(), n_out, R, kept, red);
    }
    NESTOR_CUDA_CHECK_LAUNCH();
  });
}));

}  // namespace
}  // namespace cuda
}  // namespace nestor
