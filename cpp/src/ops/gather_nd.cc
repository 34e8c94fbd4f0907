// N-d indexing: gather_nd(params, indices; batch_dims), scatter_nd(indices, updates, shape;
// batch_dims), tensor_scatter_nd_update(tensor, indices, updates) and
// tensor_scatter_nd_add(tensor, indices, updates); the index layout is in nd_index.h.
//
// Scatters apply the index rows in order, so duplicates add up in index order (scatter_nd,
// tensor_scatter_nd_add) and the last duplicate wins (tensor_scatter_nd_update; TensorFlow
// leaves that order undefined). Indices out of range fail, naming the index row, its values
// and the dimension it misses. Gradients: gather_nd -> scatter_nd of dy; scatter_nd ->
// gather_nd of dy; tensor_scatter_nd_add -> (dy, gather_nd(dy)); tensor_scatter_nd_update ->
// (dy with the updated slices zeroed, gather_nd(dy)), TensorFlow's: with duplicate indices
// every duplicate gets the gradient of the slice, also those that were overwritten.
#include <string>
#include <vector>

#include "common.h"
#include "nd_index.h"
#include "scan_util.h"

namespace nestor {
namespace {

void expect_index(const ShapeCtx& c, int i, const char* what) {
  if (!is_integer(c.dtype(i))) c.fail(what, " must be int32 or int64, got ", dtype_name(c.dtype(i)));
}

// gather_nd's output shape (the scatters' updates shape) from build-time shapes, checking
// what is known.
PartialShape nd_shape(const ShapeCtx& c, const PartialShape& p, const PartialShape& ind, int64_t b, const char* what) {
  if (!ind.known_rank()) return PartialShape();
  if (ind.rank() == 0) c.fail("indices must be at least 1-D, got a scalar");
  if (b < 0 || b >= ind.rank()) c.fail("batch_dims ", b, " must be in [0, rank(indices) = ", ind.rank(), ")");
  const int64_t depth = ind.dim(ind.rank() - 1);
  if (!p.known_rank() || depth < 0) return PartialShape();
  if (b + depth > p.rank())
    c.fail("index depth (the last dimension of indices, shape ", ind.str(), ") ", depth,
           b ? " plus batch_dims " + std::to_string(b) : std::string(), " exceeds the rank ", p.rank(), " of ", what,
           " (shape ", p.str(), ")");
  for (int k = 0; k < b; ++k)
    if (p.dim(k) >= 0 && ind.dim(k) >= 0 && p.dim(k) != ind.dim(k))
      c.fail("the first batch_dims = ", b, " dimensions of ", what, " (shape ", p.str(), ") and indices (shape ",
             ind.str(), ") must be equal");
  Dims out(ind.dims().begin(), ind.dims().end() - 1);
  out.insert(out.end(), p.dims().begin() + b + depth, p.dims().end());
  return PartialShape(out);
}

// The scatters' check of the updates' build-time shape.
void check_updates_shape(const ShapeCtx& c, const PartialShape& want, const PartialShape& got) {
  if (!got.is_compatible_with(want))
    c.fail("updates must have shape ", want.str(), " (indices.shape[:-1] + shape[depth:]), got ", got.str());
}

// scatter_nd's output shape: the value of its shape input when known at build time.
PartialShape shape_input(const ShapeCtx& c, int i) {
  if (const Tensor* t = c.constant(i)) {
    Dims d = t->to_int_vector();
    for (int64_t v : d)
      if (v < 0) c.fail("shape must be non-negative, got ", nd::ints_str(d));
    return PartialShape(d);
  }
  const Node& src = c.graph().node(c.node().inputs[i].node);
  if (src.op == "shape") return c.graph().shape(src.inputs[0]);
  const PartialShape& s = c.shape(i);
  if (s.known_rank() && s.rank() == 1 && s.dim(0) >= 0) return PartialShape::unknown_of_rank(static_cast<int>(s.dim(0)));
  return PartialShape();
}

Attrs batch_attrs(const GradCtx& g) { return Attrs{{"batch_dims", g.attr_or<int64_t>("batch_dims", 0)}}; }

template <typename T>
void assign_rows(KernelCtx& ctx, T* po, const T* pu, const std::vector<int64_t>& off, int64_t slice) {
  const int64_t rows = static_cast<int64_t>(off.size());
  ops::parallel_elems(ctx, slice, [&](int64_t s, int64_t e) {  // columns: rows in order, so the last wins
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t i = s; i < e; ++i) po[off[static_cast<size_t>(r)] + i] = pu[r * slice + i];
  }, std::max<int64_t>(1, 32768 / std::max<int64_t>(rows, 1)));
}

template <typename T>
void add_rows(KernelCtx& ctx, T* po, const T* pu, const std::vector<int64_t>& off, int64_t slice) {
  const int64_t rows = static_cast<int64_t>(off.size());
  ops::parallel_elems(ctx, slice, [&](int64_t s, int64_t e) {  // columns: each sums its rows in order
    for (int64_t r = 0; r < rows; ++r) {
      T* dst = po + off[static_cast<size_t>(r)];
      const T* src = pu + r * slice;
      for (int64_t i = s; i < e; ++i) dst[i] = scan::add(dst[i], src[i]);
    }
  }, std::max<int64_t>(1, 32768 / std::max<int64_t>(rows, 1)));
}

NESTOR_OP("gather_nd")
    .shape([](ShapeCtx& c) {
      c.expect_inputs(2);
      expect_index(c, 1, "indices");
      c.set_output(0, c.dtype(0), nd_shape(c, c.shape(0), c.shape(1), c.attr_or<int64_t>("batch_dims", 0), "params"));
    })
    .grad([](GradCtx& g) {
      Output shape = g.op("shape", {g.input(0)}, Attrs{{"out_type", DType::kInt64}});
      g.set_grad(0, g.op("scatter_nd", {g.input(1), g.grad(0), shape}, batch_attrs(g)));
    })
    .cpu([](KernelCtx& ctx) {
      const Tensor& params = ctx.input(0);
      const Tensor& idx = ctx.input(1);
      const int64_t b = ctx.attr_or<int64_t>("batch_dims", 0);
      const nd::Plan pl = nd::plan(ctx, params.dims(), idx.dims(), b, "params");
      const std::vector<int64_t> off = nd::offsets(ctx, pl, idx, params.dims(), b, "params");
      Tensor& o = ctx.allocate_output(0, params.dtype(), pl.out_dims);
      if (o.num_elements() == 0) return;
      const int64_t rows = pl.total_rows(), slice = pl.slice;
      if (params.dtype() == DType::kString) {
        const std::string* pp = params.data<std::string>();
        std::string* po = o.data<std::string>();
        for (int64_t r = 0; r < rows; ++r)
          for (int64_t i = 0; i < slice; ++i) po[r * slice + i] = pp[off[static_cast<size_t>(r)] + i];
        return;
      }
      const size_t es = dtype_size(params.dtype()), row = static_cast<size_t>(slice) * es;
      const char* pp = static_cast<const char*>(params.raw());
      char* po = static_cast<char*>(o.raw());
      ops::parallel_elems(ctx, rows, [&](int64_t s, int64_t e) {
        for (int64_t r = s; r < e; ++r)
          std::memcpy(po + static_cast<size_t>(r) * row, pp + static_cast<size_t>(off[static_cast<size_t>(r)]) * es, row);
      }, std::max<int64_t>(1, 32768 / std::max<int64_t>(slice, 1)));
    });

NESTOR_OP("scatter_nd")
    .shape([](ShapeCtx& c) {
      c.expect_inputs(3);
      expect_index(c, 0, "indices");
      if (!is_numeric(c.dtype(1))) c.fail("updates must be numeric, got ", dtype_name(c.dtype(1)));
      expect_index(c, 2, "shape");
      if (c.shape(2).known_rank() && c.shape(2).rank() != 1) c.fail("shape must be a vector, got shape ", c.shape(2).str());
      PartialShape out = shape_input(c, 2);
      check_updates_shape(c, nd_shape(c, out, c.shape(0), c.attr_or<int64_t>("batch_dims", 0), "shape"), c.shape(1));
      c.set_output(0, c.dtype(1), out);
    })
    .grad([](GradCtx& g) { g.set_grad(1, g.op("gather_nd", {g.grad(0), g.input(0)}, batch_attrs(g))); })
    .cpu([](KernelCtx& ctx) {
      const Tensor& idx = ctx.input(0);
      const Tensor& upd = ctx.input(1);
      const Dims shape = nd::scatter_shape(ctx, ctx.input(2));
      const int64_t b = ctx.attr_or<int64_t>("batch_dims", 0);
      const nd::Plan pl = nd::plan(ctx, shape, idx.dims(), b, "shape");
      nd::check_updates(ctx, pl, upd);
      const std::vector<int64_t> off = nd::offsets(ctx, pl, idx, shape, b, "shape");
      Tensor& o = ctx.allocate_output(0, upd.dtype(), shape);
      NESTOR_DISPATCH_NUMERIC(upd.dtype(), "scatter_nd", [&] {
        std::fill(o.data<scalar_t>(), o.data<scalar_t>() + o.num_elements(), scalar_t(0));
        add_rows(ctx, o.data<scalar_t>(), upd.data<scalar_t>(), off, pl.slice);
      });
    });

// tensor_scatter_nd_update / _add(tensor, indices, updates): a copy of tensor with the
// addressed slices replaced by / increased by updates.
void tensor_scatter_shape(ShapeCtx& c) {
  c.expect_inputs(3);
  expect_index(c, 1, "indices");
  c.expect_same_dtype(0, 2);
  if (c.node().op == "tensor_scatter_nd_add" && !is_numeric(c.dtype(0)))
    c.fail("tensor must be numeric, got ", dtype_name(c.dtype(0)));
  check_updates_shape(c, nd_shape(c, c.shape(0), c.shape(1), 0, "tensor"), c.shape(2));
  c.set_output(0, c.dtype(0), c.shape(0));
}

template <bool kAdd>
void tensor_scatter_kernel(KernelCtx& ctx) {
  const Tensor& t = ctx.input(0);
  const Tensor& idx = ctx.input(1);
  const Tensor& upd = ctx.input(2);
  const auto checked = nd::tensor_scatter_plan(ctx, t, idx, upd);
  const nd::Plan& pl = checked.first;
  const std::vector<int64_t>& off = checked.second;
  ctx.set_output(0, t.clone(ctx.allocator()));
  Tensor& o = ctx.output(0);
  if constexpr (kAdd) {
    NESTOR_DISPATCH_NUMERIC(t.dtype(), "tensor_scatter_nd_add", [&] {
      add_rows(ctx, o.data<scalar_t>(), upd.data<scalar_t>(), off, pl.slice);
    });
  } else {
    NESTOR_DISPATCH_ALL(t.dtype(), "tensor_scatter_nd_update", [&] {
      assign_rows(ctx, o.data<scalar_t>(), upd.data<scalar_t>(), off, pl.slice);
    });
  }
}

NESTOR_OP("tensor_scatter_nd_update")
    .shape(tensor_scatter_shape)
    .grad([](GradCtx& g) {
      Output d = g.grad(0), idx = g.input(1);
      g.set_grad(0, g.op("tensor_scatter_nd_update", {d, idx, g.zeros_like(g.input(2))}));
      g.set_grad(2, g.op("gather_nd", {d, idx}));
    })
    .cpu(tensor_scatter_kernel<false>);

NESTOR_OP("tensor_scatter_nd_add")
    .shape(tensor_scatter_shape)
    .grad([](GradCtx& g) {
      Output d = g.grad(0);
      g.set_grad(0, d);
      g.set_grad(2, g.op("gather_nd", {d, g.input(1)}));
    })
    .cpu(tensor_scatter_kernel<true>);

}  // namespace
}  // namespace nestor
