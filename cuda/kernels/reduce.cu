// CUDA kernels for cpp/src/ops/reduce.cc: sum, mean, max, min over axes (keepdims),
// bias_add_grad, argmax/argmin.
#include "kernels/reduce_util.cuh"

namespace nestor {
namespace cuda {
namespace {

// The axes input is read on the host (as the CPU kernel reads it).
std::vector<char> axes_mask(const KernelCtx& ctx, const Tensor& axes_t, int64_t rank) {
  std::vector<char> m(static_cast<size_t>(rank), 0);
  for (int64_t a : axes_t.to_int_vector()) {
    if (a < -rank || a >= rank) ctx.fail(Code::kInvalidArgument, "axis ", a, " is out of range for rank ", rank);
    m[static_cast<size_t>(a < 0 ? a + rank : a)] = 1;
  }
  return m;
}

Dims reduced_dims(const Dims& in, const std::vector<char>& mask, bool keepdims) {
  Dims out;
  for (size_t i = 0; i < in.size(); ++i) {
    if (!mask[i]) out.push_back(in[i]);
    else if (keepdims) out.push_back(1);
  }
  return out;
}

template <typename Op, bool kMean>
void reduce_kernel(KernelCtx& ctx) {
  const Tensor& x = ctx.input(0);
  std::vector<char> mask = axes_mask(ctx, ctx.input(1), x.rank());
  Dims out = reduced_dims(x.dims(), mask, ctx.attr_or<bool>("keepdims", false));
  bool any = false;
  for (size_t i = 0; i < mask.size(); ++i) any = any || (mask[i] && x.dims()[i] != 1);
  if (!any && x.num_elements() > 0) {  // nothing reduced: a view, as on the CPU
    ctx.set_output(0, x.reshaped(out));
    return;
  }
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
  if (at.num_elements() != 1) ctx.fail(Code::kInvalidArgument, "axis must be a scalar, got shape ", dims_str(at.dims()));
  int64_t rank = x.rank(), axis = at.scalar_as_int();
  if (axis < -rank || axis >= rank) ctx.fail(Code::kInvalidArgument, "axis ", axis, " is out of range for rank ", rank);
  if (axis < 0) axis += rank;
  int64_t R = x.dim(static_cast<int>(axis));
  int64_t others = 1;
  for (int64_t i = 0; i < rank; ++i)
    if (i != axis) others *= x.dim(static_cast<int>(i));
  if (R == 0 && others > 0)
    ctx.fail(Code::kInvalidArgument, "Reduction axis ", axis, " is empty in shape ", dims_str(x.dims()));
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
