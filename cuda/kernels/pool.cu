// CUDA kernels for cpp/src/ops/pool.cc: max_pool, avg_pool (one thread per output element)
// and their gradients, gathered with one thread per input element from the windows holding
// it, in the CPU's order (so results match it bit for bit): max_pool_grad adds dy of the
// windows whose first maximum is this element; avg_pool_grad adds dy / (valid window size).
#include <cstdint>

#include "kernels/common.cuh"
#include "ops/conv_util.h"

namespace nestor {
namespace cuda {
namespace {

using ops::ConvGeom;

struct Win {
  int64_t y0, y1, x0, x1;
};
__device__ inline Win window_at(const ConvGeom& g, int64_t oy, int64_t ox) {
  const int64_t ys = oy * g.sh - g.pad_t, xs = ox * g.sw - g.pad_l;
  return Win{ys > 0 ? ys : 0, ys + g.kh < g.h ? ys + g.kh : g.h, xs > 0 ? xs : 0, xs + g.kw < g.w ? xs + g.kw : g.w};
}

// Offset of the first maximum (row-major window order) of channel ci in window w of image b.
template <typename T>
__device__ int64_t argmax_in(const ConvGeom& g, const T* x, int64_t b, const Win& w, int64_t ci) {
  int64_t best = ((b * g.h + w.y0) * g.w + w.x0) * g.c + ci;
  for (int64_t iy = w.y0; iy < w.y1; ++iy)
    for (int64_t ix = w.x0; ix < w.x1; ++ix) {
      const int64_t o = ((b * g.h + iy) * g.w + ix) * g.c + ci;
      if (x[o] > x[best]) best = o;
    }
  return best;
}

template <typename T>
__global__ void pool_kernel(const T* x, T* y, ConvGeom g, bool max, int64_t total) {
  NESTOR_GRID_STRIDE(i, total) {
    const int64_t ci = i % g.c, ox = (i / g.c) % g.ow, oy = (i / (g.c * g.ow)) % g.oh, b = i / (g.c * g.ow * g.oh);
    const Win w = window_at(g, oy, ox);
    if (max) {
      T best = x[((b * g.h + w.y0) * g.w + w.x0) * g.c + ci];
      for (int64_t iy = w.y0; iy < w.y1; ++iy)
        for (int64_t ix = w.x0; ix < w.x1; ++ix) {
          const T v = x[((b * g.h + iy) * g.w + ix) * g.c + ci];
          best = v > best ? v : best;
        }
      y[i] = best;
    } else {
      T acc = T(0);
      for (int64_t iy = w.y0; iy < w.y1; ++iy)
        for (int64_t ix = w.x0; ix < w.x1; ++ix) acc += x[((b * g.h + iy) * g.w + ix) * g.c + ci];
      y[i] = acc / static_cast<T>((w.y1 - w.y0) * (w.x1 - w.x0));
    }
  }
}

// The outputs whose windows hold input row iy: [lo, hi).
__device__ inline void covering(int64_t i, int64_t pad, int64_t k, int64_t s, int64_t n_out, int64_t* lo,
                                int64_t* hi) {
  const int64_t top = i + pad;  // output o covers i when o*s <= top < o*s + k
  const int64_t first = top - k + 1 <= 0 ? 0 : (top - k + 1 + s - 1) / s;
  const int64_t last = top / s + 1;
  *lo = first;
  *hi = last < n_out ? last : n_out;
}

template <typename T>
__global__ void pool_grad_kernel(const T* x, const T* dy, T* dx, ConvGeom g, bool max, int64_t total) {
  NESTOR_GRID_STRIDE(i, total) {
    const int64_t ci = i % g.c, ix = (i / g.c) % g.w, iy = (i / (g.c * g.w)) % g.h, b = i / (g.c * g.w * g.h);
    int64_t oy0, oy1, ox0, ox1;
    covering(iy, g.pad_t, g.kh, g.sh, g.oh, &oy0, &oy1);
    covering(ix, g.pad_l, g.kw, g.sw, g.ow, &ox0, &ox1);
    T acc = T(0);
    for (int64_t oy = oy0; oy < oy1; ++oy)
      for (int64_t ox = ox0; ox < ox1; ++ox) {
        const Win w = window_at(g, oy, ox);
        const T d = dy[((b * g.oh + oy) * g.ow + ox) * g.c + ci];
        if (max) {
          if (argmax_in(g, x, b, w, ci) == i) acc += d;
        } else {
          acc += d / static_cast<T>((w.y1 - w.y0) * (w.x1 - w.x0));
        }
      }
    dx[i] = acc;
  }
}

void pool_forward(KernelCtx& ctx, bool max) {
  const Tensor& x = ctx.input(0);
  ConvGeom g = ops::pool_geom(ctx, x.dims());
  CudaBackend& be = CudaBackend::of(ctx);
  Tensor& y = ctx.allocate_output(0, x.dtype(), g.out_dims());
  const int64_t n = y.num_elements();
  if (n == 0) return;
  NESTOR_DISPATCH_FLOAT(x.dtype(), max ? "max_pool" : "avg_pool", [&] {
    pool_kernel<scalar_t><<<blocks_for(n), kThreads, 0, be.stream()>>>(x.data<scalar_t>(), y.data<scalar_t>(), g,
                                                                        max, n);
    NESTOR_CUDA_CHECK_LAUNCH();
  });
}

void pool_backward(KernelCtx& ctx, bool max) {
  const Tensor& x = ctx.input(0);
  const Tensor& dy = ctx.input(1);
  ConvGeom g = ops::pool_geom(ctx, x.dims());
  ops::check_dy(ctx, g, dy);
  CudaBackend& be = CudaBackend::of(ctx);
  Tensor& dx = ctx.allocate_output(0, x.dtype(), x.dims());
  const int64_t n = dx.num_elements();
  if (n == 0) return;
  NESTOR_DISPATCH_FLOAT(x.dtype(), max ? "max_pool_grad" : "avg_pool_grad", [&] {
    pool_grad_kernel<scalar_t><<<blocks_for(n), kThreads, 0, be.stream()>>>(
        x.data<scalar_t>(), dy.data<scalar_t>(), dx.data<scalar_t>(), g, max, n);
    NESTOR_CUDA_CHECK_LAUNCH();
  });
}

NESTOR_REGISTER_KERNEL("max_pool", DeviceType::kCuda, [](KernelCtx& ctx) { pool_forward(ctx, true); });
NESTOR_REGISTER_KERNEL("avg_pool", DeviceType::kCuda, [](KernelCtx& ctx) { pool_forward(ctx, false); });
NESTOR_REGISTER_KERNEL("max_pool_grad", DeviceType::kCuda, [](KernelCtx& ctx) { pool_backward(ctx, true); });
NESTOR_REGISTER_KERNEL("avg_pool_grad", DeviceType::kCuda, [](KernelCtx& ctx) { pool_backward(ctx, false); });

}  // namespace
}  // namespace cuda
}  // namespace nestor
