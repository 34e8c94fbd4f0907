// Segment reductions, the fused sparse-segment lookups behind embedding_lookup_sparse
// (whose gradient w.r.t. the table is SPARSE: only looked-up rows), and SparseTensor
// ops (sparse_tensor_dense_matmul, sparse_tensor_to_dense, sparse_reorder).
//
// Combiners: attr "combiner" is "sum", "mean" (1/count) or "sqrtn" (1/sqrt(count)).
// segment_gather_grad(g, ids) = g[ids] * scale(count[ids]) is the adjoint of the
// segment reductions and unsorted_segment_sum(..., combiner) the adjoint of it.
#include <cmath>
#include <numeric>
#include <sstream>

#include "common.h"
#include "sparse_util.h"

namespace nestor {
namespace {

using sparse_util::Comb;
using sparse_util::combiner;
using sparse_util::check_seg_range;
using sparse_util::check_sparse_segment;
using sparse_util::Segments;
using sparse_util::sorted_segments;
using sparse_util::sparse_segments;
using sparse_util::unsorted_segments;
using sparse_util::ints;
using sparse_util::row_size;
using sparse_util::sparse_indices;
using sparse_util::SpMM;

struct ShapeFail {  // ShapeCtx::fail without a Code, for shared helpers
  const ShapeCtx& c;
  template <typename T>
  T attr_or(const std::string& n, T d) const { return c.attr_or<T>(n, d); }
  template <typename... A>
  [[noreturn]] void fail(Code, const A&... a) const { c.fail(a...); }
};

const char* comb_name(Comb c) { return c == Comb::kSum ? "sum" : c == Comb::kMean ? "mean" : "sqrtn"; }

template <typename T>
T scale_of(Comb c, int64_t count) {
  if (c == Comb::kSum || count == 0) return T(1);
  if (c == Comb::kMean) return T(1) / static_cast<T>(count);
  return T(1) / std::sqrt(static_cast<T>(count));
}

void expect_index(const ShapeCtx& c, int i, const char* what) {
  if (!is_integer(c.dtype(i))) c.fail(what, " must be int32 or int64, got ", dtype_name(c.dtype(i)));
}

// A scalar int input known at build time (else -1).
int64_t const_scalar(const ShapeCtx& c, int i) {
  const Tensor* t = c.constant(i);
  return t && t->num_elements() == 1 ? t->scalar_as_int() : -1;
}

// Dims [n] + x[k:].
PartialShape rows_then(int64_t n, const PartialShape& x, int k) {
  if (!x.known_rank()) return PartialShape();
  Dims out{n};
  out.insert(out.end(), x.dims().begin() + std::min(k, x.rank()), x.dims().end());
  return PartialShape(out);
}

// out[ids[i]] += scale * data[rows[i]] for every i (ids < 0 dropped); out has num rows.
template <typename T>
void segment_accumulate(KernelCtx& ctx, const Tensor& data, const std::vector<int64_t>& rows,
                        const std::vector<int64_t>& ids, const T* weights, int64_t num, Comb comb, Tensor& out,
                        int64_t inner) {
  std::vector<int64_t> count(static_cast<size_t>(num), 0);
  for (int64_t s : ids)
    if (s >= 0) ++count[static_cast<size_t>(s)];
  T* po = out.data<T>();
  const T* pd = data.data<T>();
  std::fill(po, po + out.num_elements(), T(0));
  for (size_t i = 0; i < ids.size(); ++i) {
    int64_t s = ids[i];
    if (s < 0) continue;
    int64_t r = rows.empty() ? static_cast<int64_t>(i) : rows[i];
    T w = (weights ? weights[i] : T(1)) * scale_of<T>(comb, count[static_cast<size_t>(s)]);
    const T* src = pd + r * inner;
    T* dst = po + s * inner;
    for (int64_t j = 0; j < inner; ++j) dst[j] += w * src[j];
  }
}

// ---------------------------------------------------------------- segment_* (sorted ids)
void segment_shape(ShapeCtx& c, Comb comb) {
  c.expect_inputs(2);
  if (comb == Comb::kSum ? !is_numeric(c.dtype(0)) : !is_floating(c.dtype(0)))
    c.fail("data must be ", comb == Comb::kSum ? "numeric" : "float32 or float64", ", got ", dtype_name(c.dtype(0)));
  expect_index(c, 1, "segment_ids");
  c.expect_rank(1, 1);
  const PartialShape& d = c.shape(0);
  const PartialShape& s = c.shape(1);
  if (d.known_rank() && d.rank() == 0) c.fail("data must be at least 1-D, got a scalar");
  if (d.known_rank() && s.known_rank() && d.dim(0) >= 0 && s.dim(0) >= 0 && d.dim(0) != s.dim(0))
    c.fail("segment_ids of shape ", s.str(), " should have as many entries as data of shape ", d.str(), " has rows");
  int64_t n = -1;
  if (const Tensor* t = c.constant(1)) n = t->num_elements() ? t->scalar_as_int(t->num_elements() - 1) + 1 : 0;
  c.set_output(0, c.dtype(0), rows_then(n, d, 1));
}

void segment_kernel(KernelCtx& ctx, Comb comb) {
  const Tensor& data = ctx.input(0);
  Segments s = sorted_segments(ctx, data, ctx.input(1));
  Tensor& o = ctx.allocate_output(0, data.dtype(), s.out);
  NESTOR_DISPATCH_NUMERIC(data.dtype(), ctx.node().op, [&] {
    segment_accumulate<scalar_t>(ctx, data, {}, s.ids, nullptr, s.num, comb, o, row_size(data.dims(), 1));
  });
}

void segment_grad(GradCtx& g, Comb comb) {
  g.set_grad(0, g.op("segment_gather_grad", {g.grad(0), g.input(1)}, Attrs{{"combiner", std::string(comb_name(comb))}}));
}

NESTOR_OP("segment_sum")
    .shape([](ShapeCtx& c) { segment_shape(c, Comb::kSum); })
    .grad([](GradCtx& g) { segment_grad(g, Comb::kSum); })
    .cpu([](KernelCtx& ctx) { segment_kernel(ctx, Comb::kSum); });
NESTOR_OP("segment_mean")
    .shape([](ShapeCtx& c) { segment_shape(c, Comb::kMean); })
    .grad([](GradCtx& g) { segment_grad(g, Comb::kMean); })
    .cpu([](KernelCtx& ctx) { segment_kernel(ctx, Comb::kMean); });
NESTOR_OP("segment_sqrt_n")
    .shape([](ShapeCtx& c) { segment_shape(c, Comb::kSqrtn); })
    .grad([](GradCtx& g) { segment_grad(g, Comb::kSqrtn); })
    .cpu([](KernelCtx& ctx) { segment_kernel(ctx, Comb::kSqrtn); });

// ---------------------------------------------------------------- unsorted_segment_sum
// unsorted_segment_sum(data, segment_ids, num_segments; combiner="sum"): segment_ids
// has the shape of a prefix of data's; negative ids are dropped (as TF).
NESTOR_OP("unsorted_segment_sum")
    .shape([](ShapeCtx& c) {
      c.expect_inputs(3);
      Comb comb = combiner(ShapeFail{c});
      if (comb == Comb::kSum ? !is_numeric(c.dtype(0)) : !is_floating(c.dtype(0)))
        c.fail("data must be numeric, got ", dtype_name(c.dtype(0)));
      expect_index(c, 1, "segment_ids");
      expect_index(c, 2, "num_segments");
      const PartialShape& d = c.shape(0);
      const PartialShape& s = c.shape(1);
      if (d.known_rank() && s.known_rank()) {
        bool ok = s.rank() <= d.rank();
        for (int i = 0; ok && i < s.rank(); ++i)
          ok = d.dim(i) < 0 || s.dim(i) < 0 || d.dim(i) == s.dim(i);
        if (!ok) c.fail("segment_ids of shape ", s.str(), " must be a prefix of data's shape ", d.str());
      }
      c.set_output(0, c.dtype(0), rows_then(const_scalar(c, 2), d, s.known_rank() ? s.rank() : 0));
      if (!s.known_rank()) c.set_output(0, c.dtype(0), PartialShape());
    })
    .grad([](GradCtx& g) {
      g.set_grad(0, g.op("segment_gather_grad", {g.grad(0), g.input(1)},
                         Attrs{{"combiner", g.attr_or<std::string>("combiner", "sum")}}));
    })
    .cpu([](KernelCtx& ctx) {
      const Tensor& data = ctx.input(0);
      const Tensor& sid = ctx.input(1);
      Comb comb = combiner(ctx);
      Segments s = unsorted_segments(ctx, data, sid, ctx.input(2));
      Tensor& o = ctx.allocate_output(0, data.dtype(), s.out);
      NESTOR_DISPATCH_NUMERIC(data.dtype(), "unsorted_segment_sum", [&] {
        segment_accumulate<scalar_t>(ctx, data, {}, s.ids, nullptr, s.num, comb, o,
                                     row_size(data.dims(), static_cast<size_t>(sid.rank())));
      });
    });

// dim_size(x; axis): x.shape[axis] as an int64 scalar.
NESTOR_OP("dim_size")
    .shape([](ShapeCtx& c) {
      c.expect_inputs(1);
      c.set_output(0, DType::kInt64, PartialShape::scalar());
    })
    .no_grad()
    .cpu([](KernelCtx& ctx) {
      const Tensor& x = ctx.input(0);
      int64_t a = ops::normalize_axis(ctx, ctx.attr_or<int64_t>("axis", 0), x.rank());
      ctx.allocate_output(0, DType::kInt64, {}).data<int64_t>()[0] = x.dim(static_cast<int>(a));
    });

// segment_gather_grad(g, segment_ids; combiner): out[i...] = g[ids[i...]] * scale(count)
// (0 where ids < 0), shape ids.shape + g.shape[1:]; counts are taken over ids.
NESTOR_OP("segment_gather_grad")
    .shape([](ShapeCtx& c) {
      c.expect_inputs(2);
      c.expect_float(0);
      expect_index(c, 1, "segment_ids");
      combiner(ShapeFail{c});
      const PartialShape& g = c.shape(0);
      const PartialShape& s = c.shape(1);
      if (!g.known_rank() || !s.known_rank()) {
        c.set_output(0, c.dtype(0), PartialShape());
        return;
      }
      Dims out = s.dims();
      out.insert(out.end(), g.dims().begin() + std::min(1, g.rank()), g.dims().end());
      c.set_output(0, c.dtype(0), PartialShape(out));
    })
    .grad([](GradCtx& g) {
      Output n = g.op("dim_size", {g.input(0)}, Attrs{{"axis", int64_t{0}}});
      g.set_grad(0, g.op("unsorted_segment_sum", {g.grad(0), g.input(1), n},
                         Attrs{{"combiner", g.attr_or<std::string>("combiner", "sum")}}));
    })
    .cpu([](KernelCtx& ctx) {
      const Tensor& gt = ctx.input(0);
      const Tensor& sid = ctx.input(1);
      std::vector<int64_t> ids = ints(sid, "segment_ids");
      Comb comb = combiner(ctx);
      if (gt.rank() == 0) ctx.fail(Code::kInvalidArgument, "grad must be at least 1-D");
      int64_t num = gt.dim(0);
      std::vector<int64_t> count(static_cast<size_t>(num), 0);
      for (size_t i = 0; i < ids.size(); ++i) {
        if (ids[i] >= num)
          ctx.fail(Code::kInvalidArgument, "segment_ids[", i, "] = ", ids[i], " is out of range [0, ", num, ")");
        if (ids[i] >= 0) ++count[static_cast<size_t>(ids[i])];
      }
      Dims od = sid.dims();
      od.insert(od.end(), gt.dims().begin() + 1, gt.dims().end());
      Tensor& o = ctx.allocate_output(0, gt.dtype(), od);
      int64_t inner = row_size(gt.dims(), 1);
      NESTOR_DISPATCH_FLOAT(gt.dtype(), "segment_gather_grad", [&] {
        const scalar_t* pg = gt.data<scalar_t>();
        scalar_t* po = o.data<scalar_t>();
        ops::parallel_elems(ctx, static_cast<int64_t>(ids.size()), [&](int64_t b, int64_t e) {
          for (int64_t i = b; i < e; ++i) {
            int64_t s = ids[static_cast<size_t>(i)];
            scalar_t* dst = po + i * inner;
            if (s < 0) {
              std::fill(dst, dst + inner, scalar_t(0));
              continue;
            }
            scalar_t w = scale_of<scalar_t>(comb, count[static_cast<size_t>(s)]);
            for (int64_t j = 0; j < inner; ++j) dst[j] = w * pg[s * inner + j];
          }
        }, std::max<int64_t>(1, 32768 / std::max<int64_t>(inner, 1)));
      });
    });

// ---------------------------------------------------------------- sparse_segment_*
// sparse_segment_<comb>(data, indices, segment_ids[, num_segments]):
// out[s] = comb over {i: segment_ids[i] = s} of data[indices[i]]. Rows: num_segments,
// else max(segment_ids) + 1. The gradient w.r.t. data is sparse (rows `indices`).
void sparse_segment_shape(ShapeCtx& c) {
  c.expect_inputs(3, 4);
  c.expect_float(0);
  expect_index(c, 1, "indices");
  expect_index(c, 2, "segment_ids");
  c.expect_rank(1, 1);
  c.expect_rank(2, 1);
  if (c.num_inputs() == 4) expect_index(c, 3, "num_segments");
  const PartialShape& d = c.shape(0);
  if (d.known_rank() && d.rank() == 0) c.fail("data must be at least 1-D, got a scalar");
  const PartialShape& a = c.shape(1);
  const PartialShape& b = c.shape(2);
  if (a.known_rank() && b.known_rank() && a.dim(0) >= 0 && b.dim(0) >= 0 && a.dim(0) != b.dim(0))
    c.fail("indices of shape ", a.str(), " and segment_ids of shape ", b.str(), " must have the same length");
  c.set_output(0, c.dtype(0), rows_then(c.num_inputs() == 4 ? const_scalar(c, 3) : -1, d, 1));
}

void sparse_segment_kernel(KernelCtx& ctx, Comb comb) {
  const Tensor& data = ctx.input(0);
  std::vector<int64_t> idx;
  Segments s = sparse_segments(ctx, idx);
  Tensor& o = ctx.allocate_output(0, data.dtype(), s.out);
  NESTOR_DISPATCH_FLOAT(data.dtype(), ctx.node().op, [&] {
    segment_accumulate<scalar_t>(ctx, data, idx, s.ids, nullptr, s.num, comb, o, row_size(data.dims(), 1));
  });
}

void sparse_segment_grad(GradCtx& g, Comb comb) {
  Output values = g.op("segment_gather_grad", {g.grad(0), g.input(2)}, Attrs{{"combiner", std::string(comb_name(comb))}});
  g.set_sparse_grad(0, g.cast(g.input(1), DType::kInt64), values,
                    g.op("shape", {g.input(0)}, Attrs{{"out_type", DType::kInt64}}));
}

NESTOR_OP("sparse_segment_sum")
    .shape(sparse_segment_shape)
    .grad([](GradCtx& g) { sparse_segment_grad(g, Comb::kSum); })
    .cpu([](KernelCtx& ctx) { sparse_segment_kernel(ctx, Comb::kSum); });
NESTOR_OP("sparse_segment_mean")
    .shape(sparse_segment_shape)
    .grad([](GradCtx& g) { sparse_segment_grad(g, Comb::kMean); })
    .cpu([](KernelCtx& ctx) { sparse_segment_kernel(ctx, Comb::kMean); });
NESTOR_OP("sparse_segment_sqrt_n")
    .shape(sparse_segment_shape)
    .grad([](GradCtx& g) { sparse_segment_grad(g, Comb::kSqrtn); })
    .cpu([](KernelCtx& ctx) { sparse_segment_kernel(ctx, Comb::kSqrtn); });

// sparse_segment_weighted_sum(data, indices, weights, segment_ids, num_segments):
// out[s] = sum over {i: segment_ids[i] = s} of weights[i] * data[indices[i]].
NESTOR_OP("sparse_segment_weighted_sum")
    .shape([](ShapeCtx& c) {
      c.expect_inputs(5);
      c.expect_float(0);
      c.expect_same_dtype(0, 2);
      expect_index(c, 1, "indices");
      expect_index(c, 3, "segment_ids");
      expect_index(c, 4, "num_segments");
      for (int i : {1, 2, 3}) c.expect_rank(i, 1);
      c.set_output(0, c.dtype(0), rows_then(const_scalar(c, 4), c.shape(0), 1));
    })
    .grad([](GradCtx& g) {
      int n = g.op_node("sparse_segment_weighted_sum_grad", {g.grad(0), g.input(0), g.input(1), g.input(2), g.input(3)});
      g.set_sparse_grad(0, g.cast(g.input(1), DType::kInt64), Output{n, 0},
                        g.op("shape", {g.input(0)}, Attrs{{"out_type", DType::kInt64}}));
      g.set_grad(2, Output{n, 1});
    })
    .cpu([](KernelCtx& ctx) {
      const Tensor& data = ctx.input(0);
      if (data.rank() == 0) ctx.fail(Code::kInvalidArgument, "data must be at least 1-D, got a scalar");
      std::vector<int64_t> idx = ints(ctx.input(1), "indices"), seg = ints(ctx.input(3), "segment_ids");
      if (ctx.input(2).num_elements() != static_cast<int64_t>(idx.size()))
        ctx.fail(Code::kInvalidArgument, "weights has ", ctx.input(2).num_elements(), " entries but indices has ",
                 idx.size());
      int64_t num = ctx.input(4).scalar_as_int();
      if (num < 0) ctx.fail(Code::kInvalidArgument, "num_segments must be >= 0, got ", num);
      check_sparse_segment(ctx, data.dim(0), idx, seg, num);
      Dims od = data.dims();
      od[0] = num;
      Tensor& o = ctx.allocate_output(0, data.dtype(), od);
      NESTOR_DISPATCH_FLOAT(data.dtype(), "sparse_segment_weighted_sum", [&] {
        segment_accumulate<scalar_t>(ctx, data, idx, seg, ctx.input(2).data<scalar_t>(), num, Comb::kSum, o,
                                     row_size(data.dims(), 1));
      });
    });

// (g, data, indices, weights, segment_ids) -> (values = g[seg[i]] * w[i], dweights[i] = <g[seg[i]], data[indices[i]]>).
NESTOR_OP("sparse_segment_weighted_sum_grad")
    .shape([](ShapeCtx& c) {
      c.expect_inputs(5);
      c.set_output(0, c.dtype(0), rows_then(c.shape(2).known_rank() ? c.shape(2).dim(0) : -1, c.shape(1), 1));
      c.set_output(1, c.dtype(0), c.shape(3));
    })
    .no_grad()
    .cpu([](KernelCtx& ctx) {
      const Tensor& gt = ctx.input(0);
      const Tensor& data = ctx.input(1);
      std::vector<int64_t> idx = ints(ctx.input(2), "indices"), seg = ints(ctx.input(4), "segment_ids");
      int64_t n = static_cast<int64_t>(idx.size()), inner = row_size(data.dims(), 1);
      Dims vd = data.dims();
      vd[0] = n;
      Tensor& v = ctx.allocate_output(0, gt.dtype(), vd);
      Tensor& dw = ctx.allocate_output(1, gt.dtype(), {n});
      NESTOR_DISPATCH_FLOAT(gt.dtype(), "sparse_segment_weighted_sum_grad", [&] {
        const scalar_t* pg = gt.data<scalar_t>();
        const scalar_t* pd = data.data<scalar_t>();
        const scalar_t* pw = ctx.input(3).data<scalar_t>();
        scalar_t* pv = v.data<scalar_t>();
        scalar_t* pdw = dw.data<scalar_t>();
        for (int64_t i = 0; i < n; ++i) {
          const scalar_t* gr = pg + seg[static_cast<size_t>(i)] * inner;
          const scalar_t* dr = pd + idx[static_cast<size_t>(i)] * inner;
          scalar_t acc = 0;
          for (int64_t j = 0; j < inner; ++j) {
            pv[i * inner + j] = gr[j] * pw[i];
            acc += gr[j] * dr[j];
          }
          pdw[i] = acc;
        }
      });
    });

// segment_normalize_weights(weights, segment_ids, num_segments; combiner):
// w[i] / sum_seg(w) ("mean") or w[i] / sqrt(sum_seg(w^2)) ("sqrtn"); 0 where the sum is 0.
template <typename T>
std::vector<T> weight_norms(const T* w, const std::vector<int64_t>& seg, int64_t num, Comb comb) {
  std::vector<T> s(static_cast<size_t>(num), T(0));
  for (size_t i = 0; i < seg.size(); ++i) s[static_cast<size_t>(seg[i])] += comb == Comb::kMean ? w[i] : w[i] * w[i];
  if (comb == Comb::kSqrtn)
    for (auto& x : s) x = std::sqrt(x);
  return s;
}

NESTOR_OP("segment_normalize_weights")
    .shape([](ShapeCtx& c) {
      c.expect_inputs(3);
      c.expect_float(0);
      expect_index(c, 1, "segment_ids");
      if (combiner(ShapeFail{c}, "mean") == Comb::kSum) c.fail("combiner must be 'mean' or 'sqrtn'");
      c.set_output(0, c.dtype(0), c.shape(0));
    })
    .grad([](GradCtx& g) {
      g.set_grad(0, g.op("segment_normalize_weights_grad", {g.grad(0), g.input(0), g.input(1), g.input(2)},
                         Attrs{{"combiner", g.attr_or<std::string>("combiner", "mean")}}));
    })
    .cpu([](KernelCtx& ctx) {
      const Tensor& w = ctx.input(0);
      std::vector<int64_t> seg = ints(ctx.input(1), "segment_ids");
      int64_t num = ctx.input(2).scalar_as_int();
      Comb comb = combiner(ctx, "mean");
      if (w.num_elements() != static_cast<int64_t>(seg.size()))
        ctx.fail(Code::kInvalidArgument, "weights has ", w.num_elements(), " entries but segment_ids has ", seg.size());
      check_seg_range(ctx, seg, num);
      Tensor& o = ctx.allocate_output(0, w.dtype(), w.dims());
      NESTOR_DISPATCH_FLOAT(w.dtype(), "segment_normalize_weights", [&] {
        const scalar_t* pw = w.data<scalar_t>();
        auto s = weight_norms(pw, seg, num, comb);
        for (size_t i = 0; i < seg.size(); ++i) {
          scalar_t d = s[static_cast<size_t>(seg[i])];
          o.data<scalar_t>()[i] = d == scalar_t(0) ? scalar_t(0) : pw[i] / d;
        }
      });
    });

// Gradient of segment_normalize_weights: with S the segment's norm and t = sum_seg(g*w),
// mean: g/S - t/S^2; sqrtn: g/S - w*t/S^3.
NESTOR_OP("segment_normalize_weights_grad")
    .shape([](ShapeCtx& c) {
      c.expect_inputs(4);
      c.set_output(0, c.dtype(1), c.shape(1));
    })
    .no_grad()
    .cpu([](KernelCtx& ctx) {
      const Tensor& w = ctx.input(1);
      std::vector<int64_t> seg = ints(ctx.input(2), "segment_ids");
      int64_t num = ctx.input(3).scalar_as_int();
      Comb comb = combiner(ctx, "mean");
      check_seg_range(ctx, seg, num);
      Tensor& o = ctx.allocate_output(0, w.dtype(), w.dims());
      NESTOR_DISPATCH_FLOAT(w.dtype(), "segment_normalize_weights_grad", [&] {
        const scalar_t* pw = w.data<scalar_t>();
        const scalar_t* pg = ctx.input(0).data<scalar_t>();
        auto s = weight_norms(pw, seg, num, comb);
        std::vector<scalar_t> t(static_cast<size_t>(num), scalar_t(0));
        for (size_t i = 0; i < seg.size(); ++i) t[static_cast<size_t>(seg[i])] += pg[i] * pw[i];
        for (size_t i = 0; i < seg.size(); ++i) {
          scalar_t S = s[static_cast<size_t>(seg[i])], ti = t[static_cast<size_t>(seg[i])];
          scalar_t r = 0;
          if (S != scalar_t(0))
            r = comb == Comb::kMean ? pg[i] / S - ti / (S * S) : pg[i] / S - pw[i] * ti / (S * S * S);
          o.data<scalar_t>()[i] = r;
        }
      });
    });

// ---------------------------------------------------------------- SparseTensor ops
// A SparseTensor is (indices int64 [N, R], values [N], dense_shape int64 [R]).

// sparse_tensor_dense_matmul(sp_indices, sp_values, dense_shape, b; adjoint_a, adjoint_b,
// transpose_output): P = op(A) @ op(B) with A sparse [rows, cols]; returns P (or P^T
// when the private attr transpose_output is set, used by the gradient; attributes in SpMM).
NESTOR_OP("sparse_tensor_dense_matmul")
    .shape([](ShapeCtx& c) {
      c.expect_inputs(4);
      expect_index(c, 0, "sp_indices");
      expect_index(c, 2, "dense_shape");
      c.expect_float(1);
      c.expect_same_dtype(1, 3);
      c.expect_rank(0, 2);
      c.expect_rank(1, 1);
      c.expect_rank(3, 2);
      SpMM a(c.node());
      int64_t m = -1, ka = -1;
      if (const Tensor* t = c.constant(2)) {
        Dims d = t->to_int_vector();
        if (d.size() != 2) c.fail("dense_shape must have 2 entries, got ", dims_str(d));
        m = a.adj_a ? d[1] : d[0];
        ka = a.adj_a ? d[0] : d[1];
      }
      const PartialShape& b = c.shape(3);
      int64_t kb = -1, n = -1;
      if (b.known_rank()) {
        kb = a.adj_b ? b.dim(1) : b.dim(0);
        n = a.adj_b ? b.dim(0) : b.dim(1);
      }
      if (ka >= 0 && kb >= 0 && ka != kb)
        c.fail("cannot multiply A of dense_shape ", dims_str(c.constant(2)->to_int_vector()), " by b of shape ",
               b.str(), a.adj_a || a.adj_b ? " (after adjoints)" : "");
      c.set_output(0, c.dtype(1), PartialShape(a.tout ? Dims{n, m} : Dims{m, n}));
    })
    .grad([](GradCtx& g) {
      SpMM a(g.node());
      Output d = g.grad(0);
      g.set_grad(1, g.op("sparse_tensor_dense_matmul_values_grad", {g.input(0), d, g.input(3)},
                         Attrs{{"adjoint_a", a.adj_a}, {"adjoint_b", a.adj_b}, {"transpose_output", a.tout}}));
      g.set_grad(3, g.op("sparse_tensor_dense_matmul", {g.input(0), g.input(1), g.input(2), d},
                         Attrs{{"adjoint_a", !a.adj_a}, {"adjoint_b", a.tout}, {"transpose_output", a.adj_b}}));
    })
    .cpu([](KernelCtx& ctx) {
      SpMM a(ctx.node());
      const Tensor& vals = ctx.input(1);
      const Tensor& b = ctx.input(3);
      Dims shape = ctx.input(2).to_int_vector();
      if (shape.size() != 2) ctx.fail(Code::kInvalidArgument, "dense_shape must have 2 entries, got ", dims_str(shape));
      if (vals.rank() != 1) ctx.fail(Code::kInvalidArgument, "sp_values must be 1-D, got ", dims_str(vals.dims()));
      if (b.rank() != 2) ctx.fail(Code::kInvalidArgument, "b must be 2-D, got ", dims_str(b.dims()));
      int64_t nnz = vals.dim(0);
      std::vector<int64_t> ind = sparse_indices(ctx, ctx.input(0), shape, nnz);
      int64_t m = a.adj_a ? shape[1] : shape[0], k = a.adj_a ? shape[0] : shape[1];
      int64_t kb = a.adj_b ? b.dim(1) : b.dim(0), n = a.adj_b ? b.dim(0) : b.dim(1);
      if (k != kb)
        ctx.fail(Code::kInvalidArgument, "cannot multiply A of dense_shape ", dims_str(shape), " by b of shape ",
                 dims_str(b.dims()), a.adj_a || a.adj_b ? " (after adjoints)" : "");
      Tensor& o = ctx.allocate_output(0, vals.dtype(), a.tout ? Dims{n, m} : Dims{m, n});
      NESTOR_DISPATCH_FLOAT(vals.dtype(), "sparse_tensor_dense_matmul", [&] {
        const scalar_t* pv = vals.data<scalar_t>();
        const scalar_t* pb = b.data<scalar_t>();
        scalar_t* po = o.data<scalar_t>();
        std::fill(po, po + o.num_elements(), scalar_t(0));
        int64_t bs = b.dim(1);
        for (int64_t p = 0; p < nnz; ++p) {
          int64_t r = ind[static_cast<size_t>(2 * p)], cc = ind[static_cast<size_t>(2 * p + 1)];
          int64_t i = a.adj_a ? cc : r, kk = a.adj_a ? r : cc;
          scalar_t v = pv[p];
          for (int64_t j = 0; j < n; ++j) {
            scalar_t bv = a.adj_b ? pb[j * bs + kk] : pb[kk * bs + j];
            (a.tout ? po[j * m + i] : po[i * n + j]) += v * bv;
          }
        }
      });
    });

// d sp_values[p] = sum_j G[i_p, j] * op(B)[k_p, j], G the gradient of P (see above).
NESTOR_OP("sparse_tensor_dense_matmul_values_grad")
    .shape([](ShapeCtx& c) {
      c.expect_inputs(3);
      const PartialShape& ind = c.shape(0);
      c.set_output(0, c.dtype(1), PartialShape(Dims{ind.known_rank() ? ind.dim(0) : -1}));
    })
    .no_grad()
    .cpu([](KernelCtx& ctx) {
      SpMM a(ctx.node());
      const Tensor& ind = ctx.input(0);
      const Tensor& gt = ctx.input(1);
      const Tensor& b = ctx.input(2);
      int64_t nnz = ind.dim(0);
      std::vector<int64_t> iv = ints(ind, "sp_indices");
      int64_t n = a.adj_b ? b.dim(0) : b.dim(1), bs = b.dim(1);
      int64_t gs = gt.dim(1);
      Tensor& o = ctx.allocate_output(0, gt.dtype(), {nnz});
      NESTOR_DISPATCH_FLOAT(gt.dtype(), "sparse_tensor_dense_matmul_values_grad", [&] {
        const scalar_t* pg = gt.data<scalar_t>();
        const scalar_t* pb = b.data<scalar_t>();
        for (int64_t p = 0; p < nnz; ++p) {
          int64_t r = iv[static_cast<size_t>(2 * p)], cc = iv[static_cast<size_t>(2 * p + 1)];
          int64_t i = a.adj_a ? cc : r, kk = a.adj_a ? r : cc;
          scalar_t acc = 0;
          for (int64_t j = 0; j < n; ++j) {
            scalar_t bv = a.adj_b ? pb[j * bs + kk] : pb[kk * bs + j];
            acc += (a.tout ? pg[j * gs + i] : pg[i * gs + j]) * bv;
          }
          o.data<scalar_t>()[p] = acc;
        }
      });
    });

// Linear position of each index row; fails on out-of-order/duplicate rows when `ordered`.
std::vector<int64_t> linear_positions(KernelCtx& ctx, const std::vector<int64_t>& ind, const Dims& shape,
                                      int64_t n, bool ordered) {
  size_t r = shape.size();
  std::vector<int64_t> lin(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    int64_t p = 0;
    for (size_t k = 0; k < r; ++k) p = p * shape[k] + ind[static_cast<size_t>(i) * r + k];
    lin[static_cast<size_t>(i)] = p;
    if (ordered && i > 0 && p <= lin[static_cast<size_t>(i - 1)])
      ctx.fail(Code::kInvalidArgument, "sp_indices[", i, "] is ", p == lin[static_cast<size_t>(i - 1)] ?
               "repeated" : "out of order", " (use sparse.reorder to sort a SparseTensor)");
  }
  return lin;
}

// sparse_tensor_to_dense(sp_indices, sp_values, dense_shape, default_value; validate_indices).
NESTOR_OP("sparse_tensor_to_dense")
    .shape([](ShapeCtx& c) {
      c.expect_inputs(4);
      expect_index(c, 0, "sp_indices");
      expect_index(c, 2, "dense_shape");
      c.expect_same_dtype(1, 3);
      c.expect_rank(0, 2);
      c.expect_rank(3, 0);
      const Tensor* t = c.constant(2);
      const PartialShape& ds = c.shape(2);
      if (t) c.set_output(0, c.dtype(1), PartialShape(t->to_int_vector()));
      else if (ds.known_rank() && ds.dim(0) >= 0) c.set_output(0, c.dtype(1), PartialShape::unknown_of_rank(static_cast<int>(ds.dim(0))));
      else c.set_output(0, c.dtype(1), PartialShape());
    })
    .grad([](GradCtx& g) {
      int n = g.op_node("sparse_tensor_to_dense_grad", {g.input(0), g.grad(0)});
      g.set_grad(1, Output{n, 0});
      g.set_grad(3, Output{n, 1});
    })
    .cpu([](KernelCtx& ctx) {
      const Tensor& vals = ctx.input(1);
      Dims shape = ctx.input(2).to_int_vector();
      int64_t n = vals.num_elements();
      std::vector<int64_t> ind = sparse_indices(ctx, ctx.input(0), shape, n);
      std::vector<int64_t> lin = linear_positions(ctx, ind, shape, n, ctx.attr_or<bool>("validate_indices", true));
      Tensor& o = ctx.allocate_output(0, vals.dtype(), shape);
      if (vals.dtype() == DType::kString) {
        std::string* po = o.data<std::string>();
        std::fill(po, po + o.num_elements(), *ctx.input(3).data<std::string>());
        for (int64_t i = 0; i < n; ++i) po[lin[static_cast<size_t>(i)]] = vals.data<std::string>()[i];
        return;
      }
      NESTOR_DISPATCH_POD(vals.dtype(), "sparse_tensor_to_dense", [&] {
        scalar_t* po = o.data<scalar_t>();
        std::fill(po, po + o.num_elements(), *ctx.input(3).data<scalar_t>());
        for (int64_t i = 0; i < n; ++i) po[lin[static_cast<size_t>(i)]] = vals.data<scalar_t>()[i];
      });
    });

// (sp_indices, g) -> (g at each index, sum(g) - sum of those): the gradients of
// sparse_tensor_to_dense w.r.t. sp_values and default_value.
NESTOR_OP("sparse_tensor_to_dense_grad")
    .shape([](ShapeCtx& c) {
      c.expect_inputs(2);
      c.set_output(0, c.dtype(1), PartialShape(Dims{c.shape(0).known_rank() ? c.shape(0).dim(0) : -1}));
      c.set_output(1, c.dtype(1), PartialShape::scalar());
    })
    .no_grad()
    .cpu([](KernelCtx& ctx) {
      const Tensor& gt = ctx.input(1);
      int64_t n = ctx.input(0).dim(0);
      std::vector<int64_t> ind = sparse_indices(ctx, ctx.input(0), gt.dims(), n);
      std::vector<int64_t> lin = linear_positions(ctx, ind, gt.dims(), n, false);
      Tensor& v = ctx.allocate_output(0, gt.dtype(), {n});
      Tensor& d = ctx.allocate_output(1, gt.dtype(), {});
      NESTOR_DISPATCH_FLOAT(gt.dtype(), "sparse_tensor_to_dense_grad", [&] {
        const scalar_t* pg = gt.data<scalar_t>();
        std::vector<char> hit(static_cast<size_t>(gt.num_elements()), 0);
        for (int64_t i = 0; i < n; ++i) {
          v.data<scalar_t>()[i] = pg[lin[static_cast<size_t>(i)]];
          hit[static_cast<size_t>(lin[static_cast<size_t>(i)])] = 1;
        }
        scalar_t total = 0;
        for (int64_t j = 0; j < gt.num_elements(); ++j)
          if (!hit[static_cast<size_t>(j)]) total += pg[j];
        *d.data<scalar_t>() = total;
      });
    });

// Stable row-major order of a SparseTensor's entries.
std::vector<int64_t> reorder_perm(KernelCtx& ctx, const Tensor& ind, const Dims& shape, int64_t n) {
  std::vector<int64_t> iv = sparse_indices(ctx, ind, shape, n);
  std::vector<int64_t> lin = linear_positions(ctx, iv, shape, n, false);
  std::vector<int64_t> perm(static_cast<size_t>(n));
  std::iota(perm.begin(), perm.end(), int64_t{0});
  std::stable_sort(perm.begin(), perm.end(),
                   [&](int64_t x, int64_t y) { return lin[static_cast<size_t>(x)] < lin[static_cast<size_t>(y)]; });
  return perm;
}

// sparse_reorder(sp_indices, sp_values, dense_shape) -> (indices, values) in row-major order.
NESTOR_OP("sparse_reorder")
    .shape([](ShapeCtx& c) {
      c.expect_inputs(3);
      expect_index(c, 0, "sp_indices");
      c.set_output(0, DType::kInt64, c.shape(0));
      c.set_output(1, c.dtype(1), c.shape(1));
    })
    .grad([](GradCtx& g) {
      g.set_grad(1, g.op("sparse_reorder_grad", {g.input(0), g.input(2), g.grad(1)}));
    })
    .cpu([](KernelCtx& ctx) {
      const Tensor& ind = ctx.input(0);
      const Tensor& vals = ctx.input(1);
      Dims shape = ctx.input(2).to_int_vector();
      int64_t n = vals.num_elements();
      std::vector<int64_t> perm = reorder_perm(ctx, ind, shape, n);
      std::vector<int64_t> iv = ints(ind, "sp_indices");
      size_t r = shape.size();
      Tensor& oi = ctx.allocate_output(0, DType::kInt64, ind.dims());
      Tensor& ov = ctx.allocate_output(1, vals.dtype(), vals.dims());
      for (int64_t j = 0; j < n; ++j)
        for (size_t k = 0; k < r; ++k)
          oi.data<int64_t>()[static_cast<size_t>(j) * r + k] = iv[static_cast<size_t>(perm[static_cast<size_t>(j)]) * r + k];
      NESTOR_DISPATCH_ALL(vals.dtype(), "sparse_reorder", [&] {
        for (int64_t j = 0; j < n; ++j) ov.data<scalar_t>()[j] = vals.data<scalar_t>()[perm[static_cast<size_t>(j)]];
      });
    });

// (sp_indices, dense_shape, g) -> gradient w.r.t. the input values: g[j] goes to perm[j].
NESTOR_OP("sparse_reorder_grad")
    .shape([](ShapeCtx& c) {
      c.expect_inputs(3);
      c.set_output(0, c.dtype(2), c.shape(2));
    })
    .no_grad()
    .cpu([](KernelCtx& ctx) {
      const Tensor& gt = ctx.input(2);
      int64_t n = gt.num_elements();
      std::vector<int64_t> perm = reorder_perm(ctx, ctx.input(0), ctx.input(1).to_int_vector(), n);
      Tensor& o = ctx.allocate_output(0, gt.dtype(), gt.dims());
      NESTOR_DISPATCH_FLOAT(gt.dtype(), "sparse_reorder_grad", [&] {
        for (int64_t j = 0; j < n; ++j) o.data<scalar_t>()[perm[static_cast<size_t>(j)]] = gt.data<scalar_t>()[j];
      });
    });

}  // namespace
}  // namespace nestor
