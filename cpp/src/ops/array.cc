// Array manipulation: concat, split, stack, unstack, expand_dims, squeeze, transpose,
// fill, range and one_hot, plus their helpers concat_offset and invert_permutation.
// Slicing, padding, tiling, broadcasting and reversal live in slice.cc.

#include "array_util.h"
#include "common.h"

namespace nestor {
namespace {

using ops::AxisParts;
using ops::check_perm;
using ops::normalize_axis;
using ops::parallel_elems;
using ops::prod;
using ops::range_size;
using ops::split_sizes;
using ops::squeeze_dims;

std::string shapes_str(const ShapeCtx& c) {
  std::string s;
  for (int i = 0; i < c.num_inputs(); ++i) s += (i ? ", " : "") + c.shape(i).str();
  return s;
}

// Copies `outer` rows: row o of each source i (chunk[i] elements) goes, in order, into
// row o of the destination. Concat and stack are this; split and unstack its inverse.
template <typename T>
void interleave(KernelCtx& ctx, const std::vector<const T*>& src, const Dims& chunk, T* dst, int64_t outer) {
  int64_t row = 0;
  for (auto c : chunk) row += c;
  parallel_elems(ctx, outer, [&](int64_t s, int64_t e) {
    int64_t off = 0;
    for (size_t i = 0; i < src.size(); ++i) {  // input by input: tight loops for narrow chunks
      const T* p = src[i];
      int64_t c = chunk[i];
      T* d = dst + off;
      if (c == 1) {  // e.g. numeric feature columns
        for (int64_t o = s; o < e; ++o) d[o * row] = p[o];
      } else {
        for (int64_t o = s; o < e; ++o) std::copy_n(p + o * c, c, d + o * row);
      }
      off += c;
    }
  }, std::max<int64_t>(1, 32768 / std::max<int64_t>(row, 1)));
}

template <typename T>
void deinterleave(KernelCtx& ctx, const T* src, const Dims& chunk, const std::vector<T*>& dst, int64_t outer) {
  int64_t row = 0;
  for (auto c : chunk) row += c;
  parallel_elems(ctx, outer, [&](int64_t s, int64_t e) {
    for (int64_t o = s; o < e; ++o) {
      const T* p = src + o * row;
      for (size_t i = 0; i < dst.size(); ++i) {
        std::copy_n(p, chunk[i], dst[i] + o * chunk[i]);
        p += chunk[i];
      }
    }
  }, std::max<int64_t>(1, 32768 / std::max<int64_t>(row, 1)));
}

// ---------------------------------------------------------------- concat
NESTOR_OP("concat")
    .shape([](ShapeCtx& c) {
      int n = c.num_inputs();
      if (n < 1) c.fail("expected at least one input");
      int rank = -1;
      for (int i = 0; i < n; ++i) {
        c.expect_same_dtype(0, i);
        if (!c.shape(i).known_rank()) continue;
        if (rank < 0) rank = c.shape(i).rank();
        else if (c.shape(i).rank() != rank)
          c.fail("all inputs must have the same rank, got shapes ", shapes_str(c));
      }
      if (rank < 0) {
        c.set_output(0, c.dtype(0), PartialShape());
        return;
      }
      if (rank == 0) c.fail("cannot concatenate scalars (use stack), got shapes ", shapes_str(c));
      int64_t ax = normalize_axis(c, c.attr_or<int64_t>("axis", 0), rank);
      Dims out(static_cast<size_t>(rank), -1);
      int64_t total = 0;
      bool total_known = true;
      for (int i = 0; i < n; ++i) {
        const PartialShape& s = c.shape(i);
        if (!s.known_rank()) {
          total_known = false;
          continue;
        }
        for (int d = 0; d < rank; ++d) {
          int64_t v = s.dim(d);
          if (d == ax) {
            if (v < 0) total_known = false;
            else total += v;
          } else if (v >= 0) {
            if (out[d] >= 0 && out[d] != v)
              c.fail("dimension ", d, " of all inputs must match (all but axis ", ax, "), got shapes ",
                     shapes_str(c));
            out[d] = v;
          }
        }
      }
      out[ax] = total_known ? total : -1;
      c.set_output(0, c.dtype(0), PartialShape(out));
    })
    .grad([](GradCtx& g) {
      int n = static_cast<int>(g.node().inputs.size());
      Output dy = g.grad(0);
      if (n == 1) {
        g.set_grad(0, dy);
        return;
      }
      int64_t axis = g.attr_or<int64_t>("axis", 0);
      int rank = g.shape(g.input(0)).rank();
      for (int i = 1; rank < 0 && i < n; ++i) rank = g.shape(g.input(i)).rank();
      if (rank < 0) fail(Code::kInvalidArgument, "concat gradient needs inputs of known rank");
      int64_t ax = axis < 0 ? axis + rank : axis;
      std::vector<int64_t> sizes;
      for (int i = 0; i < n; ++i) {
        const PartialShape& s = g.shape(g.input(i));
        if (s.known_rank() && s.dim(static_cast<int>(ax)) >= 0) sizes.push_back(s.dim(static_cast<int>(ax)));
      }
      if (static_cast<int>(sizes.size()) == n) {  // sizes known now: one split
        int id = g.op_node("split", {dy}, Attrs{{"axis", ax}, {"size_splits", sizes}});
        for (int i = 0; i < n; ++i) g.set_grad(i, Output{id, i});
        return;
      }
      std::vector<Output> shapes;
      for (int i = 0; i < n; ++i) shapes.push_back(g.shape_of(g.input(i)));
      int id = g.op_node("concat_offset", shapes, Attrs{{"axis", ax}});
      for (int i = 0; i < n; ++i) g.set_grad(i, g.op("slice", {dy, Output{id, i}, shapes[static_cast<size_t>(i)]}));
    })
    .cpu([](KernelCtx& ctx) {
      int n = ctx.num_inputs();
      const Tensor& x0 = ctx.input(0);
      AxisParts p = ops::concat_parts(ctx);
      if (ops::concat_single_view(ctx)) return;
      Tensor& o = ctx.allocate_output(0, x0.dtype(), p.dims);
      NESTOR_DISPATCH_ALL(x0.dtype(), "concat", [&] {
        std::vector<const scalar_t*> src;
        Dims chunk;
        for (int i = 0; i < n; ++i) {
          src.push_back(ctx.input(i).data<scalar_t>());
          chunk.push_back(ctx.input(i).dim(static_cast<int>(p.ax)) * p.inner);
        }
        interleave<scalar_t>(ctx, src, chunk, o.data<scalar_t>(), p.outer);
      });
    });

// concat_offset(shape_0, ..., shape_{n-1}; axis): output i is the offset of input i in
// the concatenation along `axis` (zeros but at `axis`). Used by concat's gradient.
NESTOR_OP("concat_offset")
    .shape([](ShapeCtx& c) {
      if (c.num_inputs() < 1) c.fail("expected at least one input");
      for (int i = 0; i < c.num_inputs(); ++i) {
        c.expect_same_dtype(0, i);
        c.expect_rank(i, 1);
        if (!is_integer(c.dtype(i))) c.fail("shapes must be int32 or int64, got ", dtype_name(c.dtype(i)));
        c.set_output(i, c.dtype(i), c.shape(i));
      }
    })
    .no_grad()
    .cpu([](KernelCtx& ctx) {
      int64_t ax = ctx.attr_or<int64_t>("axis", 0);
      int64_t off = 0;
      for (int i = 0; i < ctx.num_inputs(); ++i) {
        Dims s = ctx.input(i).to_int_vector();
        if (ax < 0 || ax >= static_cast<int64_t>(s.size()))
          ctx.fail(Code::kInvalidArgument, "axis ", ax, " is out of range for shape ", dims_str(s));
        Tensor& o = ctx.allocate_output(i, ctx.input(i).dtype(), {static_cast<int64_t>(s.size())});
        NESTOR_DISPATCH_INDEX(o.dtype(), "concat_offset", [&] {
          for (size_t j = 0; j < s.size(); ++j)
            o.data<scalar_t>()[j] = static_cast<scalar_t>(static_cast<int64_t>(j) == ax ? off : 0);
        });
        off += s[static_cast<size_t>(ax)];
      }
    });

// ---------------------------------------------------------------- split
NESTOR_OP("split")
    .shape([](ShapeCtx& c) {
      c.expect_inputs(1);
      auto f = [&](const auto&... a) { c.fail(a...); };
      const PartialShape& s = c.shape(0);
      if (!s.known_rank()) {
        Dims sizes = split_sizes(f, c.node().attrs, -1, 0);
        for (size_t i = 0; i < sizes.size(); ++i) c.set_output(static_cast<int>(i), c.dtype(0), PartialShape());
        return;
      }
      if (s.rank() == 0) c.fail("cannot split a scalar");
      int64_t ax = normalize_axis(c, c.attr_or<int64_t>("axis", 0), s.rank());
      Dims sizes = split_sizes(f, c.node().attrs, s.dim(static_cast<int>(ax)), ax);
      for (size_t i = 0; i < sizes.size(); ++i) {
        Dims d = s.dims();
        d[ax] = sizes[i];
        c.set_output(static_cast<int>(i), c.dtype(0), PartialShape(d));
      }
    })
    .grad([](GradCtx& g) {
      std::vector<Output> parts;
      for (int i = 0; i < g.node().num_outputs(); ++i) parts.push_back(g.grad(i));
      int64_t ax = g.attr_or<int64_t>("axis", 0);
      if (ax < 0) ax += g.shape(g.input(0)).rank();
      g.set_grad(0, g.op("concat", parts, Attrs{{"axis", ax}}));
    })
    .cpu([](KernelCtx& ctx) {
      const Tensor& x = ctx.input(0);
      AxisParts p = ops::split_parts(ctx);
      if (ops::split_rows_view(ctx, p)) return;
      NESTOR_DISPATCH_ALL(x.dtype(), "split", [&] {
        std::vector<scalar_t*> dst;
        Dims chunk;
        for (size_t i = 0; i < p.sizes.size(); ++i) {
          Dims d = x.dims();
          d[p.ax] = p.sizes[i];
          dst.push_back(ctx.allocate_output(static_cast<int>(i), x.dtype(), d).data<scalar_t>());
          chunk.push_back(p.sizes[i] * p.inner);
        }
        deinterleave<scalar_t>(ctx, x.data<scalar_t>(), chunk, dst, p.outer);
      });
    });

// ---------------------------------------------------------------- stack / unstack
NESTOR_OP("stack")
    .shape([](ShapeCtx& c) {
      int n = c.num_inputs();
      if (n < 1) c.fail("expected at least one input");
      PartialShape s = c.shape(0);
      for (int i = 1; i < n; ++i) {
        c.expect_same_dtype(0, i);
        if (!s.is_compatible_with(c.shape(i)))
          c.fail("all inputs must have the same shape, got shapes ", shapes_str(c));
        s = s.merge(c.shape(i));
      }
      if (!s.known_rank()) {
        c.set_output(0, c.dtype(0), PartialShape());
        return;
      }
      int64_t ax = normalize_axis(c, c.attr_or<int64_t>("axis", 0), s.rank() + 1);
      Dims d = s.dims();
      d.insert(d.begin() + ax, n);
      c.set_output(0, c.dtype(0), PartialShape(d));
    })
    .grad([](GradCtx& g) {
      int n = static_cast<int>(g.node().inputs.size());
      int64_t ax = g.attr_or<int64_t>("axis", 0);
      if (ax < 0) ax += g.shape(g.output(0)).rank();
      int id = g.op_node("unstack", {g.grad(0)}, Attrs{{"axis", ax}, {"num", int64_t{n}}});
      for (int i = 0; i < n; ++i) g.set_grad(i, Output{id, i});
    })
    .cpu([](KernelCtx& ctx) {
      int n = ctx.num_inputs();
      const Tensor& x0 = ctx.input(0);
      AxisParts p = ops::stack_parts(ctx);
      Tensor& o = ctx.allocate_output(0, x0.dtype(), p.dims);
      NESTOR_DISPATCH_ALL(x0.dtype(), "stack", [&] {
        std::vector<const scalar_t*> src;
        for (int i = 0; i < n; ++i) src.push_back(ctx.input(i).data<scalar_t>());
        interleave<scalar_t>(ctx, src, Dims(static_cast<size_t>(n), p.inner), o.data<scalar_t>(), p.outer);
      });
    });

NESTOR_OP("unstack")
    .shape([](ShapeCtx& c) {
      c.expect_inputs(1);
      int64_t num = c.attr_or<int64_t>("num", -1);
      const PartialShape& s = c.shape(0);
      if (num < 0) c.fail("attribute num must be given");
      if (!s.known_rank()) {
        for (int i = 0; i < num; ++i) c.set_output(i, c.dtype(0), PartialShape());
        return;
      }
      if (s.rank() == 0) c.fail("cannot unstack a scalar");
      int64_t ax = normalize_axis(c, c.attr_or<int64_t>("axis", 0), s.rank());
      int64_t d = s.dim(static_cast<int>(ax));
      if (d >= 0 && d != num) c.fail("dimension ", ax, " of shape ", s.str(), " is ", d, ", not num=", num);
      Dims out = s.dims();
      out.erase(out.begin() + ax);
      for (int i = 0; i < num; ++i) c.set_output(i, c.dtype(0), PartialShape(out));
    })
    .grad([](GradCtx& g) {
      std::vector<Output> parts;
      for (int i = 0; i < g.node().num_outputs(); ++i) parts.push_back(g.grad(i));
      int64_t ax = g.attr_or<int64_t>("axis", 0);
      if (ax < 0) ax += g.shape(g.input(0)).rank();
      g.set_grad(0, g.op("stack", parts, Attrs{{"axis", ax}}));
    })
    .cpu([](KernelCtx& ctx) {
      const Tensor& x = ctx.input(0);
      AxisParts p = ops::unstack_parts(ctx);
      if (ops::unstack_rows_view(ctx, p)) return;
      NESTOR_DISPATCH_ALL(x.dtype(), "unstack", [&] {
        std::vector<scalar_t*> dst;
        for (int64_t i = 0; i < p.num; ++i)
          dst.push_back(ctx.allocate_output(static_cast<int>(i), x.dtype(), p.dims).data<scalar_t>());
        deinterleave<scalar_t>(ctx, x.data<scalar_t>(), Dims(static_cast<size_t>(p.num), p.inner), dst, p.outer);
      });
    });

// ---------------------------------------------------------------- expand_dims / squeeze
void reshape_back(GradCtx& g) { g.set_grad(0, g.reshape(g.grad(0), g.shape_of(g.input(0)))); }

NESTOR_OP("expand_dims")
    .shape([](ShapeCtx& c) {
      c.expect_inputs(1);
      const PartialShape& s = c.shape(0);
      if (!s.known_rank()) {
        c.set_output(0, c.dtype(0), PartialShape());
        return;
      }
      int64_t ax = normalize_axis(c, c.attr<int64_t>("axis"), s.rank() + 1);
      Dims d = s.dims();
      d.insert(d.begin() + ax, 1);
      c.set_output(0, c.dtype(0), PartialShape(d));
    })
    .grad(reshape_back)
    .cpu([](KernelCtx& ctx) {
      const Tensor& x = ctx.input(0);
      int64_t ax = normalize_axis(ctx, ctx.attr<int64_t>("axis"), x.rank() + 1);
      Dims d = x.dims();
      d.insert(d.begin() + ax, 1);
      ctx.set_output(0, x.reshaped(d));
    });

NESTOR_OP("squeeze")
    .shape([](ShapeCtx& c) {
      c.expect_inputs(1);
      const PartialShape& s = c.shape(0);
      if (!s.known_rank()) {
        c.set_output(0, c.dtype(0), PartialShape());
        return;
      }
      Dims out;
      auto f = [&](const auto&... a) { c.fail(a...); };
      bool known = squeeze_dims(f, s.dims(), c.attr_or<std::vector<int64_t>>("axis", {}), out);
      c.set_output(0, c.dtype(0), known ? PartialShape(out) : PartialShape());
    })
    .grad(reshape_back)
    .cpu([](KernelCtx& ctx) {
      const Tensor& x = ctx.input(0);
      Dims out;
      auto f = [&](const auto&... a) { ctx.fail(Code::kInvalidArgument, a...); };
      squeeze_dims(f, x.dims(), ctx.attr_or<std::vector<int64_t>>("axis", {}), out);
      ctx.set_output(0, x.reshaped(out));
    });

// ---------------------------------------------------------------- transpose
NESTOR_OP("transpose")
    .shape([](ShapeCtx& c) {
      c.expect_inputs(2);
      if (!is_integer(c.dtype(1))) c.fail("perm must be int32 or int64, got ", dtype_name(c.dtype(1)));
      c.expect_rank(1, 1);
      const PartialShape& s = c.shape(0);
      const Tensor* pt = c.constant(1);
      int rank = s.rank();
      if (rank < 0 && c.shape(1).known_rank() && c.shape(1).dim(0) >= 0) rank = static_cast<int>(c.shape(1).dim(0));
      if (rank < 0) {
        c.set_output(0, c.dtype(0), PartialShape());
        return;
      }
      if (pt == nullptr || !s.known_rank()) {
        if (pt) check_perm([&](const auto&... a) { c.fail(a...); }, pt->to_int_vector(), rank);
        c.set_output(0, c.dtype(0), PartialShape::unknown_of_rank(rank));
        return;
      }
      Dims p = check_perm([&](const auto&... a) { c.fail(a..., " (input shape ", s.str(), ")"); }, pt->to_int_vector(),
                          rank);
      Dims out;
      for (auto a : p) out.push_back(s.dim(static_cast<int>(a)));
      c.set_output(0, c.dtype(0), PartialShape(out));
    })
    .grad([](GradCtx& g) {
      Output perm = g.input(1);
      if (const Tensor* t = g.graph().constant_value(perm)) {
        Dims p = t->to_int_vector(), inv(p.size());
        int64_t r = static_cast<int64_t>(p.size());
        for (size_t i = 0; i < p.size(); ++i) inv[static_cast<size_t>(p[i] < 0 ? p[i] + r : p[i])] = static_cast<int64_t>(i);
        g.set_grad(0, g.op("transpose", {g.grad(0), g.const_ints(inv)}));
      } else {
        g.set_grad(0, g.op("transpose", {g.grad(0), g.op("invert_permutation", {perm})}));
      }
    })
    .cpu([](KernelCtx& ctx) {
      const Tensor& x = ctx.input(0);
      int r = x.rank();
      Dims p;
      if (ops::transpose_identity(ctx, p)) return;
      Dims out(static_cast<size_t>(r)), in_stride(static_cast<size_t>(r)), st(static_cast<size_t>(r));
      int64_t stride = 1;
      for (int i = r - 1; i >= 0; --i) {
        in_stride[i] = stride;
        stride *= x.dim(i);
      }
      for (int i = 0; i < r; ++i) {
        out[i] = x.dim(static_cast<int>(p[i]));
        st[i] = in_stride[p[i]];
      }
      Tensor& o = ctx.allocate_output(0, x.dtype(), out);
      int64_t cols = out.back(), n = o.num_elements();
      int64_t rows = cols ? n / cols : 0;
      int64_t sc = st.back();
      NESTOR_DISPATCH_ALL(x.dtype(), "transpose", [&] {
        const scalar_t* px = x.data<scalar_t>();
        scalar_t* po = o.data<scalar_t>();
        parallel_elems(ctx, rows, [&](int64_t b, int64_t e) {
          for (int64_t row = b; row < e; ++row) {
            int64_t off = 0, rr = row;
            for (int i = r - 2; i >= 0; --i) {
              off += (rr % out[i]) * st[i];
              rr /= out[i];
            }
            scalar_t* d = po + row * cols;
            for (int64_t c = 0; c < cols; ++c) d[c] = px[off + c * sc];
          }
        }, std::max<int64_t>(1, 32768 / std::max<int64_t>(cols, 1)));
      });
    });

NESTOR_OP("invert_permutation")
    .shape([](ShapeCtx& c) {
      c.expect_inputs(1);
      if (!is_integer(c.dtype(0))) c.fail("input must be int32 or int64, got ", dtype_name(c.dtype(0)));
      c.expect_rank(0, 1);
      c.set_output(0, c.dtype(0), c.shape(0));
    })
    .no_grad()
    .cpu([](KernelCtx& ctx) {
      const Tensor& x = ctx.input(0);
      if (x.rank() != 1) ctx.fail(Code::kInvalidArgument, "input must be a vector, got shape ", dims_str(x.dims()));
      Dims p = x.to_int_vector();
      int64_t n = static_cast<int64_t>(p.size());
      Tensor& o = ctx.allocate_output(0, x.dtype(), x.dims());
      std::vector<char> seen(p.size(), 0);
      NESTOR_DISPATCH_INDEX(x.dtype(), "invert_permutation", [&] {
        for (int64_t i = 0; i < n; ++i) {
          int64_t v = p[static_cast<size_t>(i)];
          if (v < 0 || v >= n || seen[v])
            ctx.fail(Code::kInvalidArgument, "input ", dims_str(p), " is not a permutation of 0..", n - 1);
          seen[v] = 1;
          o.data<scalar_t>()[v] = static_cast<scalar_t>(i);
        }
      });
    });

// ---------------------------------------------------------------- fill / range / one_hot
NESTOR_OP("fill")
    .shape([](ShapeCtx& c) {
      c.expect_inputs(2);
      if (!is_integer(c.dtype(0))) c.fail("dims must be int32 or int64, got ", dtype_name(c.dtype(0)));
      c.expect_rank(0, 1);
      c.expect_rank(1, 0);
      if (const Tensor* t = c.constant(0)) {
        Dims d = t->to_int_vector();
        for (auto v : d)
          if (v < 0) c.fail("dims must be >= 0, got ", dims_str(d));
        c.set_output(0, c.dtype(1), PartialShape(d));
      } else if (c.shape(0).known_rank() && c.shape(0).dim(0) >= 0) {
        c.set_output(0, c.dtype(1), PartialShape::unknown_of_rank(static_cast<int>(c.shape(0).dim(0))));
      } else {
        c.set_output(0, c.dtype(1), PartialShape());
      }
    })
    .grad([](GradCtx& g) {
      if (is_floating(g.dtype(g.input(1)))) g.set_grad(1, g.sum_to(g.grad(0), g.input(1)));
    })
    .cpu([](KernelCtx& ctx) {
      Dims d = ops::fill_dims(ctx);
      const Tensor& v = ctx.input(1);
      Tensor& o = ctx.allocate_output(0, v.dtype(), d);
      NESTOR_DISPATCH_ALL(v.dtype(), "fill", [&] {
        const scalar_t val = *v.data<scalar_t>();
        scalar_t* po = o.data<scalar_t>();
        parallel_elems(ctx, o.num_elements(), [&](int64_t s, int64_t e) { std::fill(po + s, po + e, val); });
      });
    });

NESTOR_OP("range")
    .shape([](ShapeCtx& c) {
      c.expect_inputs(3);
      c.expect_same_dtype(0, 1);
      c.expect_same_dtype(0, 2);
      if (!is_numeric(c.dtype(0))) c.fail("range needs a numeric dtype, got ", dtype_name(c.dtype(0)));
      for (int i = 0; i < 3; ++i) c.expect_rank(i, 0);
      const Tensor *s = c.constant(0), *l = c.constant(1), *d = c.constant(2);
      int64_t n = -1;
      if (s && l && d) {
        NESTOR_DISPATCH_NUMERIC(c.dtype(0), "range", [&] {
          n = range_size([&](const auto&... a) { c.fail(a...); }, *s->data<scalar_t>(), *l->data<scalar_t>(),
                         *d->data<scalar_t>());
        });
      }
      c.set_output(0, c.dtype(0), PartialShape(Dims{n}));
    })
    .no_grad()
    .cpu([](KernelCtx& ctx) {
      ops::check_range_inputs(ctx);
      NESTOR_DISPATCH_NUMERIC(ctx.input(0).dtype(), "range", [&] {
        scalar_t s = *ctx.input(0).data<scalar_t>(), l = *ctx.input(1).data<scalar_t>();
        scalar_t d = *ctx.input(2).data<scalar_t>();
        int64_t n = range_size([&](const auto&... a) { ctx.fail(Code::kInvalidArgument, a...); }, s, l, d);
        scalar_t* po = ctx.allocate_output(0, ctx.input(0).dtype(), {n}).data<scalar_t>();
        for (int64_t i = 0; i < n; ++i) po[i] = static_cast<scalar_t>(s + static_cast<scalar_t>(i) * d);
      });
    });

// one_hot(indices, depth, on_value, off_value; axis): out-of-range indices give off_value rows.
NESTOR_OP("one_hot")
    .shape([](ShapeCtx& c) {
      c.expect_inputs(4);
      if (!is_integer(c.dtype(0))) c.fail("indices must be int32 or int64, got ", dtype_name(c.dtype(0)));
      if (!is_integer(c.dtype(1))) c.fail("depth must be int32 or int64, got ", dtype_name(c.dtype(1)));
      c.expect_same_dtype(2, 3);
      for (int i = 1; i < 4; ++i) c.expect_rank(i, 0);
      const PartialShape& s = c.shape(0);
      int64_t depth = -1;
      if (const Tensor* t = c.constant(1)) {
        depth = t->scalar_as_int();
        if (depth < 0) c.fail("depth must be >= 0, got ", depth);
      }
      if (!s.known_rank()) {
        c.set_output(0, c.dtype(2), PartialShape());
        return;
      }
      int64_t ax = c.attr_or<int64_t>("axis", -1);
      if (ax < -1 || ax > s.rank()) c.fail("axis must be -1 or in [0, ", s.rank(), "], got ", ax);
      Dims d = s.dims();
      d.insert(ax == -1 ? d.end() : d.begin() + ax, depth);
      c.set_output(0, c.dtype(2), PartialShape(d));
    })
    .no_grad()
    .cpu([](KernelCtx& ctx) {
      const Tensor& idx = ctx.input(0);
      int64_t depth = 0, ax = 0;
      Dims d = ops::one_hot_dims(ctx, depth, ax);
      const Tensor& on = ctx.input(2);
      Tensor& o = ctx.allocate_output(0, on.dtype(), d);
      int64_t outer = prod(idx.dims(), 0, static_cast<size_t>(ax));
      int64_t inner = prod(idx.dims(), static_cast<size_t>(ax), idx.dims().size());
      std::vector<int64_t> iv(static_cast<size_t>(idx.num_elements()));
      NESTOR_DISPATCH_INDEX(idx.dtype(), "one_hot", [&] {
        std::copy_n(idx.data<scalar_t>(), iv.size(), iv.begin());
      });
      NESTOR_DISPATCH_ALL(on.dtype(), "one_hot", [&] {
        const scalar_t onv = *on.data<scalar_t>(), offv = *ctx.input(3).data<scalar_t>();
        scalar_t* po = o.data<scalar_t>();
        parallel_elems(ctx, outer, [&](int64_t b, int64_t e) {
          for (int64_t r = b; r < e; ++r)
            for (int64_t k = 0; k < depth; ++k)
              for (int64_t i = 0; i < inner; ++i)
                po[(r * depth + k) * inner + i] = iv[static_cast<size_t>(r * inner + i)] == k ? onv : offv;
        }, 1);
      });
    });

}  // namespace
}  // namespace nestor
