// CUDA kernels for cpp/src/ops/shape_ops.cc: shape (computed on the host: its output is
// host memory), reshape (a view; the new shape is read on the host), zeros_like,
// ones_like, cast.
//
// Integer reshapes and casts to integers stay on the CPU: those are index plumbing (the ids
// of a gather's gradient, segment ids), read on the host by the sparse kernels that use them,
// and on the device they would cost a copy up and a blocking copy back every step.
#include "kernels/common.cuh"
#include "ops/shape_util.h"

namespace nestor {
namespace cuda {
namespace {

const KernelPlacementRegistrar shape_place("shape", DeviceType::kCuda, KernelPlacement{{}, {0}, nullptr});
NESTOR_REGISTER_KERNEL("shape", DeviceType::kCuda, ([](KernelCtx& ctx) {
  const Dims& d = ctx.input(0).dims();
  DType out = ctx.node().out_dtypes[0];
  Tensor o = Tensor::empty(out, {static_cast<int64_t>(d.size())}, cpu_allocator());
  for (size_t i = 0; i < d.size(); ++i) {
    if (out == DType::kInt32) o.data<int32_t>()[i] = static_cast<int32_t>(d[i]);
    else o.data<int64_t>()[i] = d[i];
  }
  ctx.set_output(0, o);
}));

bool floating_output(const Node& n) { return is_floating(n.out_dtypes[0]); }

const KernelPlacementRegistrar reshape_place("reshape", DeviceType::kCuda, KernelPlacement{{1}, {}, floating_output});
NESTOR_REGISTER_KERNEL("reshape", DeviceType::kCuda, ([](KernelCtx& ctx) {
  const Tensor& x = ctx.input(0);
  ctx.set_output(0, x.reshaped(resolve_reshape(ctx, x.dims(), ctx.input(1).to_int_vector(), x.num_elements())));
}));

template <typename T>
__global__ void fill_kernel(T* p, int64_t n, T v) {
  NESTOR_GRID_STRIDE(i, n) p[i] = v;
}

template <typename T>
void fill_device(KernelCtx& ctx, Tensor& o, T v) {
  int64_t n = o.num_elements();
  if (n == 0) return;
  fill_kernel<T><<<blocks_for(n), kThreads, 0, CudaBackend::of(ctx).stream()>>>(o.data<T>(), n, v);
  NESTOR_CUDA_CHECK_LAUNCH();
}

template <int kValue>
void fill_like(KernelCtx& ctx) {
  const Tensor& x = ctx.input(0);
  Tensor& o = ctx.allocate_output(0, x.dtype(), x.dims());
  NESTOR_DISPATCH_POD(x.dtype(), ctx.node().op, [&] { fill_device<scalar_t>(ctx, o, static_cast<scalar_t>(kValue)); });
}
NESTOR_REGISTER_KERNEL("zeros_like", DeviceType::kCuda, fill_like<0>);
NESTOR_REGISTER_KERNEL("ones_like", DeviceType::kCuda, fill_like<1>);

template <typename S, typename D>
__global__ void cast_kernel(const S* x, D* y, int64_t n) {
  NESTOR_GRID_STRIDE(i, n) {
    if constexpr (std::is_same<D, bool>::value) y[i] = x[i] != S(0);
    else y[i] = static_cast<D>(x[i]);
  }
}

const KernelPlacementRegistrar cast_place("cast", DeviceType::kCuda, KernelPlacement{{}, {}, floating_output});
NESTOR_REGISTER_KERNEL("cast", DeviceType::kCuda, ([](KernelCtx& ctx) {
  const Tensor& x = ctx.input(0);
  DType dst = ctx.attr<DType>("DstT");
  if (dst == x.dtype()) {
    ctx.set_output(0, x);
    return;
  }
  CudaBackend& be = CudaBackend::of(ctx);
  Tensor& o = ctx.allocate_output(0, dst, x.dims());
  int64_t n = x.num_elements();
  if (n == 0) return;
  NESTOR_DISPATCH_POD(x.dtype(), "cast", [&] {
    using S = scalar_t;
    NESTOR_DISPATCH_POD(dst, "cast", [&] {
      cast_kernel<S, scalar_t><<<blocks_for(n), kThreads, 0, be.stream()>>>(x.data<S>(), o.data<scalar_t>(), n);
      NESTOR_CUDA_CHECK_LAUNCH();
    });
  });
}));

}  // namespace
}  // namespace cuda
}  // namespace nestor
