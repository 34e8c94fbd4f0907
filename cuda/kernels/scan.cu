// CUDA kernels for cpp/src/ops/scan.cc: cumsum, cumprod (float32, float64, int32, int64)
// and cumprod_grad (float32, float64).
//
// The axis input is read on the host (ops/scan_util.h: the CPU's checks and messages). One
// thread scans one line (fixed outer and inner index) in the CPU's order, so the results
// are the CPU's bits: products in cumprod_grad are rounded before they are added (mul_rn),
// as the CPU rounds them.
#include "kernels/index_util.cuh"
#include "ops/scan_util.h"

namespace nestor {
namespace cuda {
namespace {

template <typename T, typename Op>
__global__ void scan_kernel(const T* x, T* y, int64_t lines, int64_t n, int64_t inner, bool exclusive,
                            bool reverse) {
  NESTOR_GRID_STRIDE(q, lines) {
    const int64_t base = (q / inner) * n * inner + q % inner;
    const Op op{};
    T acc = Op::template identity<T>();
    for (int64_t t = 0; t < n; ++t) {
      const int64_t e = base + (reverse ? n - 1 - t : t) * inner;
      const T v = x[e];
      if (exclusive) {
        y[e] = acc;
        acc = op(acc, v);
      } else {
        acc = t == 0 ? v : op(acc, v);
        y[e] = acc;
      }
    }
  }
}

template <typename Op>
void scan_host(KernelCtx& ctx) {
  const Tensor& x = ctx.input(0);
  const scan::Layout l = scan::layout(ctx, x, ctx.input(1));  // axis: host memory
  CudaBackend& be = CudaBackend::of(ctx);
  Tensor& y = ctx.allocate_output(0, x.dtype(), x.dims());
  if (y.num_elements() == 0) return;
  const bool exclusive = ctx.attr_or<bool>("exclusive", false), reverse = ctx.attr_or<bool>("reverse", false);
  const int64_t lines = l.outer * l.inner;
  NESTOR_DISPATCH_NUMERIC(x.dtype(), ctx.node().op, [&] {
    scan_kernel<scalar_t, Op><<<blocks_for(lines), kThreads, 0, be.stream()>>>(
        x.data<scalar_t>(), y.data<scalar_t>(), lines, l.n, l.inner, exclusive, reverse);
    NESTOR_CUDA_CHECK_LAUNCH();
  });
}

const KernelPlacementRegistrar cumsum_place("cumsum", DeviceType::kCuda, KernelPlacement{{1}, {}, nullptr});
const KernelPlacementRegistrar cumprod_place("cumprod", DeviceType::kCuda, KernelPlacement{{1}, {}, nullptr});
NESTOR_REGISTER_KERNEL("cumsum", DeviceType::kCuda, scan_host<scan::Sum>);
NESTOR_REGISTER_KERNEL("cumprod", DeviceType::kCuda, scan_host<scan::Prod>);

// In scan order s: R[n-1] = dy[n-1] (inclusive) or 0 (exclusive), R[s] = dy[s or s+1] +
// x[s+1] * R[s+1]; then dx[s] = R[s] * E[s], E the exclusive product (see scan.cc).
template <typename T>
__global__ void cumprod_grad_kernel(const T* x, const T* g, T* o, int64_t lines, int64_t n, int64_t inner,
                                    bool exclusive, bool reverse) {
  NESTOR_GRID_STRIDE(q, lines) {
    const int64_t base = (q / inner) * n * inner + q % inner;
    auto at = [&](int64_t t) { return base + (reverse ? n - 1 - t : t) * inner; };
    T r = exclusive ? T(0) : g[at(n - 1)];
    o[at(n - 1)] = r;
    for (int64_t t = n - 1; t-- > 0;) {
      const int64_t cur = at(t), next = at(t + 1);
      r = g[exclusive ? next : cur] + mul_rn(x[next], r);
      o[cur] = r;
    }
    T e = T(1);
    for (int64_t t = 0; t < n; ++t) {
      const int64_t cur = at(t);
      o[cur] = mul_rn(o[cur], e);
      e = mul_rn(e, x[cur]);
    }
  }
}

const KernelPlacementRegistrar cumprod_grad_place("cumprod_grad", DeviceType::kCuda, KernelPlacement{{2}, {}, nullptr});
NESTOR_REGISTER_KERNEL("cumprod_grad", DeviceType::kCuda, ([](KernelCtx& ctx) {
  const Tensor& x = ctx.input(0);
  const Tensor& dy = ctx.input(1);
  const scan::Layout l = scan::grad_layout(ctx, x, dy, ctx.input(2));
  CudaBackend& be = CudaBackend::of(ctx);
  Tensor& o = ctx.allocate_output(0, x.dtype(), x.dims());
  if (o.num_elements() == 0) return;
  const bool exclusive = ctx.attr_or<bool>("exclusive", false), reverse = ctx.attr_or<bool>("reverse", false);
  const int64_t lines = l.outer * l.inner;
  NESTOR_DISPATCH_FLOAT(x.dtype(), "cumprod_grad", [&] {
    using T = scalar_t;
    cumprod_grad_kernel<T><<<blocks_for(lines), kThreads, 0, be.stream()>>>(x.data<T>(), dy.data<T>(), o.data<T>(),
                                                                           lines, l.n, l.inner, exclusive, reverse);
    NESTOR_CUDA_CHECK_LAUNCH();
  });
}));

}  // namespace
}  // namespace cuda
}  // namespace nestor
