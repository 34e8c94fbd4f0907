// top_k(x, k; sorted) -> (values, indices int32) over the last axis, its gradient
// top_k_grad(dy, indices, x), and in_top_k(predictions, targets, k) -> bool.
//
// top_k orders by value, larger first; equal values (+0 and -0 are equal) by index, lower
// first (TensorFlow's rule); NaN ranks above every number (TensorFlow leaves NaN
// undefined). The result is always sorted, also for sorted=False (TensorFlow then allows any
// order). in_top_k is TensorFlow's InTopKV2: a target is in the top k when fewer than k
// predictions of its row are strictly greater than its own (so ties at the boundary are
// in), and the answer is false when the target is out of [0, classes) or any prediction of
// the row is not finite; k may be negative (then nothing is in) or exceed the classes.
#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>

#include "common.h"
#include "top_k_util.h"

namespace nestor {
namespace {

// Whether value a at index ia comes before value b at index ib in top_k's order.
template <typename T>
bool before(T a, int64_t ia, T b, int64_t ib) {
  if constexpr (std::is_floating_point<T>::value) {
    const bool na = std::isnan(a), nb = std::isnan(b);
    if (na || nb) return na && nb ? ia < ib : na;
  }
  return a != b ? a > b : ia < ib;
}

void expect_k(const ShapeCtx& c, int i) {
  if (!is_integer(c.dtype(i))) c.fail("k must be int32 or int64, got ", dtype_name(c.dtype(i)));
  if (c.shape(i).known_rank() && c.shape(i).rank() != 0) c.fail("k must be a scalar, got shape ", c.shape(i).str());
}

NESTOR_OP("top_k")
    .shape([](ShapeCtx& c) {
      c.expect_inputs(2);
      if (!is_numeric(c.dtype(0))) c.fail("input must be numeric, got ", dtype_name(c.dtype(0)));
      expect_k(c, 1);
      const PartialShape& s = c.shape(0);
      if (s.known_rank() && s.rank() == 0) c.fail("input must be >= 1-D, got shape ", s.str());
      int64_t k = -1;
      if (const Tensor* t = c.constant(1)) {
        k = t->scalar_as_int();
        if (k < 0) c.fail("Need k >= 0, got ", k);
        if (s.known_rank() && s.dim(s.rank() - 1) >= 0 && s.dim(s.rank() - 1) < k)
          c.fail("input must have at least k columns. Had ", s.dim(s.rank() - 1), ", needed ", k);
      }
      PartialShape out;
      if (s.known_rank()) {
        Dims d = s.dims();
        d.back() = k;
        out = PartialShape(d);
      }
      c.set_output(0, c.dtype(0), out);
      c.set_output(1, DType::kInt32, out);
    })
    .grad([](GradCtx& g) {
      g.set_grad(0, g.op("top_k_grad", {g.grad(0), g.output(1), g.input(0)}));
    })
    .cpu([](KernelCtx& ctx) {
      const Tensor& x = ctx.input(0);
      const top_k::Layout l = top_k::layout(ctx, x, ctx.input(1));
      const Dims od = top_k::out_dims(x, l.k);
      Tensor& vals = ctx.allocate_output(0, x.dtype(), od);
      Tensor& inds = ctx.allocate_output(1, DType::kInt32, od);
      if (vals.num_elements() == 0) return;
      NESTOR_DISPATCH_NUMERIC(x.dtype(), "top_k", [&] {
        using T = scalar_t;
        const T* px = x.data<T>();
        T* pv = vals.data<T>();
        int32_t* pi = inds.data<int32_t>();
        const int64_t n = l.n, k = l.k;
        ops::parallel_elems(ctx, l.rows, [&](int64_t s, int64_t e) {
          std::vector<int32_t> order(static_cast<size_t>(k == 1 ? 0 : n));
          for (int64_t r = s; r < e; ++r) {
            const T* row = px + r * n;
            auto cmp = [row](int32_t a, int32_t b) { return before(row[a], a, row[b], b); };
            if (k == 1) {  // one pass
              int32_t best = 0;
              for (int32_t j = 1; j < n; ++j)
                if (cmp(j, best)) best = j;
              pi[r] = best;
              pv[r] = row[best];
              continue;
            }
            std::iota(order.begin(), order.end(), 0);
            if (k < n) std::partial_sort(order.begin(), order.begin() + k, order.end(), cmp);
            else std::sort(order.begin(), order.end(), cmp);
            for (int64_t j = 0; j < k; ++j) {
              pi[r * k + j] = order[static_cast<size_t>(j)];
              pv[r * k + j] = row[order[static_cast<size_t>(j)]];
            }
          }
        }, std::max<int64_t>(1, 16384 / std::max<int64_t>(n, 1)));
      });
    });

// top_k_grad(dy, indices, x): zeros of x's shape with dy[r, j] at [r, indices[r, j]].
NESTOR_OP("top_k_grad")
    .shape([](ShapeCtx& c) {
      c.expect_inputs(3);
      c.expect_float(0);
      c.expect_dtype(1, DType::kInt32);
      c.set_output(0, c.dtype(0), c.shape(2));
    })
    .no_grad()
    .cpu([](KernelCtx& ctx) {
      const Tensor& dy = ctx.input(0);
      const Tensor& idx = ctx.input(1);
      const Tensor& x = ctx.input(2);
      const top_k::Layout l = top_k::grad_layout(ctx, dy, idx, x);
      Tensor& o = ctx.allocate_output(0, dy.dtype(), x.dims());
      NESTOR_DISPATCH_FLOAT(dy.dtype(), "top_k_grad", [&] {
        using T = scalar_t;
        T* po = o.data<T>();
        const T* pg = dy.data<T>();
        const int32_t* pi = idx.data<int32_t>();
        std::fill(po, po + o.num_elements(), T(0));
        for (int64_t r = 0; r < l.rows; ++r)
          for (int64_t j = 0; j < l.k; ++j) {
            const int64_t c = pi[r * l.k + j];
            if (c < 0 || c >= l.n)
              ctx.fail(Code::kInvalidArgument, "indices[", r, ", ", j, "] = ", c, " is not in [0, ", l.n, ")");
            po[r * l.n + c] += pg[r * l.k + j];
          }
      });
    });

NESTOR_OP("in_top_k")
    .shape([](ShapeCtx& c) {
      c.expect_inputs(3);
      c.expect_float(0);
      if (!is_integer(c.dtype(1))) c.fail("targets must be int32 or int64, got ", dtype_name(c.dtype(1)));
      expect_k(c, 2);
      const PartialShape& p = c.shape(0);
      const PartialShape& t = c.shape(1);
      if (p.known_rank() && p.rank() != 2) c.fail("predictions must be 2-dimensional, got shape ", p.str());
      if (t.known_rank() && t.rank() != 1) c.fail("targets must be 1-dimensional, got shape ", t.str());
      int64_t b = p.known_rank() ? p.dim(0) : -1, bt = t.known_rank() ? t.dim(0) : -1;
      if (b >= 0 && bt >= 0 && b != bt)
        c.fail("First dimension of predictions ", b, " must match length of targets ", bt);
      c.set_output(0, DType::kBool, PartialShape(Dims{b >= 0 ? b : bt}));
    })
    .no_grad()
    .cpu([](KernelCtx& ctx) {
      const Tensor& pred = ctx.input(0);
      const Tensor& targets = ctx.input(1);
      const int64_t k = top_k::in_top_k_args(ctx, pred, targets, ctx.input(2));
      const int64_t batch = pred.dim(0), classes = pred.dim(1);
      Tensor& o = ctx.allocate_output(0, DType::kBool, {batch});
      NESTOR_DISPATCH_FLOAT(pred.dtype(), "in_top_k", [&] {
        using T = scalar_t;
        NESTOR_DISPATCH_INDEX(targets.dtype(), "in_top_k", [&] {
          const scalar_t* pt = targets.data<scalar_t>();
          const T* pp = pred.data<T>();
          bool* po = o.data<bool>();
          for (int64_t b = 0; b < batch; ++b) {
            const T* row = pp + b * classes;
            const int64_t t = static_cast<int64_t>(pt[b]);
            bool ok = t >= 0 && t < classes && std::isfinite(row[t]);
            int64_t greater = 0;
            for (int64_t c = 0; ok && c < classes; ++c) {
              if (!std::isfinite(row[c])) ok = false;
              else if (row[c] > row[t]) ++greater;
            }
            po[b] = ok && greater < k;
          }
        });
      });
    });

}  // namespace
}  // namespace nestor
