// Scans along one axis: cumsum and cumprod (inputs x, axis; attrs exclusive, reverse), as
// tf.math.cumsum / tf.math.cumprod, and cumprod_grad, cumprod's exact gradient.
//
// Every scan accumulates in the order of the scan, one line (fixed outer and inner index)
// at a time: y[t] = y[t - 1] op x[t] (inclusive) or y[t - 1] op x[t - 1] (exclusive, y[0]
// the identity), t counted from the end when reverse. The CUDA kernels (cuda/kernels/scan.cu)
// use the same order. The pool takes (outer, block of inner columns) pairs.
//
// cumsum's gradient is cumsum(dy) with the same exclusive flag and the opposite direction.
// cumprod's gradient is not TensorFlow's cumsum(cumprod(x) * dy) / x (which is wrong where x
// has zeros: TF divides with div_no_nan there). With E[s] the exclusive product before s
// and, in scan order,
//   inclusive: R[n-1] = dy[n-1], R[s] = dy[s] + x[s+1] * R[s+1],
//   exclusive: R[n-1] = 0,       R[s] = dy[s+1] + x[s+1] * R[s+1],
// dx[s] = E[s] * R[s]: no division, so zeros in x are handled exactly.
#include <vector>

#include "common.h"
#include "scan_util.h"

namespace nestor {
namespace {

void scan_shape(ShapeCtx& c) {
  c.expect_inputs(2);
  if (!is_numeric(c.dtype(0))) c.fail("x must be numeric, got ", dtype_name(c.dtype(0)));
  if (!is_integer(c.dtype(1))) c.fail("axis must be int32 or int64, got ", dtype_name(c.dtype(1)));
  if (c.shape(1).known_rank() && c.shape(1).rank() != 0) c.fail("axis must be a scalar, got shape ", c.shape(1).str());
  const PartialShape& s = c.shape(0);
  if (s.known_rank() && s.rank() == 0) c.fail("x must be at least 1-D, got a scalar");
  const Tensor* a = c.constant(1);
  if (a != nullptr && s.known_rank()) ops::normalize_axis(c, a->scalar_as_int(), s.rank());
  c.set_output(0, c.dtype(0), s);
}

Attrs scan_attrs(const GradCtx& g, bool flip_reverse) {
  return Attrs{{"exclusive", g.attr_or<bool>("exclusive", false)},
               {"reverse", g.attr_or<bool>("reverse", false) != flip_reverse}};
}

constexpr int64_t kCols = 256;  // inner columns per task

// Runs fn(o, c0, c1) over every (outer index, block of inner columns), on the pool.
template <typename F>
void for_lines(KernelCtx& ctx, const scan::Layout& l, F&& fn) {
  const int64_t blocks = (l.inner + kCols - 1) / kCols, tasks = l.outer * blocks;
  const int64_t work = l.n * std::min(l.inner, kCols);
  ops::parallel_elems(ctx, tasks, [&](int64_t s, int64_t e) {
    for (int64_t k = s; k < e; ++k) {
      const int64_t o = k / blocks, c0 = (k % blocks) * kCols;
      fn(o, c0, std::min(l.inner, c0 + kCols));
    }
  }, std::max<int64_t>(1, 32768 / std::max<int64_t>(work, 1)));
}

template <typename T, typename Op>
void scan_cpu(KernelCtx& ctx, const Tensor& x, Tensor& y, const scan::Layout& l, bool exclusive, bool reverse) {
  const T* px = x.data<T>();
  T* py = y.data<T>();
  const int64_t n = l.n, inner = l.inner;
  const Op op{};
  for_lines(ctx, l, [&](int64_t o, int64_t c0, int64_t c1) {
    for (int64_t t = 0; t < n; ++t) {
      const int64_t j = reverse ? n - 1 - t : t;
      T* yr = py + (o * n + j) * inner;
      const T* xr = px + (o * n + j) * inner;
      if (t == 0) {
        for (int64_t c = c0; c < c1; ++c) yr[c] = exclusive ? Op::template identity<T>() : xr[c];
        continue;
      }
      const int64_t p = reverse ? j + 1 : j - 1;
      const T* yp = py + (o * n + p) * inner;
      const T* xs = exclusive ? px + (o * n + p) * inner : xr;
      for (int64_t c = c0; c < c1; ++c) yr[c] = op(yp[c], xs[c]);
    }
  });
}

template <typename Op>
void scan_kernel(KernelCtx& ctx) {
  const Tensor& x = ctx.input(0);
  const scan::Layout l = scan::layout(ctx, x, ctx.input(1));
  Tensor& y = ctx.allocate_output(0, x.dtype(), x.dims());
  if (y.num_elements() == 0) return;
  const bool exclusive = ctx.attr_or<bool>("exclusive", false), reverse = ctx.attr_or<bool>("reverse", false);
  NESTOR_DISPATCH_NUMERIC(x.dtype(), ctx.node().op, [&] { scan_cpu<scalar_t, Op>(ctx, x, y, l, exclusive, reverse); });
}

NESTOR_OP("cumsum")
    .shape(scan_shape)
    .grad([](GradCtx& g) { g.set_grad(0, g.op("cumsum", {g.grad(0), g.input(1)}, scan_attrs(g, true))); })
    .cpu(scan_kernel<scan::Sum>);

NESTOR_OP("cumprod")
    .shape(scan_shape)
    .grad([](GradCtx& g) {
      g.set_grad(0, g.op("cumprod_grad", {g.input(0), g.grad(0), g.input(1)}, scan_attrs(g, false)));
    })
    .cpu(scan_kernel<scan::Prod>);

// cumprod_grad(x, dy, axis; exclusive, reverse): the gradient of cumprod w.r.t. x (above).
NESTOR_OP("cumprod_grad")
    .shape([](ShapeCtx& c) {
      c.expect_inputs(3);
      c.expect_float(0);
      c.expect_same_dtype(0, 1);
      if (!is_integer(c.dtype(2))) c.fail("axis must be int32 or int64, got ", dtype_name(c.dtype(2)));
      if (!c.shape(0).is_compatible_with(c.shape(1)))
        c.fail("dy of shape ", c.shape(1).str(), " does not match x of shape ", c.shape(0).str());
      c.set_output(0, c.dtype(0), c.shape(0).merge(c.shape(1)));
    })
    .no_grad()
    .cpu([](KernelCtx& ctx) {
      const Tensor& x = ctx.input(0);
      const Tensor& dy = ctx.input(1);
      const scan::Layout l = scan::grad_layout(ctx, x, dy, ctx.input(2));
      Tensor& o = ctx.allocate_output(0, x.dtype(), x.dims());
      if (o.num_elements() == 0) return;
      const bool exclusive = ctx.attr_or<bool>("exclusive", false), reverse = ctx.attr_or<bool>("reverse", false);
      NESTOR_DISPATCH_FLOAT(x.dtype(), "cumprod_grad", [&] {
        using T = scalar_t;
        const T* px = x.data<T>();
        const T* pg = dy.data<T>();
        T* po = o.data<T>();
        const int64_t n = l.n, inner = l.inner;
        auto at = [&](int64_t o_, int64_t t) { return (o_ * n + (reverse ? n - 1 - t : t)) * inner; };
        for_lines(ctx, l, [&](int64_t oi, int64_t c0, int64_t c1) {
          // Backward over the scan order: R.
          const int64_t last = at(oi, n - 1);
          for (int64_t c = c0; c < c1; ++c) po[last + c] = exclusive ? T(0) : pg[last + c];
          for (int64_t t = n - 1; t-- > 0;) {
            const int64_t cur = at(oi, t), next = at(oi, t + 1);
            const T* gs = pg + (exclusive ? next : cur);
            for (int64_t c = c0; c < c1; ++c) po[cur + c] = gs[c] + px[next + c] * po[next + c];
          }
          // Forward: times the exclusive product E.
          std::vector<T> e(static_cast<size_t>(c1 - c0), T(1));
          for (int64_t t = 0; t < n; ++t) {
            const int64_t cur = at(oi, t);
            for (int64_t c = c0; c < c1; ++c) {
              T& ec = e[static_cast<size_t>(c - c0)];
              po[cur + c] *= ec;
              ec *= px[cur + c];
            }
          }
        });
      });
    });

}  // namespace
}  // namespace nestor
