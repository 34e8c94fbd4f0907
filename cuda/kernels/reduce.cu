// CUDA kernels for cpp/src/ops/reduce.cc: sum, mean, max, min, prod, any, all, logsumexp
// over axes (keepdims), l2_loss, bias_add_grad, argmax/argmin, range_of_rank (host output,
// like shape), and the gradient helpers broadcast_reduced (every sum/mean gradient),
// reduce_extremum_grad, reduce_prod_grad and reduce_logsumexp_grad.
//
// Axes and shapes are host inputs read with the CPU's checks and messages. Reductions run
// one block per output (reduce_util.cuh): float sums add in a different order than the
// CPU's (within 1e-4 relative for float32); integer sums and products are exact.
#include "kernels/reduce_util.cuh"
#include "ops/reduce_util.h"

namespace nestor {
namespace cuda {
namespace {

using ops::reduced_dims;

// The axes input is read on the host (as the CPU kernel reads it), with the CPU's checks.
std::vector<char> axes_mask(const KernelCtx& ctx, const Tensor& axes_t, int64_t rank) {
  return ops::axes_mask(ctx, axes_t.to_int_vector(), rank);
}

// The axes mask and output dims of a reduction kernel (x, axes; keepdims). Returns true,
// output 0 set, when nothing of size > 1 is reduced: the result is a view of x, as on the CPU.
bool reduce_view(KernelCtx& ctx, std::vector<char>& mask, Dims& out) {
  const Tensor& x = ctx.input(0);
  mask = axes_mask(ctx, ctx.input(1), x.rank());
  out = reduced_dims(x.dims(), mask, ctx.attr_or<bool>("keepdims", false));
  bool any = false;
  for (size_t i = 0; i < mask.size(); ++i) any = any || (mask[i] && x.dims()[i] != 1);
  if (any || x.num_elements() == 0) return false;
  ctx.set_output(0, x.reshaped(out));
  return true;
}

template <typename Op, bool kMean>
void reduce_kernel(KernelCtx& ctx) {
  const Tensor& x = ctx.input(0);
  std::vector<char> mask;
  Dims out;
  if (reduce_view(ctx, mask, out)) return;
  Tensor& o = ctx.allocate_output(0, x.dtype(), out);
  NESTOR_DISPATCH_NUMERIC(x.dtype(), ctx.node().op, [&] { reduce_axes<scalar_t, Op>(ctx, x, mask, o, kMean); });
}

const KernelPlacement kAxesOnHost{{1}, {}, nullptr};
const KernelPlacementRegistrar p_sum("sum", DeviceType::kCuda, kAxesOnHost);
const KernelPlacementRegistrar p_mean("mean", DeviceType::kCuda, kAxesOnHost);
const KernelPlacementRegistrar p_max("max", DeviceType::kCuda, kAxesOnHost);
const KernelPlacementRegistrar p_min("min", DeviceType::kCuda, kAxesOnHost);
NESTOR_REGISTER_KERNEL("sum", DeviceType::kCuda, (reduce_kernel<SumOp, false>));
NESTOR_REGISTER_KERNEL("mean", DeviceType::kCuda, (reduce_kernel<SumOp, true>));
NESTOR_REGISTER_KERNEL("max", DeviceType::kCuda, (reduce_kernel<MaxOp, false>));
NESTOR_REGISTER_KERNEL("min", DeviceType::kCuda, (reduce_kernel<MinOp, false>));

// ---------------------------------------------------------------- prod, any, all, logsumexp, l2_loss
template <typename T> struct Ident {
  __device__ T operator()(T x, int64_t) const { return x; }
};
template <typename T> struct MulOp {
  __device__ T operator()(T a, T b) const { return a * b; }
};
struct OrOp {
  __device__ int operator()(int a, int b) const { return a | b; }
};
struct AndOp {
  __device__ int operator()(int a, int b) const { return a & b; }
};
struct BoolToInt {
  __device__ int operator()(bool x, int64_t) const { return x ? 1 : 0; }
};
struct IntToBool {
  __device__ bool operator()(int a, int64_t) const { return a != 0; }
};

// logsumexp's second pass: shift[o] = max (0 where it is not finite, as on the CPU), the
// sum of exp(x - shift) and then shift + log(sum), written over the max in place.
template <typename T> struct LseShift {
  const T* y;
  __device__ T shift(int64_t o) const {
    T m = y[o];
    return isfinite(m) ? m : T(0);
  }
};
template <typename T> struct LseExp : LseShift<T> {
  __device__ T operator()(T x, int64_t o) const { return exp(x - this->shift(o)); }
};
template <typename T> struct LseFinish : LseShift<T> {
  __device__ T operator()(T a, int64_t o) const { return this->shift(o) + log(a); }
};
template <typename T> struct Square {
  __device__ T operator()(T x, int64_t) const { return x * x; }
};
template <typename T> struct Half {
  __device__ T operator()(T a, int64_t) const { return a / T(2); }
};

enum class Kind { kProd, kAny, kAll, kLse };

template <Kind K>
void reduce_kernel2(KernelCtx& ctx) {
  const Tensor& x = ctx.input(0);
  std::vector<char> mask;
  Dims out;
  if (reduce_view(ctx, mask, out)) return;
  Tensor& o = ctx.allocate_output(0, x.dtype(), out);
  const int64_t n = o.num_elements();
  if constexpr (K == Kind::kAny || K == Kind::kAll) {
    if (x.dtype() != DType::kBool)
      ctx.fail(Code::kInvalidArgument, ctx.node().op, ": input must be bool, got ", dtype_name(x.dtype()));
    using Op = std::conditional_t<K == Kind::kAny, OrOp, AndOp>;
    reduce_map<bool, int, bool>(ctx, x, mask, o.data<bool>(), n, K == Kind::kAny ? 0 : 1, Op{}, BoolToInt{},
                                IntToBool{});
  } else if constexpr (K == Kind::kLse) {
    NESTOR_DISPATCH_FLOAT(x.dtype(), ctx.node().op, [&] {
      using T = scalar_t;
      reduce_axes<T, MaxOp>(ctx, x, mask, o, false);
      T* y = o.data<T>();
      reduce_map<T, T, T>(ctx, x, mask, y, n, T(0), SumOp{}, LseExp<T>{{y}}, LseFinish<T>{{y}});
    });
  } else {
    NESTOR_DISPATCH_NUMERIC(x.dtype(), ctx.node().op, [&] {
      using T = scalar_t;
      reduce_map<T, T, T>(ctx, x, mask, o.data<T>(), n, T(1), MulOp<T>{}, Ident<T>{}, Ident<T>{});
    });
  }
}

const KernelPlacementRegistrar p_prod("prod", DeviceType::kCuda, kAxesOnHost);
const KernelPlacementRegistrar p_any("any", DeviceType::kCuda, kAxesOnHost);
const KernelPlacementRegistrar p_all("all", DeviceType::kCuda, kAxesOnHost);
const KernelPlacementRegistrar p_lse("logsumexp", DeviceType::kCuda, kAxesOnHost);
NESTOR_REGISTER_KERNEL("prod", DeviceType::kCuda, reduce_kernel2<Kind::kProd>);
NESTOR_REGISTER_KERNEL("any", DeviceType::kCuda, reduce_kernel2<Kind::kAny>);
NESTOR_REGISTER_KERNEL("all", DeviceType::kCuda, reduce_kernel2<Kind::kAll>);
NESTOR_REGISTER_KERNEL("logsumexp", DeviceType::kCuda, reduce_kernel2<Kind::kLse>);

// l2_loss(x) = sum(x ** 2) / 2, a scalar (0 for an empty x).
NESTOR_REGISTER_KERNEL("l2_loss", DeviceType::kCuda, ([](KernelCtx& ctx) {
  const Tensor& x = ctx.input(0);
  Tensor& o = ctx.allocate_output(0, x.dtype(), {});
  Tensor flat = x.reshaped({x.num_elements()});
  NESTOR_DISPATCH_FLOAT(x.dtype(), "l2_loss", [&] {
    using T = scalar_t;
    reduce_map<T, T, T>(ctx, flat, {1}, o.data<T>(), 1, T(0), SumOp{}, Square<T>{}, Half<T>{});
  });
}));

// range_of_rank(x) = [0, ..., rank(x) - 1] (int32), computed on the host from x's dims
// (x stays where it is; the output is host memory, as shape's).
const KernelPlacementRegistrar p_range_of_rank("range_of_rank", DeviceType::kCuda, KernelPlacement{{}, {0}, nullptr});
NESTOR_REGISTER_KERNEL("range_of_rank", DeviceType::kCuda, ([](KernelCtx& ctx) {
  int r = ctx.input(0).rank();
  Tensor o = Tensor::empty(DType::kInt32, {r}, cpu_allocator());
  for (int i = 0; i < r; ++i) o.data<int32_t>()[i] = i;
  ctx.set_output(0, o);
}));

// ---------------------------------------------------------------- gradient helpers
// y[i] = f(i, j) for every element i of `dims`, j being its index in the keepdims-reduced
// `kd` (the CPU's for_each_with_reduced).
template <typename T, typename F>
__global__ void with_reduced_kernel(T* y, int64_t n, BroadcastMap m, F f) {
  NESTOR_GRID_STRIDE(i, n) y[i] = f(i, m(i));
}

template <typename T, typename F>
void launch_with_reduced(KernelCtx& ctx, T* y, const Dims& dims, const Dims& kd, F f) {
  const int64_t n = num_elements(dims);
  if (n == 0) return;
  check_broadcast_rank(ctx, dims);
  with_reduced_kernel<T><<<blocks_for(n), kThreads, 0, CudaBackend::of(ctx).stream()>>>(y, n, BroadcastMap(dims, kd), f);
  NESTOR_CUDA_CHECK_LAUNCH();
}

template <typename T> struct ScaledCopy {
  const T* g;
  T scale;
  __device__ T operator()(int64_t, int64_t j) const { return g[j] * scale; }
};

// broadcast_reduced(g, shape, axes; mean): shape and axes on the host, checked as on the CPU.
const KernelPlacementRegistrar p_broadcast_reduced("broadcast_reduced", DeviceType::kCuda,
                                                   KernelPlacement{{1, 2}, {}, nullptr});
NESTOR_REGISTER_KERNEL("broadcast_reduced", DeviceType::kCuda, ([](KernelCtx& ctx) {
  const Tensor& gr = ctx.input(0);
  Dims dims = ctx.input(1).to_int_vector();
  Dims kd = ops::broadcast_reduced_kd(ctx, gr, dims);
  Tensor& o = ctx.allocate_output(0, gr.dtype(), dims);
  NESTOR_DISPATCH_NUMERIC(gr.dtype(), "broadcast_reduced", [&] {
    using T = scalar_t;
    const T scale = ops::broadcast_reduced_scale<T>(ctx, gr, dims, kd);
    launch_with_reduced(ctx, o.data<T>(), dims, kd, ScaledCopy<T>{gr.data<T>(), scale});
  });
}));

// reduce_extremum_grad(x, y, dy, axes): dy split equally among the elements equal to y.
template <typename T> struct CountEq {
  const T* y;
  __device__ T operator()(T x, int64_t o) const { return x == y[o] ? T(1) : T(0); }
};
template <typename T> struct ExtremumGrad {
  const T *x, *y, *dy, *cnt;
  __device__ T operator()(int64_t i, int64_t j) const { return x[i] == y[j] ? dy[j] / cnt[j] : T(0); }
};

const KernelPlacementRegistrar p_extremum_grad("reduce_extremum_grad", DeviceType::kCuda,
                                               KernelPlacement{{3}, {}, nullptr});
NESTOR_REGISTER_KERNEL("reduce_extremum_grad", DeviceType::kCuda, ([](KernelCtx& ctx) {
  const Tensor& x = ctx.input(0);
  std::vector<char> mask = axes_mask(ctx, ctx.input(3), x.rank());
  Dims kd = reduced_dims(x.dims(), mask, true);
  Tensor& o = ctx.allocate_output(0, x.dtype(), x.dims());
  NESTOR_DISPATCH_FLOAT(x.dtype(), "reduce_extremum_grad", [&] {
    using T = scalar_t;
    const T* py = ctx.input(1).data<T>();
    Tensor cnt = Tensor::empty(x.dtype(), kd, ctx.allocator());
    reduce_map<T, T, T>(ctx, x, mask, cnt.data<T>(), cnt.num_elements(), T(0), SumOp{}, CountEq<T>{py}, Ident<T>{});
    launch_with_reduced(ctx, o.data<T>(), x.dims(), kd,
                        ExtremumGrad<T>{x.data<T>(), py, ctx.input(2).data<T>(), cnt.data<T>()});
  });
}));

// reduce_prod_grad(x, dy, axes): dy times the product of the other reduced elements (exact
// when some are zero: zeros are counted apart from the product of the nonzero elements).
template <typename T> struct ZeroProd {
  T zeros, prod;
};
template <typename T> struct ZeroProdOp {
  __device__ ZeroProd<T> operator()(ZeroProd<T> a, ZeroProd<T> b) const { return {a.zeros + b.zeros, a.prod * b.prod}; }
};
template <typename T> struct ZeroProdOf {
  __device__ ZeroProd<T> operator()(T x, int64_t) const { return x == T(0) ? ZeroProd<T>{T(1), T(1)} : ZeroProd<T>{T(0), x}; }
};
template <typename T> struct ZeroProdId {
  __device__ ZeroProd<T> operator()(ZeroProd<T> a, int64_t) const { return a; }
};
template <typename T> struct ProdGrad {
  const T *x, *dy;
  const ZeroProd<T>* zp;
  __device__ T operator()(int64_t i, int64_t j) const {
    const ZeroProd<T> a = zp[j];
    const T v = x[i];
    if (v != T(0)) return a.zeros == T(0) ? dy[j] * (a.prod / v) : T(0);
    return a.zeros == T(1) ? dy[j] * a.prod : T(0);
  }
};

const KernelPlacementRegistrar p_prod_grad("reduce_prod_grad", DeviceType::kCuda, KernelPlacement{{2}, {}, nullptr});
NESTOR_REGISTER_KERNEL("reduce_prod_grad", DeviceType::kCuda, ([](KernelCtx& ctx) {
  const Tensor& x = ctx.input(0);
  std::vector<char> mask = axes_mask(ctx, ctx.input(2), x.rank());
  Dims kd = reduced_dims(x.dims(), mask, true);
  Tensor& o = ctx.allocate_output(0, x.dtype(), x.dims());
  NESTOR_DISPATCH_FLOAT(x.dtype(), "reduce_prod_grad", [&] {
    using T = scalar_t;
    const int64_t n_kd = num_elements(kd);
    static_assert(sizeof(ZeroProd<T>) == 2 * sizeof(T), "ZeroProd<T> is two T");
    Tensor zp = Tensor::empty(x.dtype(), {2 * n_kd}, ctx.allocator());  // n_kd (zeros, prod) pairs
    ZeroProd<T>* pz = static_cast<ZeroProd<T>*>(zp.raw());
    reduce_map<T, ZeroProd<T>, ZeroProd<T>>(ctx, x, mask, pz, n_kd, ZeroProd<T>{T(0), T(1)}, ZeroProdOp<T>{},
                                            ZeroProdOf<T>{}, ZeroProdId<T>{});
    launch_with_reduced(ctx, o.data<T>(), x.dims(), kd, ProdGrad<T>{x.data<T>(), ctx.input(1).data<T>(), pz});
  });
}));

// reduce_logsumexp_grad(x, y, dy, axes) = dy * exp(x - y).
template <typename T> struct LseGrad {
  const T *x, *y, *dy;
  __device__ T operator()(int64_t i, int64_t j) const { return dy[j] * exp(x[i] - y[j]); }
};

const KernelPlacementRegistrar p_lse_grad("reduce_logsumexp_grad", DeviceType::kCuda, KernelPlacement{{3}, {}, nullptr});
NESTOR_REGISTER_KERNEL("reduce_logsumexp_grad", DeviceType::kCuda, ([](KernelCtx& ctx) {
  const Tensor& x = ctx.input(0);
  Dims kd = reduced_dims(x.dims(), axes_mask(ctx, ctx.input(3), x.rank()), true);
  Tensor& o = ctx.allocate_output(0, x.dtype(), x.dims());
  NESTOR_DISPATCH_FLOAT(x.dtype(), "reduce_logsumexp_grad", [&] {
    using T = scalar_t;
    launch_with_reduced(ctx, o.data<T>(), x.dims(), kd,
                        LseGrad<T>{x.data<T>(), ctx.input(1).data<T>(), ctx.input(2).data<T>()});
  });
}));

// bias_add_grad(dy) = sum of dy over every axis but the last.
NESTOR_REGISTER_KERNEL("bias_add_grad", DeviceType::kCuda, ([](KernelCtx& ctx) {
  const Tensor& x = ctx.input(0);
  if (x.rank() < 2) ctx.fail(Code::kInvalidArgument, "input must be at least 2-D, got shape ", dims_str(x.dims()));
  std::vector<char> mask(x.dims().size(), 1);
  mask.back() = 0;
  Tensor& o = ctx.allocate_output(0, x.dtype(), {x.dims().back()});
  NESTOR_DISPATCH_NUMERIC(x.dtype(), "bias_add_grad", [&] { reduce_axes<scalar_t, SumOp>(ctx, x, mask, o, false); });
}));

// argmax/argmin along `axis` (input 1, on the host): the first index of the extremum.
template <typename T, typename I, bool kMax>
__global__ void arg_kernel(const T* x, I* y, int64_t n_out, int64_t R, int64_t B) {
  NESTOR_GRID_STRIDE(q, n_out) {
    const T* p = x + (q / B) * R * B + q % B;
    int64_t best = 0;
    T bv = p[0];
    for (int64_t r = 1; r < R; ++r) {
      T v = p[r * B];
      if (kMax ? v > bv : v < bv) {
        bv = v;
        best = r;
      }
    }
    y[q] = static_cast<I>(best);
  }
}

template <bool kMax>
void arg_kernel_host(KernelCtx& ctx) {
  const Tensor& x = ctx.input(0);
  const Tensor& at = ctx.input(1);
  int64_t rank = x.rank(), axis = ops::arg_axis(ctx, x, at);
  int64_t R = x.dim(static_cast<int>(axis));
  int64_t B = 1;
  for (int64_t i = axis + 1; i < rank; ++i) B *= x.dim(static_cast<int>(i));
  Dims od = x.dims();
  od.erase(od.begin() + axis);
  DType out_t = ctx.node().out_dtypes[0];
  Tensor& o = ctx.allocate_output(0, out_t, od);
  int64_t n = o.num_elements();
  if (n == 0) return;
  CudaBackend& be = CudaBackend::of(ctx);
  NESTOR_DISPATCH_NUMERIC(x.dtype(), ctx.node().op, [&] {
    using T = scalar_t;
    NESTOR_DISPATCH_INDEX(out_t, ctx.node().op, [&] {
      arg_kernel<T, scalar_t, kMax><<<blocks_for(n), kThreads, 0, be.stream()>>>(x.data<T>(), o.data<scalar_t>(), n, R, B);
      NESTOR_CUDA_CHECK_LAUNCH();
    });
  });
}

const KernelPlacementRegistrar p_argmax("argmax", DeviceType::kCuda, kAxesOnHost);
const KernelPlacementRegistrar p_argmin("argmin", DeviceType::kCuda, kAxesOnHost);
NESTOR_REGISTER_KERNEL("argmax", DeviceType::kCuda, arg_kernel_host<true>);
NESTOR_REGISTER_KERNEL("argmin", DeviceType::kCuda, arg_kernel_host<false>);

}  // namespace
}  // namespace cuda
}  // namespace nestor
