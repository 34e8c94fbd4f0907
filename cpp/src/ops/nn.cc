// softmax / log_softmax along an axis and their gradients, the losses with logits
// (sparse_softmax_cross_entropy_with_logits, softmax_cross_entropy_with_logits,
// sigmoid_cross_entropy_with_logits) and bias_add. Everything that exponentiates shifts
// by the maximum first, so logits of any magnitude give finite results.
#include <cmath>
#include <limits>
#include <vector>

#include "common.h"
#include "fast_math.h"

namespace nestor {
namespace {

using ops::parallel_elems;

// The lanes along `axis`: element r of lane q is at (q / B) * R * B + q % B + r * B.
struct Lanes {
  int64_t A = 1, R = 1, B = 1;
  int64_t count() const { return A * B; }
  int64_t offset(int64_t q) const { return (q / B) * R * B + q % B; }
};

Lanes lanes_of(const KernelCtx& ctx, const Dims& d, int64_t axis_attr) {
  if (d.empty()) ctx.fail(Code::kInvalidArgument, "input must have rank >= 1, got a scalar");
  int64_t axis = ops::normalize_axis(ctx, axis_attr, static_cast<int64_t>(d.size()));
  Lanes l;
  for (int64_t i = 0; i < axis; ++i) l.A *= d[static_cast<size_t>(i)];
  l.R = d[static_cast<size_t>(axis)];
  for (size_t i = static_cast<size_t>(axis) + 1; i < d.size(); ++i) l.B *= d[i];
  return l;
}

// Runs f(offset, stride, q) for every lane, in parallel; the stride is a compile-time 1
// for the last axis so the contiguous loops vectorize.
template <typename F>
void for_each_lane(KernelCtx& ctx, const Lanes& l, F f) {
  int64_t grain = std::max<int64_t>(1, 8192 / std::max<int64_t>(l.R, 1));
  if (l.B == 1) {
    parallel_elems(ctx, l.count(), [&](int64_t s, int64_t e) {
      for (int64_t q = s; q < e; ++q) f(q * l.R, std::integral_constant<int64_t, 1>(), q);
    }, grain);
  } else {
    parallel_elems(ctx, l.count(), [&](int64_t s, int64_t e) {
      for (int64_t q = s; q < e; ++q) f(l.offset(q), l.B, q);
    }, grain);
  }
}

template <typename T, typename S>
T lane_max(const T* p, int64_t R, S st) {
  T m = -std::numeric_limits<T>::infinity();
  for (int64_t r = 0; r < R; ++r) m = p[r * st] > m ? p[r * st] : m;
  return m;
}

void softmax_shape(ShapeCtx& c) {
  c.expect_inputs(1);
  c.expect_float(0);
  const PartialShape& s = c.shape(0);
  if (s.known_rank()) {
    if (s.rank() < 1) c.fail("logits must have rank >= 1, got a scalar");
    ops::normalize_axis(c, c.attr_or<int64_t>("axis", -1), s.rank());
  }
  c.set_output(0, c.dtype(0), s);
}

template <bool kLog>
void softmax_kernel(KernelCtx& ctx) {
  const Tensor& x = ctx.input(0);
  Lanes l = lanes_of(ctx, x.dims(), ctx.attr_or<int64_t>("axis", -1));
  Tensor& o = ctx.allocate_output(0, x.dtype(), x.dims());
  NESTOR_DISPATCH_FLOAT(x.dtype(), ctx.node().op, [&] {
    using T = scalar_t;
    const T* px = x.data<T>();
    T* po = o.data<T>();
    for_each_lane(ctx, l, [&](int64_t off, auto st, int64_t) {
      const T* p = px + off;
      T* y = po + off;
      T m = lane_max(p, l.R, st);
      T s = 0;
      for (int64_t r = 0; r < l.R; ++r) {
        T e = std::exp(p[r * st] - m);
        if (!kLog) y[r * st] = e;
        s += e;
      }
      if (kLog) {
        T ls = std::log(s);  // (x - m) - log(s): exact in the shift, whatever the magnitude of m
        for (int64_t r = 0; r < l.R; ++r) y[r * st] = (p[r * st] - m) - ls;
      } else {
        T inv = T(1) / s;
        for (int64_t r = 0; r < l.R; ++r) y[r * st] *= inv;
      }
    });
  });
}

NESTOR_OP("softmax").shape(softmax_shape).cpu(softmax_kernel<false>).grad([](GradCtx& g) {
  g.set_grad(0, g.op("softmax_grad", {g.grad(0), g.output(0)}, Attrs{{"axis", g.attr_or<int64_t>("axis", -1)}}));
});
NESTOR_OP("log_softmax").shape(softmax_shape).cpu(softmax_kernel<true>).grad([](GradCtx& g) {
  g.set_grad(0, g.op("log_softmax_grad", {g.grad(0), g.output(0)}, Attrs{{"axis", g.attr_or<int64_t>("axis", -1)}}));
});

void same_shape_pair(ShapeCtx& c, const char* what) {
  c.expect_same_dtype(0, 1);
  c.expect_float(0);
  if (!c.shape(0).is_compatible_with(c.shape(1)))
    c.fail(what, " must have the same shape, got ", c.shape(0).str(), " and ", c.shape(1).str());
}

void check_same_dims(const KernelCtx& ctx, const Tensor& a, const Tensor& b, const char* what) {
  if (a.dims() != b.dims())
    ctx.fail(Code::kInvalidArgument, what, " must have the same shape, got ", dims_str(a.dims()), " and ",
             dims_str(b.dims()));
}

// softmax_grad(dy, y; axis) = (dy - sum(dy * y)) * y; log_softmax_grad(dy, y) = dy - exp(y) * sum(dy).
template <bool kLog>
void softmax_grad_kernel(KernelCtx& ctx) {
  const Tensor& dy = ctx.input(0);
  const Tensor& y = ctx.input(1);
  check_same_dims(ctx, dy, y, "dy and y");
  Lanes l = lanes_of(ctx, y.dims(), ctx.attr_or<int64_t>("axis", -1));
  Tensor& o = ctx.allocate_output(0, y.dtype(), y.dims());
  NESTOR_DISPATCH_FLOAT(y.dtype(), ctx.node().op, [&] {
    using T = scalar_t;
    const T* pd = dy.data<T>();
    const T* py = y.data<T>();
    T* po = o.data<T>();
    for_each_lane(ctx, l, [&](int64_t off, auto st, int64_t) {
      T s = 0;
      for (int64_t r = 0; r < l.R; ++r) s += kLog ? pd[off + r * st] : pd[off + r * st] * py[off + r * st];
      for (int64_t r = 0; r < l.R; ++r) {
        int64_t i = off + r * st;
        po[i] = kLog ? pd[i] - std::exp(py[i]) * s : (pd[i] - s) * py[i];
      }
    });
  });
}

void softmax_grad_shape(ShapeCtx& c) {
  c.expect_inputs(2);
  same_shape_pair(c, "dy and y");
  c.set_output(0, c.dtype(0), c.shape(0).merge(c.shape(1)));
}

NESTOR_OP("softmax_grad").shape(softmax_grad_shape).cpu(softmax_grad_kernel<false>);
NESTOR_OP("log_softmax_grad").shape(softmax_grad_shape).cpu(softmax_grad_kernel<true>);

// ---------------------------------------------------------------- softmax cross entropy
// softmax_cross_entropy_with_logits(logits, labels; axis) -> (loss, backprop):
// loss = sum(-labels * log_softmax(logits)), backprop = softmax(logits) * sum(labels) - labels
// (the gradient of loss w.r.t. logits; softmax - labels when each lane of labels sums to 1).
NESTOR_OP("softmax_cross_entropy_with_logits")
    .shape([](ShapeCtx& c) {
      c.expect_inputs(2);
      same_shape_pair(c, "logits and labels");
      PartialShape s = c.shape(0).merge(c.shape(1));
      PartialShape loss;
      if (s.known_rank()) {
        if (s.rank() < 1) c.fail("logits must have rank >= 1, got a scalar");
        Dims d = s.dims();
        d.erase(d.begin() + ops::normalize_axis(c, c.attr_or<int64_t>("axis", -1), s.rank()));
        loss = PartialShape(d);
      }
      c.set_output(0, c.dtype(0), loss);
      c.set_output(1, c.dtype(0), s);
    })
    .grad([](GradCtx& g) {
      int64_t axis = g.attr_or<int64_t>("axis", -1);
      Output logits = g.input(0);
      Output gb = g.op("broadcast_reduced", {g.grad(0), g.shape_of(logits), g.const_ints({axis})});
      g.set_grad(0, g.mul(g.output(1), gb));
      Output lsm = g.op("log_softmax", {logits}, Attrs{{"axis", axis}});
      g.set_grad(1, g.mul(g.mul(lsm, gb), g.scalar(-1, g.dtype(logits))));
    })
    .cpu([](KernelCtx& ctx) {
      const Tensor& x = ctx.input(0);
      const Tensor& z = ctx.input(1);
      check_same_dims(ctx, x, z, "logits and labels");
      int64_t axis = ctx.attr_or<int64_t>("axis", -1);
      Lanes l = lanes_of(ctx, x.dims(), axis);
      Dims ld = x.dims();
      ld.erase(ld.begin() + ops::normalize_axis(ctx, axis, x.rank()));
      Tensor& loss = ctx.allocate_output(0, x.dtype(), ld);
      Tensor& bp = ctx.allocate_output(1, x.dtype(), x.dims());
      NESTOR_DISPATCH_FLOAT(x.dtype(), ctx.node().op, [&] {
        using T = scalar_t;
        const T* px = x.data<T>();
        const T* pz = z.data<T>();
        T* pl = loss.data<T>();
        T* pb = bp.data<T>();
        for_each_lane(ctx, l, [&](int64_t off, auto st, int64_t q) {
          T m = lane_max(px + off, l.R, st);
          T s = 0, zsum = 0;
          for (int64_t r = 0; r < l.R; ++r) {
            s += std::exp(px[off + r * st] - m);
            zsum += pz[off + r * st];
          }
          T ls = std::log(s), acc = 0;
          for (int64_t r = 0; r < l.R; ++r) {
            int64_t i = off + r * st;
            T lsm = (px[i] - m) - ls;  // log_softmax
            if (pz[i] != T(0)) acc -= pz[i] * lsm;
            pb[i] = std::exp(lsm) * zsum - pz[i];
          }
          pl[q] = acc;
        });
      });
    });

// Rows [s, e) of sparse_softmax_cross_entropy_with_logits (kernel below); KC: the class count
// when fixed at compile time, 0 for C at run time.
template <int KC, typename T, typename I>
void sparse_xent_rows(const T* px, const I* pz, T* pl, T* pb, int64_t s, int64_t e, int64_t c_rt) {
  const int64_t C = KC ? KC : c_rt;
  for (int64_t q = s; q < e; ++q) {
    const T* p = px + q * C;
    T* b = pb + q * C;
    const T m = lane_max(p, C, 1);
    for (int64_t r = 0; r < C; ++r) b[r] = p[r] - m;
    pl[q] = -b[static_cast<int64_t>(pz[q])];
  }
  ops::exp_inplace(pb + s * C, (e - s) * C);
  // The row sums are logged as one vector, then added to the loss (the buffer is kept per
  // thread: no allocation per step).
  thread_local std::vector<T> sums;
  sums.resize(static_cast<size_t>(e - s));
  T* sm = sums.data();
  for (int64_t q = s; q < e; ++q) {
    const T* b = pb + q * C;
    T sum = 0;
    for (int64_t r = 0; r < C; ++r) sum += b[r];
    sm[q - s] = sum;
  }
  for (int64_t q = s; q < e; ++q) {
    T* b = pb + q * C;
    const T inv = T(1) / sm[q - s];
    for (int64_t r = 0; r < C; ++r) b[r] *= inv;
    b[static_cast<int64_t>(pz[q])] -= T(1);
  }
  ops::log_inplace(sm, e - s);
  for (int64_t q = s; q < e; ++q) pl[q] += sm[q - s];
}

// sparse_softmax_cross_entropy_with_logits(logits [..., C], labels [...]) -> (loss, backprop):
// loss = logsumexp(logits) - logits[label], backprop = softmax(logits) - onehot(label).
NESTOR_OP("sparse_softmax_cross_entropy_with_logits")
    .shape([](ShapeCtx& c) {
      c.expect_inputs(2);
      c.expect_float(0);
      if (!is_integer(c.dtype(1))) c.fail("labels must be int32 or int64, got ", dtype_name(c.dtype(1)));
      const PartialShape& x = c.shape(0);
      const PartialShape& z = c.shape(1);
      if (x.known_rank() && x.rank() < 1) c.fail("logits must have rank >= 1, got a scalar");
      PartialShape loss = z;
      if (x.known_rank()) {
        PartialShape lead(Dims(x.dims().begin(), x.dims().end() - 1));
        if (!lead.is_compatible_with(z))
          c.fail("logits and labels must have the same leading dimensions (labels rank one less than logits), got "
                 "logits shape ", x.str(), " and labels shape ", z.str());
        loss = lead.merge(z);
      }
      c.set_output(0, c.dtype(0), loss);
      c.set_output(1, c.dtype(0), x);
    })
    .grad([](GradCtx& g) {
      Output gb = g.op("broadcast_reduced", {g.grad(0), g.shape_of(g.input(0)), g.const_ints({-1})});
      g.set_grad(0, g.mul(g.output(1), gb));
    })
    .cpu([](KernelCtx& ctx) {
      const Tensor& x = ctx.input(0);
      const Tensor& z = ctx.input(1);
      check_sparse_labels(ctx, x, z);
      int64_t C = x.dims().back(), N = z.num_elements();
      Tensor& loss = ctx.allocate_output(0, x.dtype(), z.dims());
      Tensor& bp = ctx.allocate_output(1, x.dtype(), x.dims());
      NESTOR_DISPATCH_FLOAT(x.dtype(), ctx.node().op, [&] {
        using T = scalar_t;
        const T* px = x.data<T>();
        T* pl = loss.data<T>();
        T* pb = bp.data<T>();
        NESTOR_DISPATCH_INDEX(z.dtype(), ctx.node().op, [&] {
          const scalar_t* pz = z.data<scalar_t>();
          // Per block of rows: shift by the row max, one contiguous (vectorized) exp over the
          // block, then normalize. loss = log(sum) - (x[label] - max). Class counts up to 8
          // run with C known at compile time (iris has 3): the row loops unroll completely.
          parallel_elems(ctx, N, [&](int64_t s, int64_t e) {
            switch (C) {
              case 2: sparse_xent_rows<2>(px, pz, pl, pb, s, e, C); break;
              case 3: sparse_xent_rows<3>(px, pz, pl, pb, s, e, C); break;
              case 4: sparse_xent_rows<4>(px, pz, pl, pb, s, e, C); break;
              case 5: sparse_xent_rows<5>(px, pz, pl, pb, s, e, C); break;
              case 6: sparse_xent_rows<6>(px, pz, pl, pb, s, e, C); break;
              case 7: sparse_xent_rows<7>(px, pz, pl, pb, s, e, C); break;
              case 8: sparse_xent_rows<8>(px, pz, pl, pb, s, e, C); break;
              default: sparse_xent_rows<0>(px, pz, pl, pb, s, e, C); break;
            }
          }, std::max<int64_t>(1, 8192 / std::max<int64_t>(C, 1)));
        });
      });
    });

// ---------------------------------------------------------------- sigmoid cross entropy
// max(x, 0) - x * z + log(1 + exp(-|x|)).
NESTOR_OP("sigmoid_cross_entropy_with_logits")
    .shape([](ShapeCtx& c) {
      c.expect_inputs(2);
      same_shape_pair(c, "logits and labels");
      c.set_output(0, c.dtype(0), c.shape(0).merge(c.shape(1)));
    })
    .grad([](GradCtx& g) {
      Output x = g.input(0), d = g.grad(0);
      g.set_grad(0, g.op("sigmoid_cross_entropy_with_logits_grad", {x, g.input(1), d}));
      g.set_grad(1, g.mul(g.mul(d, x), g.scalar(-1, g.dtype(x))));
    })
    .cpu([](KernelCtx& ctx) {
      check_same_dims(ctx, ctx.input(0), ctx.input(1), "logits and labels");
      NESTOR_DISPATCH_FLOAT(ctx.input(0).dtype(), ctx.node().op, [&] {
        using T = scalar_t;
        ops::binary_kernel<T, T>(ctx, [](T x, T z) {
          return (x > T(0) ? x : T(0)) - x * z + std::log1p(std::exp(-std::abs(x)));
        });
      });
    });

// sigmoid_cross_entropy_with_logits_grad(x, z, dy) = dy * (sigmoid(x) - z).
NESTOR_OP("sigmoid_cross_entropy_with_logits_grad")
    .shape([](ShapeCtx& c) {
      c.expect_inputs(3);
      same_shape_pair(c, "logits and labels");
      c.expect_same_dtype(0, 2);
      c.set_output(0, c.dtype(0), c.shape(0));
    })
    .cpu([](KernelCtx& ctx) {
      const Tensor& x = ctx.input(0);
      check_same_dims(ctx, x, ctx.input(1), "logits and labels");
      check_same_dims(ctx, x, ctx.input(2), "logits and dy");
      Tensor& o = ctx.allocate_output(0, x.dtype(), x.dims());
      NESTOR_DISPATCH_FLOAT(x.dtype(), ctx.node().op, [&] {
        using T = scalar_t;
        const T* px = x.data<T>();
        const T* pz = ctx.input(1).data<T>();
        const T* pd = ctx.input(2).data<T>();
        T* po = o.data<T>();
        parallel_elems(ctx, x.num_elements(), [&](int64_t s, int64_t e) {
          for (int64_t i = s; i < e; ++i) {
            T v = px[i];
            T sig = v >= T(0) ? T(1) / (T(1) + std::exp(-v)) : std::exp(v) / (T(1) + std::exp(v));
            po[i] = pd[i] * (sig - pz[i]);
          }
        });
      });
    });

// ---------------------------------------------------------------- bias_add
// bias_add(value [..., C], bias [C]; data_format "NHWC"): bias added along the last axis.
NESTOR_OP("bias_add")
    .shape([](ShapeCtx& c) {
      c.expect_inputs(2);
      c.expect_same_dtype(0, 1);
      if (!is_numeric(c.dtype(0))) c.fail("value must be numeric, got ", dtype_name(c.dtype(0)));
      std::string fmt = c.attr_or<std::string>("data_format", "NHWC");
      if (fmt != "NHWC" && fmt != "N..C")
        c.fail("data_format must be NHWC (the bias is added along the last axis), got ", fmt);
      const PartialShape& v = c.shape(0);
      const PartialShape& b = c.shape(1);
      if (v.known_rank() && v.rank() < 2) c.fail("value must be at least 2-D, got shape ", v.str());
      c.expect_rank(1, 1);
      if (v.known_rank() && b.known_rank()) {
        int64_t cv = v.dim(v.rank() - 1), cb = b.dim(0);
        if (cv >= 0 && cb >= 0 && cv != cb)
          c.fail("bias of shape ", b.str(), " does not match the last dimension of value of shape ", v.str());
        if (cv < 0 && cb >= 0) {
          Dims d = v.dims();
          d.back() = cb;
          return c.set_output(0, c.dtype(0), PartialShape(d));
        }
      }
      c.set_output(0, c.dtype(0), v);
    })
    .grad([](GradCtx& g) {
      Output d = g.grad(0);
      g.set_grad(0, d);
      g.set_grad(1, g.op("bias_add_grad", {d}));
    })
    .cpu([](KernelCtx& ctx) {
      const Tensor& v = ctx.input(0);
      const Tensor& b = ctx.input(1);
      if (v.rank() < 2 || b.rank() != 1 || b.dim(0) != v.dims().back())
        ctx.fail(Code::kInvalidArgument, "bias of shape ", dims_str(b.dims()),
                 " must be 1-D and match the last dimension of value of shape ", dims_str(v.dims()),
                 " (value at least 2-D)");
      Tensor& o = ctx.allocate_output(0, v.dtype(), v.dims());
      int64_t C = b.dim(0);
      int64_t N = C ? v.num_elements() / C : 0;
      if (N == 0) return;
      // The bias repeated over G rows (G * C >= 64 elements), so each group of G rows is one
      // long contiguous loop that vectorizes even when C is 3 or 10.
      const int64_t G = (64 + C - 1) / C;
      NESTOR_DISPATCH_NUMERIC(v.dtype(), "bias_add", [&] {
        const scalar_t* pv = v.data<scalar_t>();
        const scalar_t* pb = b.data<scalar_t>();
        scalar_t* po = o.data<scalar_t>();
        std::vector<scalar_t> row(static_cast<size_t>(G * C));
        for (int64_t g = 0; g < G; ++g) std::copy(pb, pb + C, row.begin() + g * C);
        const scalar_t* pr = row.data();
        parallel_elems(ctx, (N + G - 1) / G, [&](int64_t s, int64_t e) {
          for (int64_t q = s; q < e; ++q) {
            int64_t off = q * G * C, len = std::min(G, N - q * G) * C;
            for (int64_t j = 0; j < len; ++j) po[off + j] = pv[off + j] + pr[j];
          }
        }, std::max<int64_t>(1, 32768 / (G * C)));
      });
    });

}  // namespace
}  // namespace nestor
