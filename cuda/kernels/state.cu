// CUDA kernels for cpp/src/ops/state.cc: variable (reads the value where the variable
// lives: placement puts the variable node and its updates on the variable's device),
// assign, assign_add, assign_sub, identity, stop_gradient, placeholder_with_default.
// Updates hold the variable's mutex while they enqueue; stream order does the rest.
#include "kernels/common.cuh"

namespace nestor {
namespace cuda {
namespace {

Tensor& initialized_value(KernelCtx& ctx, Variable& v) {
  if (!v.initialized) ctx.fail(Code::kFailedPrecondition, "Attempting to use uninitialized value ", v.name);
  return v.value;
}

void alias_input(KernelCtx& ctx) { ctx.set_output(0, ctx.input(0)); }

NESTOR_REGISTER_KERNEL("variable", DeviceType::kCuda,
                       [](KernelCtx& ctx) { ctx.set_output(0, initialized_value(ctx, *ctx.refs_[0])); });
NESTOR_REGISTER_KERNEL("identity", DeviceType::kCuda, alias_input);
NESTOR_REGISTER_KERNEL("stop_gradient", DeviceType::kCuda, alias_input);
NESTOR_REGISTER_KERNEL("placeholder_with_default", DeviceType::kCuda, alias_input);

NESTOR_REGISTER_KERNEL("assign", DeviceType::kCuda, ([](KernelCtx& ctx) {
  Variable& v = ctx.ref(0);
  const Tensor& x = ctx.input(1);
  CudaBackend& be = CudaBackend::of(ctx);
  std::lock_guard<std::mutex> l(v.mu);
  if (ctx.attr_or<bool>("validate_shape", true) && !v.shape.is_compatible_with(x.dims()))
    ctx.fail(Code::kInvalidArgument, "cannot assign a value of shape ", dims_str(x.dims()), " to variable ", v.name,
             " of shape ", v.shape.str());
  if (v.initialized && v.value.dims() == x.dims() && v.value.device() == be.device() &&
      v.value.buffer().use_count() == 1) {
    if (x.nbytes())
      NESTOR_CUDA_CHECK(cudaMemcpyAsync(v.value.raw(), x.raw(), x.nbytes(), cudaMemcpyDeviceToDevice, be.stream()));
  } else {
    // Readers of the previous step may still hold the old buffer: give the variable a new one.
    v.value = be.copy_from(x);
  }
  v.initialized = true;
  ctx.set_output(0, v.value);
}));

template <typename T, bool kAdd>
__global__ void assign_update_kernel(T* d, const T* s, int64_t n) {
  NESTOR_GRID_STRIDE(i, n) d[i] = kAdd ? d[i] + s[i] : d[i] - s[i];
}

template <bool kAdd>
void assign_update(KernelCtx& ctx) {
  Variable& v = ctx.ref(0);
  const Tensor& x = ctx.input(1);
  CudaBackend& be = CudaBackend::of(ctx);
  std::lock_guard<std::mutex> l(v.mu);
  Tensor& cur = initialized_value(ctx, v);
  if (cur.dims() != x.dims())
    ctx.fail(Code::kInvalidArgument, "variable ", v.name, " has shape ", dims_str(cur.dims()),
             ", the update has shape ", dims_str(x.dims()));
  int64_t n = x.num_elements();
  if (n > 0) {
    NESTOR_DISPATCH_NUMERIC(x.dtype(), ctx.node().op, [&] {
      assign_update_kernel<scalar_t, kAdd><<<blocks_for(n), kThreads, 0, be.stream()>>>(cur.data<scalar_t>(),
                                                                                      x.data<scalar_t>(), n);
      NESTOR_CUDA_CHECK_LAUNCH();
    });
  }
  ctx.set_output(0, cur);
}
NESTOR_REGISTER_KERNEL("assign_add", DeviceType::kCuda, assign_update<true>);
NESTOR_REGISTER_KERNEL("assign_sub", DeviceType::kCuda, assign_update<false>);

}  // namespace
}  // namespace cuda
}  // namespace nestor
