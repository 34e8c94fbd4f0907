// max_pool(x; ksize, strides, padding), avg_pool(x; ...) over NHWC float32/float64 input, and
// their gradients max_pool_grad(x, dy) and avg_pool_grad(x, dy) (x only for its shape in
// avg_pool_grad). TensorFlow's rules: the padding of SAME takes no part (max over the valid
// elements; the average divides by their count); max_pool's gradient goes to the first
// maximum of each window in (row, column) order.
#include <algorithm>
#include <vector>

#include "common.h"
#include "conv_util.h"

namespace nestor {
namespace {

using ops::ConvGeom;
using ops::WindowAttrs;
using ops::check_dy;
using ops::pool_geom;

void pool_shape(ShapeCtx& c, int inputs) {
  c.expect_inputs(inputs);
  c.expect_float(0);
  for (int i = 1; i < inputs; ++i) c.expect_same_dtype(0, i);
  WindowAttrs a = ops::window_attrs(c, true);
  const PartialShape& x = c.shape(0);
  if (x.known_rank() && x.rank() != 4) c.fail("input must be 4-D [batch, height, width, channels], got shape ", x.str());
  if (inputs > 1) {  // gradients: shaped as x
    c.set_output(0, c.dtype(0), x);
    return;
  }
  if (!x.known_rank()) {
    c.set_output(0, c.dtype(0), PartialShape(Dims{-1, -1, -1, -1}));
    return;
  }
  if (!a.same && ((x.dim(1) >= 0 && x.dim(1) < a.kh) || (x.dim(2) >= 0 && x.dim(2) < a.kw)))
    c.fail("computed output size would be negative: input shape ", x.str(), ", window ", a.kh, "x", a.kw,
           " with VALID padding");
  c.set_output(0, c.dtype(0),
               PartialShape(Dims{x.dim(0), ops::window_axis(x.dim(1), a.kh, a.sh, a.same).out,
                                 ops::window_axis(x.dim(2), a.kw, a.sw, a.same).out, x.dim(3)}));
}

// The valid window [y0, y1) x [x0, x1) of output pixel (oy, ox).
struct Window {
  int64_t y0, y1, x0, x1;
};
inline Window window_at(const ConvGeom& g, int64_t oy, int64_t ox) {
  int64_t ys = oy * g.sh - g.pad_t, xs = ox * g.sw - g.pad_l;
  return Window{std::max<int64_t>(ys, 0), std::min(ys + g.kh, g.h), std::max<int64_t>(xs, 0), std::min(xs + g.kw, g.w)};
}

// Runs fn(b, oy, ox, window) over the output pixels, split over the pool by rows.
template <typename F>
void for_outputs(KernelCtx& ctx, const ConvGeom& g, F&& fn) {
  ops::parallel_elems(ctx, g.n * g.oh, [&](int64_t s, int64_t e) {
    for (int64_t r = s; r < e; ++r)
      for (int64_t ox = 0; ox < g.ow; ++ox) fn(r / g.oh, r % g.oh, ox, window_at(g, r % g.oh, ox));
  }, std::max<int64_t>(1, 32768 / std::max<int64_t>(g.ow * g.c * g.kh * g.kw, 1)));
}

// For the gradients: zeroes dx (shaped as input 0), then runs fn(b, window, dy row of the
// output pixel, dx) over every output pixel. Images run in parallel (each thread zeroes its
// own); the windows of one image overlap, so each image's pixels run in order on one thread.
template <typename T, typename F>
void scatter_windows(KernelCtx& ctx, const ConvGeom& g, const Tensor& dy, Tensor& dx, F&& fn) {
  const T* pdy = dy.data<T>();
  T* pdx = dx.data<T>();
  const int64_t image = g.h * g.w * g.c;
  ops::parallel_elems(ctx, g.n, [&](int64_t s, int64_t e) {
    std::fill(pdx + s * image, pdx + e * image, T(0));
    for (int64_t b = s; b < e; ++b)
      for (int64_t oy = 0; oy < g.oh; ++oy)
        for (int64_t ox = 0; ox < g.ow; ++ox)
          fn(b, window_at(g, oy, ox), pdy + ((b * g.oh + oy) * g.ow + ox) * g.c, pdx);
  }, 1);
}

// Channels whose window maxima one pass tracks (on the stack).
constexpr int64_t kArgmaxBlock = 64;

// Adds d[ci] at the first maximum of channel ci in window w of image b, for every channel:
// a block of channels at a time, scanning the window once per block (the channels of a pixel
// are contiguous, so the comparisons vectorize).
template <typename T>
void add_at_first_max(const ConvGeom& g, const T* x, int64_t b, const Window& w, const T* d, T* dx) {
  T best[kArgmaxBlock];
  int64_t at[kArgmaxBlock];
  for (int64_t c0 = 0; c0 < g.c; c0 += kArgmaxBlock) {
    const int64_t cn = std::min(kArgmaxBlock, g.c - c0);
    const int64_t first = ((b * g.h + w.y0) * g.w + w.x0) * g.c + c0;
    for (int64_t ci = 0; ci < cn; ++ci) {
      best[ci] = x[first + ci];
      at[ci] = first + ci;
    }
    for (int64_t iy = w.y0; iy < w.y1; ++iy)
      for (int64_t ix = w.x0; ix < w.x1; ++ix) {
        const int64_t o = ((b * g.h + iy) * g.w + ix) * g.c + c0;
        for (int64_t ci = 0; ci < cn; ++ci)
          if (x[o + ci] > best[ci]) {
            best[ci] = x[o + ci];
            at[ci] = o + ci;
          }
      }
    for (int64_t ci = 0; ci < cn; ++ci) dx[at[ci]] += d[c0 + ci];
  }
}

Attrs window_of(const GradCtx& g) {
  return Attrs{{"ksize", g.attr<std::vector<int64_t>>("ksize")},
               {"strides", g.attr<std::vector<int64_t>>("strides")},
               {"padding", g.attr<std::string>("padding")}};
}

NESTOR_OP("max_pool")
    .shape([](ShapeCtx& c) { pool_shape(c, 1); })
    .grad([](GradCtx& g) { g.set_grad(0, g.op("max_pool_grad", {g.input(0), g.grad(0)}, window_of(g))); })
    .cpu([](KernelCtx& ctx) {
      const Tensor& x = ctx.input(0);
      ConvGeom g = pool_geom(ctx, x.dims());
      Tensor& y = ctx.allocate_output(0, x.dtype(), g.out_dims());
      if (y.num_elements() == 0) return;
      NESTOR_DISPATCH_FLOAT(x.dtype(), "max_pool", [&] {
        using T = scalar_t;
        const T* px = x.data<T>();
        T* py = y.data<T>();
        for_outputs(ctx, g, [&](int64_t b, int64_t oy, int64_t ox, const Window& w) {
          T* out = py + ((b * g.oh + oy) * g.ow + ox) * g.c;
          std::copy_n(px + ((b * g.h + w.y0) * g.w + w.x0) * g.c, g.c, out);
          for (int64_t iy = w.y0; iy < w.y1; ++iy)
            for (int64_t ix = w.x0; ix < w.x1; ++ix) {
              const T* in = px + ((b * g.h + iy) * g.w + ix) * g.c;
              for (int64_t ci = 0; ci < g.c; ++ci) out[ci] = in[ci] > out[ci] ? in[ci] : out[ci];
            }
        });
      });
    });

// dx: zeros, dy of each output pixel added at its window's first maximum.
NESTOR_OP("max_pool_grad")
    .shape([](ShapeCtx& c) { pool_shape(c, 2); })
    .no_grad()
    .cpu([](KernelCtx& ctx) {
      const Tensor& x = ctx.input(0);
      const Tensor& dy = ctx.input(1);
      ConvGeom g = pool_geom(ctx, x.dims());
      check_dy(ctx, g, dy);
      Tensor& dx = ctx.allocate_output(0, x.dtype(), x.dims());
      if (dx.num_elements() == 0) return;
      NESTOR_DISPATCH_FLOAT(x.dtype(), "max_pool_grad", [&] {
        using T = scalar_t;
        const T* px = x.data<T>();
        scatter_windows<T>(ctx, g, dy, dx, [&](int64_t b, const Window& w, const T* d, T* pdx) {
          add_at_first_max(g, px, b, w, d, pdx);
        });
      });
    });

NESTOR_OP("avg_pool")
    .shape([](ShapeCtx& c) { pool_shape(c, 1); })
    .grad([](GradCtx& g) { g.set_grad(0, g.op("avg_pool_grad", {g.input(0), g.grad(0)}, window_of(g))); })
    .cpu([](KernelCtx& ctx) {
      const Tensor& x = ctx.input(0);
      ConvGeom g = pool_geom(ctx, x.dims());
      Tensor& y = ctx.allocate_output(0, x.dtype(), g.out_dims());
      if (y.num_elements() == 0) return;
      NESTOR_DISPATCH_FLOAT(x.dtype(), "avg_pool", [&] {
        using T = scalar_t;
        const T* px = x.data<T>();
        T* py = y.data<T>();
        for_outputs(ctx, g, [&](int64_t b, int64_t oy, int64_t ox, const Window& w) {
          T* out = py + ((b * g.oh + oy) * g.ow + ox) * g.c;
          std::fill(out, out + g.c, T(0));
          for (int64_t iy = w.y0; iy < w.y1; ++iy)
            for (int64_t ix = w.x0; ix < w.x1; ++ix) {
              const T* in = px + ((b * g.h + iy) * g.w + ix) * g.c;
              for (int64_t ci = 0; ci < g.c; ++ci) out[ci] += in[ci];
            }
          T count = static_cast<T>((w.y1 - w.y0) * (w.x1 - w.x0));
          for (int64_t ci = 0; ci < g.c; ++ci) out[ci] /= count;
        });
      });
    });

// Linear in dy: its gradient with respect to dy is avg_pool of the incoming gradient.
NESTOR_OP("avg_pool_grad")
    .shape([](ShapeCtx& c) { pool_shape(c, 2); })
    .grad([](GradCtx& g) { g.set_grad(1, g.op("avg_pool", {g.grad(0)}, window_of(g))); })
    .cpu([](KernelCtx& ctx) {
      const Tensor& x = ctx.input(0);
      const Tensor& dy = ctx.input(1);
      ConvGeom g = pool_geom(ctx, x.dims());
      check_dy(ctx, g, dy);
      Tensor& dx = ctx.allocate_output(0, x.dtype(), x.dims());
      if (dx.num_elements() == 0) return;
      NESTOR_DISPATCH_FLOAT(x.dtype(), "avg_pool_grad", [&] {
        using T = scalar_t;
        scatter_windows<T>(ctx, g, dy, dx, [&](int64_t b, const Window& w, const T* d, T* pdx) {
          T count = static_cast<T>((w.y1 - w.y0) * (w.x1 - w.x0));
          for (int64_t iy = w.y0; iy < w.y1; ++iy)
            for (int64_t ix = w.x0; ix < w.x1; ++ix) {
              T* o = pdx + ((b * g.h + iy) * g.w + ix) * g.c;
              for (int64_t ci = 0; ci < g.c; ++ci) o[ci] += d[ci] / count;
            }
        });
      });
    });

}  // namespace
}  // namespace nestor
