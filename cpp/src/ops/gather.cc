// gather(params, indices; axis, batch_dims) and the helpers its gradient is built from.
// The gradient w.r.t. params along axis 0 is SPARSE (IndexedSlices: rows `indices` of
// shape(params)), so a huge embedding table is never densified; other axes get a dense
// scatter-add (gather_axis_grad).
#include <cmath>
#include <sstream>

#include "common.h"
#include "gather_util.h"

namespace nestor {
namespace {

// "[i, j]": the position of linear element `flat` of a tensor of `dims`.
std::string position_str(const Dims& dims, int64_t flat) {
  Dims pos(dims.size());
  for (size_t k = dims.size(); k-- > 0;) {
    int64_t d = std::max<int64_t>(dims[k], 1);
    pos[k] = flat % d;
    flat /= d;
  }
  std::ostringstream s;
  s << "[";
  for (size_t k = 0; k < pos.size(); ++k) s << (k ? ", " : "") << pos[k];
  s << "]";
  return s.str();
}

// Reads index j of an int32/int64 tensor and checks it lies in [0, limit).
template <typename Ctx>
void check_indices(const Ctx& ctx, const Tensor& idx, int64_t limit, const char* what) {
  int64_t n = idx.num_elements();
  NESTOR_DISPATCH_INDEX(idx.dtype(), what, [&] {
    const scalar_t* p = idx.data<scalar_t>();
    for (int64_t j = 0; j < n; ++j)
      if (p[j] < 0 || p[j] >= limit)
        ctx.fail(Code::kInvalidArgument, what, position_str(idx.dims(), j), " = ", static_cast<int64_t>(p[j]),
                 " is not in [0, ", limit, ")");
  });
}

std::vector<int64_t> index_values(const Tensor& idx) {
  std::vector<int64_t> v(static_cast<size_t>(idx.num_elements()));
  NESTOR_DISPATCH_INDEX(idx.dtype(), "gather", [&] {
    const scalar_t* p = idx.data<scalar_t>();
    for (size_t j = 0; j < v.size(); ++j) v[j] = static_cast<int64_t>(p[j]);
  });
  return v;
}

void expect_index(const ShapeCtx& c, int i, const char* what) {
  if (!is_integer(c.dtype(i))) c.fail(what, " must be int32 or int64, got ", dtype_name(c.dtype(i)));
}

NESTOR_OP("gather")
    .shape([](ShapeCtx& c) {
      c.expect_inputs(2);
      expect_index(c, 1, "indices");
      if (c.attr_or<int64_t>("batch_dims", 0) != 0)
        c.fail("batch_dims must be 0, got ", c.attr_or<int64_t>("batch_dims", 0));
      const PartialShape& p = c.shape(0);
      const PartialShape& ind = c.shape(1);
      if (!p.known_rank() || !ind.known_rank()) {
        if (p.known_rank() && p.rank() == 0) c.fail("params must be at least 1-D, got a scalar");
        c.set_output(0, c.dtype(0), PartialShape());
        return;
      }
      if (p.rank() == 0) c.fail("params must be at least 1-D, got a scalar");
      int64_t axis = ops::normalize_axis(c, c.attr_or<int64_t>("axis", 0), p.rank());
      Dims out(p.dims().begin(), p.dims().begin() + axis);
      out.insert(out.end(), ind.dims().begin(), ind.dims().end());
      out.insert(out.end(), p.dims().begin() + axis + 1, p.dims().end());
      c.set_output(0, c.dtype(0), PartialShape(out));
    })
    .grad([](GradCtx& g) {
      Output params = g.input(0), indices = g.input(1), d = g.grad(0);
      int rank = g.shape(params).rank();
      int64_t axis = g.attr_or<int64_t>("axis", 0);
      if (axis < 0 && rank > 0) axis += rank;
      Output dense_shape = g.op("shape", {params}, Attrs{{"out_type", DType::kInt64}});
      if (axis == 0) {
        Output flat = g.cast(g.reshape(indices, g.const_ints({-1})), DType::kInt64);
        Output values = g.op("collapse_dims_like", {d, indices});
        g.set_sparse_grad(0, flat, values, dense_shape);
        return;
      }
      g.set_grad(0, g.op("gather_axis_grad", {d, indices, dense_shape}, Attrs{{"axis", axis}}));
    })
    .cpu([](KernelCtx& ctx) {
      const Tensor& params = ctx.input(0);
      const Tensor& idx = ctx.input(1);
      if (params.rank() == 0) ctx.fail(Code::kInvalidArgument, "params must be at least 1-D, got a scalar");
      int64_t axis = ops::normalize_axis(ctx, ctx.attr_or<int64_t>("axis", 0), params.rank());
      const Dims& pd = params.dims();
      int64_t outer = 1, inner = 1, limit = pd[static_cast<size_t>(axis)];
      for (int64_t k = 0; k < axis; ++k) outer *= pd[static_cast<size_t>(k)];
      for (size_t k = static_cast<size_t>(axis) + 1; k < pd.size(); ++k) inner *= pd[k];
      check_indices(ctx, idx, limit, "indices");
      Dims out(pd.begin(), pd.begin() + axis);
      out.insert(out.end(), idx.dims().begin(), idx.dims().end());
      out.insert(out.end(), pd.begin() + axis + 1, pd.end());
      Tensor& o = ctx.allocate_output(0, params.dtype(), out);
      std::vector<int64_t> iv = index_values(idx);
      int64_t n = static_cast<int64_t>(iv.size());
      if (o.num_elements() == 0) return;
      if (params.dtype() == DType::kString) {
        const std::string* pp = params.data<std::string>();
        std::string* po = o.data<std::string>();
        for (int64_t a = 0; a < outer; ++a)
          for (int64_t j = 0; j < n; ++j)
            for (int64_t i = 0; i < inner; ++i)
              po[(a * n + j) * inner + i] = pp[(a * limit + iv[static_cast<size_t>(j)]) * inner + i];
        return;
      }
      size_t es = dtype_size(params.dtype());
      const char* pp = static_cast<const char*>(params.raw());
      char* po = static_cast<char*>(o.raw());
      size_t row = static_cast<size_t>(inner) * es;
      ops::parallel_elems(ctx, outer * n, [&](int64_t s, int64_t e) {
        for (int64_t r = s; r < e; ++r) {
          int64_t a = r / n, j = r % n;
          std::memcpy(po + static_cast<size_t>(r) * row,
                      pp + static_cast<size_t>(a * limit + iv[static_cast<size_t>(j)]) * row, row);
        }
      }, std::max<int64_t>(1, 32768 / std::max<int64_t>(inner, 1)));
    });

// collapse_dims_like(x, indices): x with its first rank(indices) dims folded into one,
// i.e. the values of gather's sparse gradient, [num_indices, params.shape[1:]...].
NESTOR_OP("collapse_dims_like")
    .shape([](ShapeCtx& c) {
      c.expect_inputs(2);
      const PartialShape& x = c.shape(0);
      const PartialShape& ind = c.shape(1);
      if (!x.known_rank() || !ind.known_rank()) {
        c.set_output(0, c.dtype(0), PartialShape());
        return;
      }
      int k = ind.rank();
      if (x.rank() < k) c.fail("x of shape ", x.str(), " has fewer dims than indices of shape ", ind.str());
      int64_t lead = 1;
      for (int i = 0; i < k; ++i) {
        int64_t d = ind.dim(i) >= 0 ? ind.dim(i) : x.dim(i);
        lead = (d < 0 || lead < 0) ? -1 : lead * d;
      }
      Dims out{lead};
      out.insert(out.end(), x.dims().begin() + k, x.dims().end());
      c.set_output(0, c.dtype(0), PartialShape(out));
    })
    .grad([](GradCtx& g) { g.set_grad(0, g.reshape(g.grad(0), g.shape_of(g.input(0)))); })
    .cpu(gather_util::collapse_dims_like);

// gather_axis_grad(grad, indices, params_shape; axis): zeros of params_shape with
// grad[a, j, i] added into [a, indices[j], i]; the dense gradient of gather along axis.
NESTOR_OP("gather_axis_grad")
    .shape([](ShapeCtx& c) {
      c.expect_inputs(3);
      c.expect_float(0);
      expect_index(c, 1, "indices");
      expect_index(c, 2, "params_shape");
      const Tensor* t = c.constant(2);
      const Node& src = c.graph().node(c.node().inputs[2].node);
      if (t) c.set_output(0, c.dtype(0), PartialShape(t->to_int_vector()));
      else if (src.op == "shape") c.set_output(0, c.dtype(0), c.graph().shape(src.inputs[0]));
      else c.set_output(0, c.dtype(0), PartialShape());
    })
    .grad([](GradCtx& g) {
      g.set_grad(0, g.op("gather", {g.grad(0), g.input(1)}, Attrs{{"axis", g.attr_or<int64_t>("axis", 0)}}));
    })
    .cpu([](KernelCtx& ctx) {
      const Tensor& d = ctx.input(0);
      const Tensor& idx = ctx.input(1);
      Dims pd = ctx.input(2).to_int_vector();
      int64_t axis = ops::normalize_axis(ctx, ctx.attr_or<int64_t>("axis", 0), static_cast<int64_t>(pd.size()));
      int64_t outer = 1, inner = 1, limit = pd[static_cast<size_t>(axis)];
      for (int64_t k = 0; k < axis; ++k) outer *= pd[static_cast<size_t>(k)];
      for (size_t k = static_cast<size_t>(axis) + 1; k < pd.size(); ++k) inner *= pd[k];
      int64_t n = idx.num_elements();
      if (d.num_elements() != outer * n * inner)
        ctx.fail(Code::kInvalidArgument, "grad of shape ", dims_str(d.dims()), " does not match params ",
                 dims_str(pd), " gathered by indices ", dims_str(idx.dims()), " along axis ", axis);
      check_indices(ctx, idx, limit, "indices");
      std::vector<int64_t> iv = index_values(idx);
      Tensor& o = ctx.allocate_output(0, d.dtype(), pd);
      NESTOR_DISPATCH_FLOAT(d.dtype(), "gather_axis_grad", [&] {
        scalar_t* po = o.data<scalar_t>();
        const scalar_t* pg = d.data<scalar_t>();
        std::fill(po, po + o.num_elements(), scalar_t(0));
        ops::parallel_elems(ctx, outer, [&](int64_t s, int64_t e) {  // rows of different `a` never collide
          for (int64_t a = s; a < e; ++a)
            for (int64_t j = 0; j < n; ++j) {
              scalar_t* dst = po + (a * limit + iv[static_cast<size_t>(j)]) * inner;
              const scalar_t* src = pg + (a * n + j) * inner;
              for (int64_t i = 0; i < inner; ++i) dst[i] += src[i];
            }
        }, 1);
      });
    });

// clip_rows_by_norm(x, max_norm; row_dims): each slice over the last row_dims dims of x
// (one embedding vector) scaled to L2 norm <= max_norm (embedding_lookup's max_norm).
int64_t clip_row_size(const KernelCtx& ctx, const Tensor& x) {
  int64_t k = ctx.attr_or<int64_t>("row_dims", 1);
  if (k < 0 || k > x.rank()) ctx.fail(Code::kInvalidArgument, "row_dims ", k, " is out of range for rank ", x.rank());
  int64_t r = 1;
  for (int i = x.rank() - static_cast<int>(k); i < x.rank(); ++i) r *= x.dim(i);
  return r;
}

NESTOR_OP("clip_rows_by_norm")
    .shape([](ShapeCtx& c) {
      c.expect_inputs(2);
      c.expect_float(0);
      c.expect_same_dtype(0, 1);
      c.set_output(0, c.dtype(0), c.shape(0));
    })
    .grad([](GradCtx& g) {
      g.set_grad(0, g.op("clip_rows_by_norm_grad", {g.grad(0), g.input(0), g.input(1)},
                         Attrs{{"row_dims", g.attr_or<int64_t>("row_dims", 1)}}));
    })
    .cpu([](KernelCtx& ctx) {
      const Tensor& x = ctx.input(0);
      int64_t row = clip_row_size(ctx, x);
      Tensor& o = ctx.allocate_output(0, x.dtype(), x.dims());
      NESTOR_DISPATCH_FLOAT(x.dtype(), "clip_rows_by_norm", [&] {
        const scalar_t* px = x.data<scalar_t>();
        scalar_t* po = o.data<scalar_t>();
        scalar_t m = *ctx.input(1).data<scalar_t>();
        int64_t rows = row ? x.num_elements() / row : 0;
        for (int64_t r = 0; r < rows; ++r) {
          scalar_t n2 = 0;
          for (int64_t j = 0; j < row; ++j) n2 += px[r * row + j] * px[r * row + j];
          scalar_t n = std::sqrt(n2);
          scalar_t s = n > m ? m / n : scalar_t(1);
          for (int64_t j = 0; j < row; ++j) po[r * row + j] = px[r * row + j] * s;
        }
      });
    });

// (g, x, max_norm) -> g for rows within the norm, else (m/n) * (g - x * <x, g> / n^2).
NESTOR_OP("clip_rows_by_norm_grad")
    .shape([](ShapeCtx& c) {
      c.expect_inputs(3);
      c.set_output(0, c.dtype(0), c.shape(1));
    })
    .no_grad()
    .cpu([](KernelCtx& ctx) {
      const Tensor& gt = ctx.input(0);
      const Tensor& x = ctx.input(1);
      int64_t row = clip_row_size(ctx, x);
      Tensor& o = ctx.allocate_output(0, x.dtype(), x.dims());
      NESTOR_DISPATCH_FLOAT(x.dtype(), "clip_rows_by_norm_grad", [&] {
        const scalar_t* px = x.data<scalar_t>();
        const scalar_t* pg = gt.data<scalar_t>();
        scalar_t* po = o.data<scalar_t>();
        scalar_t m = *ctx.input(2).data<scalar_t>();
        int64_t rows = row ? x.num_elements() / row : 0;
        for (int64_t r = 0; r < rows; ++r) {
          const scalar_t* xr = px + r * row;
          const scalar_t* gr = pg + r * row;
          scalar_t n2 = 0, xg = 0;
          for (int64_t j = 0; j < row; ++j) {
            n2 += xr[j] * xr[j];
            xg += xr[j] * gr[j];
          }
          scalar_t n = std::sqrt(n2);
          for (int64_t j = 0; j < row; ++j)
            po[r * row + j] = n > m ? (m / n) * (gr[j] - xr[j] * xg / n2) : gr[j];
        }
      });
    });

}  // namespace
}  // namespace nestor
