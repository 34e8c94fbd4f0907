// conv2d(input, filter; strides, padding) and its two gradients conv2d_backprop_input(input,
// filter, dy) and conv2d_backprop_filter(input, filter, dy) (input resp. filter only for its
// shape), NHWC input, HWIO filter, float32/float64. The CPU kernels lower the convolution to
// GEMMs over im2col patches: rows are output pixels, a row holds the (kh, kw, c) window
// (zeros in the padding), so the filter read as a [kh*kw*c, oc] matrix multiplies it. Each
// pool thread builds a cache-sized tile of patch rows and multiplies it on its own (a
// single-threaded GEMM), so the patches never go through memory.
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

// Elements of one thread's patch tile: small enough to stay in its core's cache between the
// copy and the GEMM that reads it.
constexpr int64_t kTileElems = int64_t{1} << 16;

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

// Output rows per tile (at least 16, so no tile's GEMM degenerates to a few rows).
int64_t tile_rows(const ConvGeom& g) { return std::max<int64_t>(16, kTileElems / std::max<int64_t>(g.patch(), 1)); }

// Calls fn(r, b, iy, line, kx0, kx1) for every (output row r in [r0, r1), ky) window line:
// `line` = r's patch line ky (kw * c entries) relative to row r0, input row iy of image b (iy
// outside the image: kx0 == kx1), in-bounds kx range [kx0, kx1), whose input pixels are one
// contiguous run starting at x[b, iy, ix0 + kx0] (ix0 = the window's left column).
template <typename F>
void for_window_lines(const ConvGeom& g, int64_t r0, int64_t r1, F&& fn) {
  for (int64_t r = r0; r < r1; ++r) {
    const int64_t ox = r % g.ow, oy = (r / g.ow) % g.oh, b = r / (g.ow * g.oh);
    const int64_t ix0 = ox * g.sw - g.pad_l;
    const int64_t kx0 = std::max<int64_t>(0, -ix0), kx1 = std::max(kx0, std::min<int64_t>(g.kw, g.w - ix0));
    for (int64_t ky = 0; ky < g.kh; ++ky) {
      const int64_t iy = oy * g.sh - g.pad_t + ky;
      const bool in = iy >= 0 && iy < g.h;
      fn(((r - r0) * g.kh + ky) * g.kw * g.c, ((b * g.h + iy) * g.w + ix0) * g.c, in ? kx0 : 0, in ? kx1 : 0);
    }
  }
}

// col[r - r0, (ky * kw + kx) * c + ci] = x[b, iy, ix, ci] (0 outside) for output rows r0..r1,
// r = (b * oh + oy) * ow + ox.
template <typename T>
void im2col(const ConvGeom& g, const T* x, int64_t r0, int64_t r1, T* col) {
  const int64_t c = g.c, line = g.kw * g.c;
  for_window_lines(g, r0, r1, [&](int64_t at, int64_t from, int64_t kx0, int64_t kx1) {
    T* dst = col + at;
    std::fill(dst, dst + kx0 * c, T(0));
    if (kx1 > kx0) std::copy(x + from + kx0 * c, x + from + kx1 * c, dst + kx0 * c);
    std::fill(dst + kx1 * c, dst + line, T(0));
  });
}

// dx[b, iy, ix, :] += the col entries im2col would copy from there, for output rows r0..r1.
template <typename T>
void col2im_add(const ConvGeom& g, const T* col, int64_t r0, int64_t r1, T* dx) {
  const int64_t c = g.c;
  for_window_lines(g, r0, r1, [&](int64_t at, int64_t from, int64_t kx0, int64_t kx1) {
    if (kx1 == kx0) return;  // (`from` is only an address inside the input when the line is)
    const T* src = col + at + kx0 * c;
    T* dst = dx + from + kx0 * c;
    for (int64_t i = 0, n = (kx1 - kx0) * c; i < n; ++i) dst[i] += src[i];
  });
}

// A 1x1, stride-1, unpadded convolution reads the input itself as the patch matrix.
bool is_pointwise(const ConvGeom& g) {
  return g.kh == 1 && g.kw == 1 && g.sh == 1 && g.sw == 1 && g.pad_t == 0 && g.pad_l == 0;
}

template <typename T>
void conv_forward(KernelCtx& ctx, const ConvGeom& g, const T* x, const T* f, T* y) {
  const int64_t patch = g.patch(), rows = g.rows();
  if (patch == 0) {
    std::fill(y, y + rows * g.oc, T(0));
    return;
  }
  if (is_pointwise(g)) {
    blas::gemm(&ctx.pool(), false, false, rows, g.oc, patch, T(1), x, patch, f, g.oc, T(0), y, g.oc);
    return;
  }
  const int64_t tr = tile_rows(g);
  ctx.pool().parallel_for((rows + tr - 1) / tr, 1, [&](int64_t t0, int64_t t1) {
    std::vector<T> col(static_cast<size_t>(tr * patch));
    for (int64_t t = t0; t < t1; ++t) {
      const int64_t r0 = t * tr, r1 = std::min(rows, r0 + tr);
      im2col(g, x, r0, r1, col.data());
      blas::gemm(nullptr, false, false, r1 - r0, g.oc, patch, T(1), col.data(), patch, f, g.oc, T(0), y + r0 * g.oc,
                 g.oc);
    }
  });
}

// A tile of the input gradient holds whole images: the windows of different images never
// overlap, so each thread adds into its own images' dx.
template <typename T>
void conv_backprop_input(KernelCtx& ctx, const ConvGeom& g, const T* f, const T* dy, T* dx) {
  const int64_t patch = g.patch(), per = g.oh * g.ow, image = g.h * g.w * g.c;
  if (g.oc == 0 || per == 0) {
    std::fill(dx, dx + g.n * image, T(0));
    return;
  }
  if (is_pointwise(g)) {
    blas::gemm(&ctx.pool(), false, true, g.rows(), patch, g.oc, T(1), dy, g.oc, f, g.oc, T(0), dx, patch);
    return;
  }
  const int64_t tr = std::max<int64_t>(1, tile_rows(g) / per) * per;  // whole images
  ctx.pool().parallel_for(g.n, std::max<int64_t>(1, tr / per), [&](int64_t b0, int64_t b1) {
    std::fill(dx + b0 * image, dx + b1 * image, T(0));
    std::vector<T> col(static_cast<size_t>(std::min(tr, (b1 - b0) * per) * patch));
    for (int64_t r0 = b0 * per, end = b1 * per; r0 < end; r0 += tr) {
      const int64_t r1 = std::min(end, r0 + tr);
      blas::gemm(nullptr, false, true, r1 - r0, patch, g.oc, T(1), dy + r0 * g.oc, g.oc, f, g.oc, T(0), col.data(),
                 patch);
      col2im_add(g, col.data(), r0, r1, dx);
    }
  });
}

// Each of the pool's threads sums its share of the tiles into its own filter-sized partial;
// the partials are added in a fixed order, so the result does not depend on scheduling.
template <typename T>
void conv_backprop_filter(KernelCtx& ctx, const ConvGeom& g, const T* x, const T* dy, T* df) {
  const int64_t patch = g.patch(), rows = g.rows(), nf = patch * g.oc;
  if (rows == 0) {
    std::fill(df, df + nf, T(0));
    return;
  }
  if (is_pointwise(g)) {
    blas::gemm(&ctx.pool(), true, false, patch, g.oc, rows, T(1), x, patch, dy, g.oc, T(0), df, g.oc);
    return;
  }
  const int64_t tr = tile_rows(g), tiles = (rows + tr - 1) / tr;
  const int64_t parts = std::min<int64_t>(tiles, ctx.pool().num_threads());
  std::vector<T> partial(static_cast<size_t>((parts - 1) * nf));
  ctx.pool().parallel_for(parts, 1, [&](int64_t p0, int64_t p1) {
    std::vector<T> col(static_cast<size_t>(tr * patch));
    for (int64_t p = p0; p < p1; ++p) {
      T* out = p == 0 ? df : partial.data() + (p - 1) * nf;
      for (int64_t t = tiles * p / parts, t1 = tiles * (p + 1) / parts; t < t1; ++t) {
        const int64_t r0 = t * tr, r1 = std::min(rows, r0 + tr);
        im2col(g, x, r0, r1, col.data());
        blas::gemm(nullptr, true, false, patch, g.oc, r1 - r0, T(1), col.data(), patch, dy + r0 * g.oc, g.oc,
                   T(t == tiles * p / parts ? 0 : 1), out, g.oc);
      }
    }
  });
  for (int64_t p = 1; p < parts; ++p) {
    const T* src = partial.data() + (p - 1) * nf;
    for (int64_t i = 0; i < nf; ++i) df[i] += src[i];
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

// The gradients' kernels: (input, filter, dy) -> an output shaped as input `like`, computed by
// fn(geometry, a value of the element type, output) unless it is empty.
template <typename F>
void run_backprop(KernelCtx& ctx, int like, F&& fn) {
  const Tensor& x = ctx.input(0);
  ConvGeom g = conv_geom(ctx, x.dims(), ctx.input(1).dims());
  check_dy(ctx, g, ctx.input(2));
  Tensor& out = ctx.allocate_output(0, x.dtype(), ctx.input(like).dims());
  if (out.num_elements() == 0) return;
  NESTOR_DISPATCH_FLOAT(x.dtype(), ctx.node().op, [&] { fn(g, scalar_t{}, out); });
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
      run_backprop(ctx, 0, [&](const ConvGeom& g, auto type, Tensor& dx) {
        using T = decltype(type);
        conv_backprop_input<T>(ctx, g, ctx.input(1).data<T>(), ctx.input(2).data<T>(), dx.data<T>());
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
      run_backprop(ctx, 1, [&](const ConvGeom& g, auto type, Tensor& df) {
        using T = decltype(type);
        conv_backprop_filter<T>(ctx, g, ctx.input(0).data<T>(), ctx.input(2).data<T>(), df.data<T>());
      });
    });

}  // namespace
}  // namespace nestor
