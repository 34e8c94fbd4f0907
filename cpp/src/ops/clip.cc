// Clipping: clip_by_value (broadcast bounds), global_norm, clip_scale and the private
// helpers clip_l2_norm / clip_safe_div that nestor.clip_by_norm and
// nestor.clip_by_global_norm are built from.
//
// Gradients follow TensorFlow: clip_by_value passes dy to t where min <= t <= max and
// to the bound that clipped elsewhere (summed over its broadcast axes).
#include <cmath>

#include "common.h"

namespace nestor {
namespace {

// Offsets of operand `in` for each element of `out` (broadcasting); `in` may equal out.
struct Indexer {
  Indexer(const Dims& out, const Dims& in) : same(out == in), scalar(!same && (out.empty() || in.empty() || num(in) == 1)),
                                             bi(out, in), cols(out.empty() ? 1 : out.back()) {}
  static int64_t num(const Dims& d) {
    int64_t n = 1;
    for (auto v : d) n *= v;
    return n;
  }
  int64_t at(int64_t i) const {
    if (same) return i;
    if (scalar) return 0;
    return bi.row_offset(i / cols) + (i % cols) * bi.inner_stride;
  }
  bool same, scalar;
  ops::BroadcastIndex bi;
  int64_t cols;
};

// Runtime broadcast shape of t and the bounds, which must not grow t (TF's rule).
Dims bounded_dims(KernelCtx& ctx, const Dims& t, const Dims& lo, const Dims& hi) {
  Dims o = ops::broadcast_dims(ctx, ops::broadcast_dims(ctx, t, lo), hi);
  if (o != t)
    ctx.fail(Code::kInvalidArgument, "clip_value_min ", dims_str(lo), " and clip_value_max ", dims_str(hi),
             " must broadcast to the shape of t ", dims_str(t));
  return o;
}

NESTOR_OP("clip_by_value")
    .shape([](ShapeCtx& c) {
      c.expect_inputs(3);
      c.expect_same_dtype(0, 1);
      c.expect_same_dtype(0, 2);
      PartialShape s = ops::broadcast_shapes(c, ops::broadcast_shapes(c, c.shape(0), c.shape(1)), c.shape(2));
      const PartialShape& t = c.shape(0);
      bool grows = s.known_rank() && t.known_rank() && s.rank() != t.rank();
      for (int i = 0; !grows && s.known_rank() && t.known_rank() && i < t.rank(); ++i)
        grows = t.dim(i) >= 0 && s.dim(i) >= 0 && t.dim(i) != s.dim(i);
      if (grows)
        c.fail("clip_value_min ", c.shape(1).str(), " and clip_value_max ", c.shape(2).str(),
               " must broadcast to the shape of t ", c.shape(0).str());
      c.set_output(0, c.dtype(0), c.shape(0));
    })
    .grad([](GradCtx& g) {
      Output t = g.input(0), lo = g.input(1), hi = g.input(2);
      int n = g.op_node("clip_by_value_grad", {g.grad(0), t, lo, hi});
      g.set_grad(0, Output{n, 0});
      g.set_grad(1, g.sum_to(Output{n, 1}, lo));
      g.set_grad(2, g.sum_to(Output{n, 2}, hi));
    })
    .cpu([](KernelCtx& ctx) {
      const Tensor &t = ctx.input(0), &lo = ctx.input(1), &hi = ctx.input(2);
      Dims od = bounded_dims(ctx, t.dims(), lo.dims(), hi.dims());
      Tensor& o = ctx.allocate_output(0, t.dtype(), od);
      Indexer il(od, lo.dims()), ih(od, hi.dims());
      NESTOR_DISPATCH_NUMERIC(t.dtype(), "clip_by_value", [&] {
        const scalar_t *pt = t.data<scalar_t>(), *pl = lo.data<scalar_t>(), *ph = hi.data<scalar_t>();
        scalar_t* po = o.data<scalar_t>();
        ops::parallel_elems(ctx, o.num_elements(), [&](int64_t b, int64_t e) {
          for (int64_t i = b; i < e; ++i) {
            scalar_t v = pt[i], l = pl[il.at(i)], h = ph[ih.at(i)];
            po[i] = v < l ? l : (v > h ? h : v);
          }
        });
      });
    });

// clip_by_value_grad(dy, t, lo, hi) -> (dt, dlo, dhi), all of t's shape.
NESTOR_OP("clip_by_value_grad")
    .shape([](ShapeCtx& c) {
      c.expect_inputs(4);
      for (int i = 1; i < 4; ++i) c.expect_same_dtype(0, i);
      c.expect_float(0);
      for (int i = 0; i < 3; ++i) c.set_output(i, c.dtype(0), c.shape(1));
    })
    .cpu([](KernelCtx& ctx) {
      const Tensor &dy = ctx.input(0), &t = ctx.input(1), &lo = ctx.input(2), &hi = ctx.input(3);
      Dims od = bounded_dims(ctx, t.dims(), lo.dims(), hi.dims());
      if (dy.dims() != od)
        ctx.fail(Code::kInvalidArgument, "dy has shape ", dims_str(dy.dims()), ", expected ", dims_str(od));
      Tensor& dt = ctx.allocate_output(0, t.dtype(), od);
      Tensor& dl = ctx.allocate_output(1, t.dtype(), od);
      Tensor& dh = ctx.allocate_output(2, t.dtype(), od);
      Indexer il(od, lo.dims()), ih(od, hi.dims());
      NESTOR_DISPATCH_FLOAT(t.dtype(), "clip_by_value_grad", [&] {
        const scalar_t *pd = dy.data<scalar_t>(), *pt = t.data<scalar_t>();
        const scalar_t *pl = lo.data<scalar_t>(), *ph = hi.data<scalar_t>();
        scalar_t *a = dt.data<scalar_t>(), *b = dl.data<scalar_t>(), *c = dh.data<scalar_t>();
        ops::parallel_elems(ctx, dt.num_elements(), [&](int64_t s, int64_t e) {
          for (int64_t i = s; i < e; ++i) {
            scalar_t v = pt[i];
            bool below = v < pl[il.at(i)], above = v > ph[ih.at(i)];
            a[i] = below || above ? scalar_t(0) : pd[i];
            b[i] = below ? pd[i] : scalar_t(0);
            c[i] = above ? pd[i] : scalar_t(0);
          }
        });
      });
    });

// clip_safe_div(a, b) = a / b, or 0 where b == 0 (the subgradient used at a zero norm).
NESTOR_OP("clip_safe_div")
    .shape(ops::binary_same_dtype)
    .no_grad()
    .cpu([](KernelCtx& ctx) {
      NESTOR_DISPATCH_FLOAT(ctx.input(0).dtype(), "clip_safe_div", [&] {
        ops::binary_kernel<scalar_t, scalar_t>(ctx, [](scalar_t a, scalar_t b) { return b == 0 ? scalar_t(0) : a / b; });
      });
    });

// global_norm(t_1, ..., t_n) = sqrt(sum_i sum(t_i ** 2)), a scalar.
NESTOR_OP("global_norm")
    .shape([](ShapeCtx& c) {
      if (c.num_inputs() < 1) c.fail("expected at least one input");
      c.expect_float(0);
      for (int i = 1; i < c.num_inputs(); ++i) c.expect_same_dtype(0, i);
      c.set_output(0, c.dtype(0), PartialShape::scalar());
    })
    .grad([](GradCtx& g) {
      // d norm / d t_i = t_i / norm (0 when the norm is 0).
      Output r = g.op("clip_safe_div", {g.grad(0), g.output(0)});
      for (size_t i = 0; i < g.node().inputs.size(); ++i)
        g.set_grad(static_cast<int>(i), g.mul(g.input(static_cast<int>(i)), r));
    })
    .cpu([](KernelCtx& ctx) {
      DType dt = ctx.input(0).dtype();
      Tensor& o = ctx.allocate_output(0, dt, {});
      NESTOR_DISPATCH_FLOAT(dt, "global_norm", [&] {
        double total = 0;
        for (int k = 0; k < ctx.num_inputs(); ++k) {
          const Tensor& t = ctx.input(k);
          const scalar_t* p = t.data<scalar_t>();
          int64_t n = t.num_elements();
          for (int64_t i = 0; i < n; ++i) total += static_cast<double>(p[i]) * static_cast<double>(p[i]);
        }
        o.data<scalar_t>()[0] = static_cast<scalar_t>(std::sqrt(total));
      });
    });

// clip_l2_norm(t; axes) = sqrt(sum(t ** 2, axes, keepdims=True)); no axes: all of them.
NESTOR_OP("clip_l2_norm")
    .shape([](ShapeCtx& c) {
      c.expect_inputs(1);
      c.expect_float(0);
      const PartialShape& s = c.shape(0);
      if (!s.known_rank()) {
        c.set_output(0, c.dtype(0), PartialShape());
        return;
      }
      std::vector<int64_t> axes = c.attr_or<std::vector<int64_t>>("axes", {});
      bool all = !c.node().attrs.has("axes");
      Dims d = s.dims();
      for (size_t i = 0; i < d.size(); ++i) if (all) d[i] = 1;
      for (auto a : axes) d[static_cast<size_t>(ops::normalize_axis(c, a, s.rank()))] = 1;
      c.set_output(0, c.dtype(0), PartialShape(d));
    })
    .grad([](GradCtx& g) {
      g.set_grad(0, g.mul(g.input(0), g.op("clip_safe_div", {g.grad(0), g.output(0)})));
    })
    .cpu([](KernelCtx& ctx) {
      const Tensor& t = ctx.input(0);
      int64_t rank = static_cast<int64_t>(t.dims().size());
      Dims od = t.dims();
      if (!ctx.node().attrs.has("axes")) {
        for (auto& v : od) v = 1;
      } else {
        for (auto a : ctx.attr<std::vector<int64_t>>("axes")) od[static_cast<size_t>(ops::normalize_axis(ctx, a, rank))] = 1;
      }
      Tensor& o = ctx.allocate_output(0, t.dtype(), od);
      NESTOR_DISPATCH_FLOAT(t.dtype(), "clip_l2_norm", [&] {
        std::vector<double> acc(static_cast<size_t>(o.num_elements()), 0.0);
        const scalar_t* p = t.data<scalar_t>();
        Indexer ix(t.dims(), od);
        for (int64_t i = 0; i < t.num_elements(); ++i) {
          double v = static_cast<double>(p[i]);
          acc[static_cast<size_t>(ix.at(i))] += v * v;
        }
        scalar_t* po = o.data<scalar_t>();
        for (size_t i = 0; i < acc.size(); ++i) po[i] = static_cast<scalar_t>(std::sqrt(acc[i]));
      });
    });

// clip_scale(norm, clip_norm) = clip_norm / max(norm, clip_norm): the factor that scales
// a tensor of norm `norm` down to at most `clip_norm`. NaN where norm is inf or NaN
// (as tf.clip_by_global_norm).
NESTOR_OP("clip_scale")
    .shape(ops::binary_same_dtype)
    .grad([](GradCtx& g) {
      Output norm = g.input(0), clip = g.input(1);
      int n = g.op_node("clip_scale_grad", {g.grad(0), norm, clip});
      g.set_grad(0, g.sum_to(Output{n, 0}, norm));
      g.set_grad(1, g.sum_to(Output{n, 1}, clip));
    })
    .cpu([](KernelCtx& ctx) {
      NESTOR_DISPATCH_FLOAT(ctx.input(0).dtype(), "clip_scale", [&] {
        ops::binary_kernel<scalar_t, scalar_t>(ctx, [](scalar_t n, scalar_t c) {
          if (!std::isfinite(n)) return std::numeric_limits<scalar_t>::quiet_NaN();
          return n > c ? c / n : scalar_t(1);
        });
      });
    });

// clip_scale_grad(dy, norm, clip_norm) -> (d norm, d clip_norm), of the broadcast shape.
NESTOR_OP("clip_scale_grad")
    .shape([](ShapeCtx& c) {
      c.expect_inputs(3);
      c.expect_same_dtype(0, 1);
      c.expect_same_dtype(0, 2);
      c.expect_float(0);
      PartialShape s = ops::broadcast_shapes(c, ops::broadcast_shapes(c, c.shape(0), c.shape(1)), c.shape(2));
      c.set_output(0, c.dtype(0), s);
      c.set_output(1, c.dtype(0), s);
    })
    .cpu([](KernelCtx& ctx) {
      const Tensor &dy = ctx.input(0), &nm = ctx.input(1), &cl = ctx.input(2);
      Dims od = ops::broadcast_dims(ctx, ops::broadcast_dims(ctx, dy.dims(), nm.dims()), cl.dims());
      Tensor& dn = ctx.allocate_output(0, dy.dtype(), od);
      Tensor& dc = ctx.allocate_output(1, dy.dtype(), od);
      Indexer id(od, dy.dims()), in(od, nm.dims()), ic(od, cl.dims());
      NESTOR_DISPATCH_FLOAT(dy.dtype(), "clip_scale_grad", [&] {
        const scalar_t *pd = dy.data<scalar_t>(), *pn = nm.data<scalar_t>(), *pc = cl.data<scalar_t>();
        scalar_t *a = dn.data<scalar_t>(), *b = dc.data<scalar_t>();
        for (int64_t i = 0; i < dn.num_elements(); ++i) {
          scalar_t d = pd[id.at(i)], n = pn[in.at(i)], c = pc[ic.at(i)];
          bool clipped = n > c;  // scale = c / n there, 1 elsewhere
          a[i] = clipped ? -d * c / (n * n) : scalar_t(0);
          b[i] = clipped ? d / n : scalar_t(0);
        }
      });
    });

}  // namespace
}  // namespace nestor
