// conv2d(input, filter; strides, padding) and its two gradients conv2d_backprop_input(input,
// filter, dy) and conv2d_backprop_filter(input, filter, dy) (input resp. filter only for its
// shape), NHWC input, HWIO filter, float32/float64. The CPU kernels lower the convolution to
// GEMMs over im2col patches: rows are output pixels, a row holds the (kh, kw, c) window
// (zeros in the padding), so the filter read as a [kh*kw*c, oc] matrix multiplies it. The
// patch buffer is built for a few images at a time (kColBudget elements).
#include <algorithm>
#include <vector>

#include "../core/blas.h"
#include "common.h"
#include "conv_util.h"

namespace nestor {
namespace {

using ops::ConvGeom;
using ops::WindowAttrs;
using ops::check_dy;
using ops::conv_geom;

// Elements of im2col buffer per chunk of images (at least one image's patches are built).
constexpr int64_t kColBudget = int64_t{1} << 22;

void conv_shape(ShapeCtx& c) {
  c.expect_inputs(2);
  c.expect_float(0);
  c.expect_same_dtype(0, 1);
  WindowAttrs a = ops::window_attrs(c, false);
  const PartialShape& x = c.shape(0);
  const PartialShape& f = c.shape(1);
  if (x.known_rank() && x.rank() != 4) c.fail("input must be 4-D [batch, height, width, channels], got shape ", x.str());
  if (f.known_rank() && f.rank() != 4)
    c.fail("filter must be 4-D [height, width, in_channels, out_channels], got shape ", f.str());
  if (!x.known_rank() || !f.known_rank()) {
    c.set_output(0, c.dtype(0), PartialShape(Dims{-1, -1, -1, -1}));
    return;
  }
  if (x.dim(3) >= 0 && f.dim(2) >= 0 && x.dim(3) != f.dim(2))
    c.fail("input has ", x.dim(3), " channels (shape ", x.str(), ") but the filter expects ", f.dim(2),
           " (shape ", f.str(), ")");
  Dims out{x.dim(0), -1, -1, f.dim(3)};
  for (int i = 0; i < 2; ++i) {
    int64_t k = f.dim(i);
    if (k < 0) continue;
    if (k < 1) c.fail("filter spatial dimensions must be >= 1, got shape ", f.str());
    if (!a.same && x.dim(1 + i) >= 0 && x.dim(1 + i) < k)
      c.fail("computed output size would be negative: input shape ", x.str(), ", filter shape ", f.str(),
             " with VALID padding");
    out[static_cast<size_t>(1 + i)] = ops::window_axis(x.dim(1 + i), k, i ? a.sw : a.sh, a.same).out;
  }
  c.set_output(0, c.dtype(0), PartialShape(out));
}

// Images per im2col chunk.
int64_t chunk_images(const ConvGeom& g) {
  int64_t per = std::max<int64_t>(1, g.oh * g.ow * g.patch());
  return std::max<int64_t>(1, kColBudget / per);
}

// col[(b - b0) * oh * ow + oy * ow + ox, (ky * kw + kx) * c + ci] = x[b, iy, ix, ci] (0 outside).
template <typename T>
void im2col(KernelCtx& ctx, const ConvGeom& g, const T* x, int64_t b0, int64_t b1, T* col) {
  const int64_t rows = (b1 - b0) * g.oh * g.ow, patch = g.patch();
  ops::parallel_elems(ctx, rows, [&](int64_t s, int64_t e) {
    for (int64_t r = s; r < e; ++r) {
      int64_t ox = r % g.ow, oy = (r / g.ow) % g.oh, b = b0 + r / (g.ow * g.oh);
      T* dst = col + r * patch;
      for (int64_t ky = 0; ky < g.kh; ++ky) {
        int64_t iy = oy * g.sh - g.pad_t + ky;
        for (int64_t kx = 0; kx < g.kw; ++kx, dst += g.c) {
          int64_t ix = ox * g.sw - g.pad_l + kx;
          if (iy < 0 || iy >= g.h || ix < 0 || ix >= g.w) {
            std::fill(dst, dst + g.c, T(0));
          } else {
            const T* src = x + ((b * g.h + iy) * g.w + ix) * g.c;
            std::copy(src, src + g.c, dst);
          }
        }
      }
    }
  }, std::max<int64_t>(1, 32768 / std::max<int64_t>(patch, 1)));
}

// dx[b, iy, ix, :] = sum of col entries that im2col copied from there (images b0..b1).
template <typename T>
void col2im(KernelCtx& ctx, const ConvGeom& g, const T* col, int64_t b0, int64_t b1, T* dx) {
  const int64_t pixels = (b1 - b0) * g.h * g.w, patch = g.patch();
  ops::parallel_elems(ctx, pixels, [&](int64_t s, int64_t e) {
    for (int64_t p = s; p < e; ++p) {
      int64_t ix = p % g.w, iy = (p / g.w) % g.h, bl = p / (g.w * g.h);
      T* dst = dx + ((b0 + bl) * g.h + iy) * g.w * g.c + ix * g.c;
      std::fill(dst, dst + g.c, T(0));
      for (int64_t ky = 0; ky < g.kh; ++ky) {
        int64_t ny = iy + g.pad_t - ky;
        if (ny < 0 || ny % g.sh != 0 || ny / g.sh >= g.oh) continue;
        for (int64_t kx = 0; kx < g.kw; ++kx) {
          int64_t nx = ix + g.pad_l - kx;
          if (nx < 0 || nx % g.sw != 0 || nx / g.sw >= g.ow) continue;
          const T* src = col + ((bl * g.oh + ny / g.sh) * g.ow + nx / g.sw) * patch + (ky * g.kw + kx) * g.c;
          for (int64_t ci = 0; ci < g.c; ++ci) dst[ci] += src[ci];
        }
      }
    }
  }, std::max<int64_t>(1, 32768 / std::max<int64_t>(g.kh * g.kw * g.c, 1)));
}

// A 1x1, stride-1, unpadded convolution reads the input itself as the patch matrix.
bool is_pointwise(const ConvGeom& g) {
  return g.kh == 1 && g.kw == 1 && g.sh == 1 && g.sw == 1 && g.pad_t == 0 && g.pad_l == 0;
}

template <typename T>
void conv_forward(KernelCtx& ctx, const ConvGeom& g, const T* x, const T* f, T* y) {
  const int64_t patch = g.patch(), per = g.oh * g.ow;
  if (patch == 0) {
    std::fill(y, y + g.rows() * g.oc, T(0));
    return;
  }
  if (is_pointwise(g)) {
    blas::gemm(&ctx.pool(), false, false, g.rows(), g.oc, patch, T(1), x, patch, f, g.oc, T(0), y, g.oc);
    return;
  }
  const int64_t step = chunk_images(g);
  std::vector<T> col(static_cast<size_t>(std::min(step, g.n) * per * patch));
  for (int64_t b0 = 0; b0 < g.n; b0 += step) {
    int64_t b1 = std::min(g.n, b0 + step), rows = (b1 - b0) * per;
    im2col(ctx, g, x, b0, b1, col.data());
    blas::gemm(&ctx.pool(), false, false, rows, g.oc, patch, T(1), col.data(), patch, f, g.oc, T(0),
               y + b0 * per * g.oc, g.oc);
  }
}

template <typename T>
void conv_backprop_input(KernelCtx& ctx, const ConvGeom& g, const T* f, const T* dy, T* dx) {
  const int64_t patch = g.patch(), per = g.oh * g.ow;
  const int64_t nx = g.n * g.h * g.w * g.c;
  if (g.oc == 0 || per == 0) {
    std::fill(dx, dx + nx, T(0));
    return;
  }
  if (is_pointwise(g)) {
    blas::gemm(&ctx.pool(), false, true, g.rows(), patch, g.oc, T(1), dy, g.oc, f, g.oc, T(0), dx, patch);
    return;
  }
  const int64_t step = chunk_images(g);
  std::vector<T> col(static_cast<size_t>(std::min(step, g.n) * per * patch));
  for (int64_t b0 = 0; b0 < g.n; b0 += step) {
    int64_t b1 = std::min(g.n, b0 + step), rows = (b1 - b0) * per;
    blas::gemm(&ctx.pool(), false, true, rows, patch, g.oc, T(1), dy + b0 * per * g.oc, g.oc, f, g.oc, T(0),
               col.data(), patch);
    col2im(ctx, g, col.data(), b0, b1, dx);
  }
}

template <typename T>
void conv_backprop_filter(KernelCtx& ctx, const ConvGeom& g, const T* x, const T* dy, T* df) {
  const int64_t patch = g.patch(), per = g.oh * g.ow;
  if (g.rows() == 0) {
    std::fill(df, df + patch * g.oc, T(0));
    return;
  }
  if (is_pointwise(g)) {
    blas::gemm(&ctx.pool(), true, false, patch, g.oc, g.rows(), T(1), x, patch, dy, g.oc, T(0), df, g.oc);
    return;
  }
  const int64_t step = chunk_images(g);
  std::vector<T> col(static_cast<size_t>(std::min(step, g.n) * per * patch));
  for (int64_t b0 = 0; b0 < g.n; b0 += step) {
    int64_t b1 = std::min(g.n, b0 + step), rows = (b1 - b0) * per;
    im2col(ctx, g, x, b0, b1, col.data());
    blas::gemm(&ctx.pool(), true, false, patch, g.oc, rows, T(1), col.data(), patch, dy + b0 * per * g.oc, g.oc,
               T(b0 == 0 ? 0 : 1), df, g.oc);
  }
}

Attrs window_of(const GradCtx& g) {
  return Attrs{{"strides", g.attr<std::vector<int64_t>>("strides")}, {"padding", g.attr<std::string>("padding")}};
}

void backprop_shape(ShapeCtx& c, int like) {
  c.expect_inputs(3);
  c.expect_float(0);
  c.expect_same_dtype(0, 1);
  c.expect_same_dtype(0, 2);
  ops::window_attrs(c, false);
  c.set_output(0, c.dtype(0), c.shape(like));
}

NESTOR_OP("conv2d")
    .shape(conv_shape)
    .grad([](GradCtx& g) {
      Output x = g.input(0), f = g.input(1), dy = g.grad(0);
      g.set_grad(0, g.op("conv2d_backprop_input", {x, f, dy}, window_of(g)));
      g.set_grad(1, g.op("conv2d_backprop_filter", {x, f, dy}, window_of(g)));
    })
    .cpu([](KernelCtx& ctx) {
      const Tensor& x = ctx.input(0);
      const Tensor& f = ctx.input(1);
      ConvGeom g = conv_geom(ctx, x.dims(), f.dims());
      Tensor& y = ctx.allocate_output(0, x.dtype(), g.out_dims());
      if (y.num_elements() == 0) return;
      NESTOR_DISPATCH_FLOAT(x.dtype(), "conv2d", [&] {
        conv_forward<scalar_t>(ctx, g, x.data<scalar_t>(), f.data<scalar_t>(), y.data<scalar_t>());
      });
    });

// Linear in (filter, dy): its gradients are a conv2d and a conv2d_backprop_filter.
NESTOR_OP("conv2d_backprop_input")
    .shape([](ShapeCtx& c) { backprop_shape(c, 0); })
    .grad([](GradCtx& g) {
      Output f = g.input(1), dy = g.input(2), ddx = g.grad(0);
      g.set_grad(1, g.op("conv2d_backprop_filter", {ddx, f, dy}, window_of(g)));
      g.set_grad(2, g.op("conv2d", {ddx, f}, window_of(g)));
    })
    .cpu([](KernelCtx& ctx) {
      const Tensor& x = ctx.input(0);
      const Tensor& f = ctx.input(1);
      const Tensor& dy = ctx.input(2);
      ConvGeom g = conv_geom(ctx, x.dims(), f.dims());
      check_dy(ctx, g, dy);
      Tensor& dx = ctx.allocate_output(0, x.dtype(), x.dims());
      if (dx.num_elements() == 0) return;
      NESTOR_DISPATCH_FLOAT(x.dtype(), "conv2d_backprop_input", [&] {
        conv_backprop_input<scalar_t>(ctx, g, f.data<scalar_t>(), dy.data<scalar_t>(), dx.data<scalar_t>());
      });
    });

// Linear in (input, dy): its gradients are a conv2d_backprop_input and a conv2d.
NESTOR_OP("conv2d_backprop_filter")
    .shape([](ShapeCtx& c) { backprop_shape(c, 1); })
    .grad([](GradCtx& g) {
      Output x = g.input(0), dy = g.input(2), ddf = g.grad(0);
      g.set_grad(0, g.op("conv2d_backprop_input", {x, ddf, dy}, window_of(g)));
      g.set_grad(2, g.op("conv2d", {x, ddf}, window_of(g)));
    })
    .cpu([](KernelCtx& ctx) {
      const Tensor& x = ctx.input(0);
      const Tensor& f = ctx.input(1);
      const Tensor& dy = ctx.input(2);
      ConvGeom g = conv_geom(ctx, x.dims(), f.dims());
      check_dy(ctx, g, dy);
      Tensor& df = ctx.allocate_output(0, x.dtype(), f.dims());
      if (df.num_elements() == 0) return;
      NESTOR_DISPATCH_FLOAT(x.dtype(), "conv2d_backprop_filter", [&] {
        conv_backprop_filter<scalar_t>(ctx, g, x.data<scalar_t>(), dy.data<scalar_t>(), df.data<scalar_t>());
      });
    });

}  // namespace
}  // namespace nestor
