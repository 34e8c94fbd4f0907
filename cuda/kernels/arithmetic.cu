// CUDA kernels for cpp/src/ops/arithmetic.cc: add, subtract, multiply, divide (numpy
// broadcasting; floating division only: integer division needs the CPU's zero check),
// add_n and sum_to.
#include "kernels/common.cuh"
#include "kernels/reduce_util.cuh"

namespace nestor {
namespace cuda {
namespace {

template <typename T> struct Add { __device__ T operator()(T a, T b) const { return a + b; } };
template <typename T> struct Sub { __device__ T operator()(T a, T b) const { return a - b; } };
template <typename T> struct Mul { __device__ T operator()(T a, T b) const { return a * b; } };
template <typename T> struct Div { __device__ T operator()(T a, T b) const { return a / b; } };

NESTOR_REGISTER_KERNEL("add", DeviceType::kCuda, NESTOR_CUDA_BINARY(NESTOR_DISPATCH_NUMERIC, "add", Add));
NESTOR_REGISTER_KERNEL("subtract", DeviceType::kCuda, NESTOR_CUDA_BINARY(NESTOR_DISPATCH_NUMERIC, "subtract", Sub));
NESTOR_REGISTER_KERNEL("multiply", DeviceType::kCuda, NESTOR_CUDA_BINARY(NESTOR_DISPATCH_NUMERIC, "multiply", Mul));
// Integer division fails on a zero divisor (checked on the host by the CPU kernel): integer
// divides stay on the CPU.
const KernelPlacementRegistrar divide_place("divide", DeviceType::kCuda,
                                            KernelPlacement{{}, {}, [](const Node& n) { return is_floating(n.out_dtypes[0]); }});
NESTOR_REGISTER_KERNEL("divide", DeviceType::kCuda, NESTOR_CUDA_BINARY(NESTOR_DISPATCH_FLOAT, "divide", Div));

template <typename T>
__global__ void add_n_kernel(const T* const* xs, int k, T* y, int64_t n) {
  NESTOR_GRID_STRIDE(i, n) {
    T acc = xs[0][i];
    for (int j = 1; j < k; ++j) acc += xs[j][i];
    y[i] = acc;
  }
}

NESTOR_REGISTER_KERNEL("add_n", DeviceType::kCuda, ([](KernelCtx& ctx) {
  const Tensor& a = ctx.input(0);
  for (int i = 1; i < ctx.num_inputs(); ++i)
    if (ctx.input(i).dims() != a.dims())
      ctx.fail(Code::kInvalidArgument, "inputs must have the same shape, got ", dims_str(a.dims()), " and ",
               dims_str(ctx.input(i).dims()));
  CudaBackend& be = CudaBackend::of(ctx);
  Tensor& o = ctx.allocate_output(0, a.dtype(), a.dims());
  int64_t n = a.num_elements();
  if (n == 0) return;
  NESTOR_DISPATCH_NUMERIC(a.dtype(), "add_n", [&] {
    using T = scalar_t;
    // The input pointers travel in a small device array (stream-ordered like the rest).
    int k = ctx.num_inputs();
    Tensor ptrs_host = Tensor::empty(DType::kInt64, {k});
    for (int i = 0; i < k; ++i)
      ptrs_host.data<int64_t>()[i] = reinterpret_cast<int64_t>(ctx.input(i).data<T>());
    Tensor ptrs = be.copy_from(ptrs_host);
    add_n_kernel<T><<<blocks_for(n), kThreads, 0, be.stream()>>>(reinterpret_cast<const T* const*>(ptrs.raw()), k,
                                                                 o.data<T>(), n);
    NESTOR_CUDA_CHECK_LAUNCH();
  });
}));

// sum_to(x, shape): the shape is read on the host; the sum runs on the device.
const KernelPlacementRegistrar sum_to_place("sum_to", DeviceType::kCuda, KernelPlacement{{1}, {}, nullptr});
NESTOR_REGISTER_KERNEL("sum_to", DeviceType::kCuda, ([](KernelCtx& ctx) {
  const Tensor& x = ctx.input(0);
  Dims target = ctx.input(1).to_int_vector();
  if (target == x.dims()) {
    ctx.set_output(0, x);
    return;
  }
  Dims full = sum_to_dims(ctx, x.dims(), target);
  std::vector<char> mask(full.size(), 0);
  for (size_t i = 0; i < full.size(); ++i) mask[i] = full[i] == 1 && x.dims()[i] != 1;
  Tensor& o = ctx.allocate_output(0, x.dtype(), target);
  NESTOR_DISPATCH_NUMERIC(x.dtype(), "sum_to", [&] { reduce_axes<scalar_t, SumOp>(ctx, x, mask, o, false); });
}));

}  // namespace
}  // namespace cuda
}  // namespace nestor
