// CUDA kernels for cpp/src/ops/conv.cc: conv2d, conv2d_backprop_input, conv2d_backprop_filter
// as on the CPU: im2col (one thread per patch element) and cuBLAS GEMMs against the filter
// read as a [kh*kw*c, oc] matrix; col2im gathers, one thread per input element, in the CPU's
// summation order. Patch buffers are built for a few images at a time (kColBudget elements).
#include <climits>
#include <cstdint>
#include <mutex>

#include "kernels/common.cuh"
#include "ops/conv_util.h"

namespace nestor {
namespace cuda {
namespace {

using ops::ConvGeom;

constexpr int64_t kColBudget = int64_t{1} << 24;

// Row-major C[m, n] = op(A) op(B) + beta C, as the column-major C^T = op(B)^T op(A)^T.
cublasStatus_t gemm(cublasHandle_t h, bool ta, bool tb, int m, int n, int k, const float* a, const float* b,
                    float beta, float* c) {
  const float one = 1.0f;
  return cublasSgemm(h, tb ? CUBLAS_OP_T : CUBLAS_OP_N, ta ? CUBLAS_OP_T : CUBLAS_OP_N, n, m, k, &one, b, tb ? k : n,
                     a, ta ? m : k, &beta, c, n);
}
cublasStatus_t gemm(cublasHandle_t h, bool ta, bool tb, int m, int n, int k, const double* a, const double* b,
                    double beta, double* c) {
  const double one = 1.0;
  return cublasDgemm(h, tb ? CUBLAS_OP_T : CUBLAS_OP_N, ta ? CUBLAS_OP_T : CUBLAS_OP_N, n, m, k, &one, b, tb ? k : n,
                     a, ta ? m : k, &beta, c, n);
}

template <typename T>
__global__ void fill_zero(T* p, int64_t n) {
  NESTOR_GRID_STRIDE(i, n) p[i] = T(0);
}

template <typename T>
__global__ void im2col_kernel(const T* x, T* col, ConvGeom g, int64_t b0, int64_t total) {
  const int64_t patch = g.kh * g.kw * g.c;
  NESTOR_GRID_STRIDE(i, total) {
    const int64_t r = i / patch, p = i % patch;
    const int64_t ci = p % g.c, kx = (p / g.c) % g.kw, ky = p / (g.c * g.kw);
    const int64_t ox = r % g.ow, oy = (r / g.ow) % g.oh, b = b0 + r / (g.ow * g.oh);
    const int64_t iy = oy * g.sh - g.pad_t + ky, ix = ox * g.sw - g.pad_l + kx;
    col[i] = iy < 0 || iy >= g.h || ix < 0 || ix >= g.w ? T(0) : x[((b * g.h + iy) * g.w + ix) * g.c + ci];
  }
}

template <typename T>
__global__ void col2im_kernel(const T* col, T* dx, ConvGeom g, int64_t b0, int64_t total) {
  const int64_t patch = g.kh * g.kw * g.c;
  NESTOR_GRID_STRIDE(i, total) {
    const int64_t ci = i % g.c, ix = (i / g.c) % g.w, iy = (i / (g.c * g.w)) % g.h, bl = i / (g.c * g.w * g.h);
    T acc = T(0);
    for (int64_t ky = 0; ky < g.kh; ++ky) {
      const int64_t ny = iy + g.pad_t - ky;
      if (ny < 0 || ny % g.sh != 0 || ny / g.sh >= g.oh) continue;
      for (int64_t kx = 0; kx < g.kw; ++kx) {
        const int64_t nx = ix + g.pad_l - kx;
        if (nx < 0 || nx % g.sw != 0 || nx / g.sw >= g.ow) continue;
        acc += col[((bl * g.oh + ny / g.sh) * g.ow + nx / g.sw) * patch + (ky * g.kw + kx) * g.c + ci];
      }
    }
    dx[b0 * g.h * g.w * g.c + i] = acc;
  }
}

enum class Pass { kForward, kInput, kFilter };

// One of the three products, chunked over images; x is the input (forward, filter), f the
// filter (forward, input), dy the output gradient (input, filter); out is y, dx or df.
template <typename T>
void conv_pass(KernelCtx& ctx, Pass pass, const ConvGeom& g, const T* x, const T* f, const T* dy, T* out) {
  CudaBackend& be = CudaBackend::of(ctx);
  const int64_t patch = g.patch(), per = g.oh * g.ow;
  const int64_t out_n = pass == Pass::kForward ? g.rows() * g.oc
                        : pass == Pass::kInput ? g.n * g.h * g.w * g.c
                                               : patch * g.oc;
  const int64_t reduce = pass == Pass::kForward ? patch : pass == Pass::kInput ? g.oc : g.rows();
  if (reduce == 0 || per == 0) {
    fill_zero<T><<<blocks_for(out_n), kThreads, 0, be.stream()>>>(out, out_n);
    NESTOR_CUDA_CHECK_LAUNCH();
    return;
  }
  const int64_t step = std::max<int64_t>(1, kColBudget / std::max<int64_t>(1, per * patch));
  const int64_t chunk = std::min(step, g.n);
  if (chunk * per * std::max(patch, g.oc) > INT_MAX || patch * g.oc > INT_MAX)
    ctx.fail(Code::kUnimplemented, "conv2d GEMM dimensions above 2^31 - 1 are not supported on CUDA");
  Tensor col = Tensor::empty(DTypeOf<T>::value, {chunk * per * patch}, be.allocator());
  T* pc = col.data<T>();
  std::lock_guard<std::mutex> l(be.blas_mutex());
  for (int64_t b0 = 0; b0 < g.n; b0 += step) {
    const int64_t b1 = std::min(g.n, b0 + step), rows = (b1 - b0) * per;
    if (pass != Pass::kInput) {
      im2col_kernel<T><<<blocks_for(rows * patch), kThreads, 0, be.stream()>>>(x, pc, g, b0, rows * patch);
      NESTOR_CUDA_CHECK_LAUNCH();
    }
    const int r = static_cast<int>(rows), p = static_cast<int>(patch), o = static_cast<int>(g.oc);
    if (pass == Pass::kForward) {
      NESTOR_CUBLAS_CHECK(gemm(be.cublas(), false, false, r, o, p, pc, f, T(0), out + b0 * per * g.oc));
    } else if (pass == Pass::kFilter) {
      NESTOR_CUBLAS_CHECK(gemm(be.cublas(), true, false, p, o, r, pc, dy + b0 * per * g.oc, T(b0 == 0 ? 0 : 1), out));
    } else {
      NESTOR_CUBLAS_CHECK(gemm(be.cublas(), false, true, r, p, o, dy + b0 * per * g.oc, f, T(0), pc));
      const int64_t total = (b1 - b0) * g.h * g.w * g.c;
      col2im_kernel<T><<<blocks_for(total), kThreads, 0, be.stream()>>>(pc, out, g, b0, total);
      NESTOR_CUDA_CHECK_LAUNCH();
    }
  }
}

NESTOR_REGISTER_KERNEL("conv2d", DeviceType::kCuda, ([](KernelCtx& ctx) {
  const Tensor& x = ctx.input(0);
  const Tensor& f = ctx.input(1);
  ConvGeom g = ops::conv_geom(ctx, x.dims(), f.dims());
  Tensor& y = ctx.allocate_output(0, x.dtype(), g.out_dims());
  if (y.num_elements() == 0) return;
  NESTOR_DISPATCH_FLOAT(x.dtype(), "conv2d", [&] {
    conv_pass<scalar_t>(ctx, Pass::kForward, g, x.data<scalar_t>(), f.data<scalar_t>(), nullptr, y.data<scalar_t>());
  });
}));

NESTOR_REGISTER_KERNEL("conv2d_backprop_input", DeviceType::kCuda, ([](KernelCtx& ctx) {
  const Tensor& x = ctx.input(0);
  const Tensor& f = ctx.input(1);
  const Tensor& dy = ctx.input(2);
  ConvGeom g = ops::conv_geom(ctx, x.dims(), f.dims());
  ops::check_dy(ctx, g, dy);
  Tensor& dx = ctx.allocate_output(0, x.dtype(), x.dims());
  if (dx.num_elements() == 0) return;
  NESTOR_DISPATCH_FLOAT(x.dtype(), "conv2d_backprop_input", [&] {
    conv_pass<scalar_t>(ctx, Pass::kInput, g, nullptr, f.data<scalar_t>(), dy.data<scalar_t>(), dx.data<scalar_t>());
  });
}));

NESTOR_REGISTER_KERNEL("conv2d_backprop_filter", DeviceType::kCuda, ([](KernelCtx& ctx) {
  const Tensor& x = ctx.input(0);
  const Tensor& f = ctx.input(1);
  const Tensor& dy = ctx.input(2);
  ConvGeom g = ops::conv_geom(ctx, x.dims(), f.dims());
  ops::check_dy(ctx, g, dy);
  Tensor& df = ctx.allocate_output(0, x.dtype(), f.dims());
  if (df.num_elements() == 0) return;
  NESTOR_DISPATCH_FLOAT(x.dtype(), "conv2d_backprop_filter", [&] {
    conv_pass<scalar_t>(ctx, Pass::kFilter, g, x.data<scalar_t>(), nullptr, dy.data<scalar_t>(), df.data<scalar_t>());
  });
}));

}  // namespace
}  // namespace cuda
}  // namespace nestor
