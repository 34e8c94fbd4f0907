// Index-mapping array ops: slice, strided_slice (+ strided_slice_grad), tile (+ tile_grad),
// pad (+ mirror_pad_grad), broadcast_to and reverse. Every forward kernel is one gather
// through per-dimension offset tables; every gradient kernel the matching scatter-add.
#include <limits>

#include "common.h"
#include "slice_util.h"

namespace nestor {
namespace {

using ops::check_grad_elements;
using ops::check_tiling;
using ops::kernel_spec;
using ops::masks_of;
using ops::parallel_elems;
using ops::slice_sizes;
using ops::strided_spec;
using ops::StridedSpec;
using ops::tiled;

constexpr int64_t kFill = std::numeric_limits<int64_t>::min();

// Output element (o_0, ..., o_{r-1}) of shape `out_dims` is input element at offset
// sum_d off[d][o_d]; it is the fill value when any table entry is kFill.
struct IndexMap {
  Dims out_dims;
  std::vector<std::vector<int64_t>> off;
};

// True when the map reads an input of shape `in` unchanged.
bool is_identity(const IndexMap& m, const Dims& in) {
  return ops::is_identity_gather(m.out_dims, in, [&](size_t d, int64_t o) { return m.off[d][static_cast<size_t>(o)]; });
}

template <typename T>
void gather(KernelCtx& ctx, const T* pi, const IndexMap& m, T* po, const T& fill) {
  size_t r = m.out_dims.size();
  if (r == 0) {
    po[0] = pi[0];
    return;
  }
  int64_t cols = m.out_dims.back();
  int64_t n = num_elements(m.out_dims);
  int64_t rows = cols ? n / cols : 0;
  const std::vector<int64_t>& last = m.off.back();
  bool contiguous = true;
  for (int64_t c = 0; c < cols && contiguous; ++c) contiguous = last[c] != kFill && last[c] == last[0] + c;
  parallel_elems(ctx, rows, [&](int64_t b, int64_t e) {
    for (int64_t row = b; row < e; ++row) {
      int64_t base = 0, rr = row;
      bool filled = false;
      for (size_t d = r - 1; d-- > 0;) {
        int64_t v = m.off[d][static_cast<size_t>(rr % m.out_dims[d])];
        rr /= m.out_dims[d];
        if (v == kFill) filled = true;
        else base += v;
      }
      T* dst = po + row * cols;
      if (filled) std::fill(dst, dst + cols, fill);
      else if (contiguous) std::copy_n(pi + base + last[0], cols, dst);
      else
        for (int64_t c = 0; c < cols; ++c) dst[c] = last[c] == kFill ? fill : pi[base + last[c]];
    }
  }, std::max<int64_t>(1, 32768 / std::max<int64_t>(cols, 1)));
}

// po[sum_d off[d][o_d]] += pg[o] over the elements o of shape m.out_dims (kFill entries skipped).
template <typename T>
void scatter_add(const T* pg, const IndexMap& m, T* po) {
  size_t r = m.out_dims.size();
  int64_t n = num_elements(m.out_dims);
  if (r == 0) {
    po[0] += pg[0];
    return;
  }
  Dims idx(r, 0);
  for (int64_t k = 0; k < n; ++k) {
    int64_t off = 0;
    bool skip = false;
    for (size_t d = 0; d < r; ++d) {
      int64_t v = m.off[d][static_cast<size_t>(idx[d])];
      if (v == kFill) skip = true;
      else off += v;
    }
    if (!skip) po[off] += pg[k];
    for (size_t d = r; d-- > 0;) {
      if (++idx[d] < m.out_dims[d]) break;
      idx[d] = 0;
    }
  }
}

// Runs the gather of `m` over input x into output 0 (aliasing x when the map is the identity),
// then gives the output the shape `final_dims`.
void gather_output(KernelCtx& ctx, const Tensor& x, const IndexMap& m, const Dims& final_dims,
                   const Tensor* fill = nullptr) {
  if (is_identity(m, x.dims())) {
    ctx.set_output(0, x.reshaped(final_dims));
    return;
  }
  Tensor o = ctx.allocate_output(0, x.dtype(), m.out_dims);
  NESTOR_DISPATCH_ALL(x.dtype(), ctx.node().op, [&] {
    scalar_t f = fill ? *fill->data<scalar_t>() : scalar_t();
    gather<scalar_t>(ctx, x.data<scalar_t>(), m, o.data<scalar_t>(), f);
  });
  ctx.set_output(0, o.reshaped(final_dims));
}

// Zeros of shape `out` with dy scattered (added) through `m` (whose out_dims hold dy's elements).
void scatter_output(KernelCtx& ctx, const Tensor& dy, const IndexMap& m, const Dims& out) {
  check_grad_elements(ctx, dy, m.out_dims);
  Tensor& o = ctx.allocate_output(0, dy.dtype(), out);
  NESTOR_DISPATCH_NUMERIC(dy.dtype(), ctx.node().op, [&] {
    scalar_t* po = o.data<scalar_t>();
    std::fill(po, po + o.num_elements(), scalar_t(0));
    scatter_add<scalar_t>(dy.data<scalar_t>(), m, po);
  });
}

// Output shape of an op whose input `i` is a shape: its constant value, or the shape of
// the tensor a `shape` op reads, or just the rank.
PartialShape shape_from_input(const ShapeCtx& c, int i) {
  if (const Tensor* t = c.constant(i)) return PartialShape(t->to_int_vector());
  const Node& src = c.graph().node(c.node().inputs[static_cast<size_t>(i)].node);
  if (src.op == "shape") return c.graph().shape(src.inputs[0]);
  if (c.shape(i).known_rank() && c.shape(i).rank() == 1 && c.shape(i).dim(0) >= 0)
    return PartialShape::unknown_of_rank(static_cast<int>(c.shape(i).dim(0)));
  return PartialShape();
}

void expect_int_vector(const ShapeCtx& c, int i, const char* what) {
  if (!is_integer(c.dtype(i))) c.fail(what, " must be int32 or int64, got ", dtype_name(c.dtype(i)));
  if (c.shape(i).known_rank() && c.shape(i).rank() != 1) c.fail(what, " must be a vector, got shape ", c.shape(i).str());
}

// ---------------------------------------------------------------- slice
NESTOR_OP("slice")
    .shape([](ShapeCtx& c) {
      c.expect_inputs(3);
      expect_int_vector(c, 1, "begin");
      expect_int_vector(c, 2, "size");
      const PartialShape& x = c.shape(0);
      const Tensor *b = c.constant(1), *s = c.constant(2);
      int rank = x.rank();
      if (rank < 0 && c.shape(1).known_rank()) rank = static_cast<int>(c.shape(1).dim(0));
      if (rank < 0) {
        c.set_output(0, c.dtype(0), PartialShape());
        return;
      }
      Dims in = x.known_rank() ? x.dims() : Dims(static_cast<size_t>(rank), -1);
      if (b && s) {
        c.set_output(0, c.dtype(0), PartialShape(slice_sizes([&](const auto&... a) { c.fail(a...); }, in,
                                                             b->to_int_vector(), s->to_int_vector())));
      } else if (s && static_cast<int>(s->num_elements()) == rank) {
        Dims d = s->to_int_vector();
        for (size_t i = 0; i < d.size(); ++i)
          if (d[i] < 0) d[i] = -1;
        c.set_output(0, c.dtype(0), PartialShape(d));
      } else {
        c.set_output(0, c.dtype(0), PartialShape::unknown_of_rank(rank));
      }
    })
    .grad([](GradCtx& g) {
      Output begin = g.input(1), dy = g.grad(0);
      Output end = g.add(begin, g.op("shape", {dy}, Attrs{{"out_type", g.dtype(begin)}}));
      g.set_grad(0, g.op("strided_slice_grad", {g.shape_of(g.input(0)), begin, end, g.ones_like(begin), dy}));
    })
    .cpu([](KernelCtx& ctx) {
      const Tensor& x = ctx.input(0);
      Dims b, size;
      if (ops::slice_rows_view(ctx, b, size)) return;  // a contiguous block of rows: aliased
      Dims st = strides_of(x.dims());
      IndexMap m{size, {}};
      for (size_t d = 0; d < size.size(); ++d) {
        m.off.emplace_back(static_cast<size_t>(size[d]));
        for (int64_t o = 0; o < size[d]; ++o) m.off[d][static_cast<size_t>(o)] = (b[d] + o) * st[d];
      }
      gather_output(ctx, x, m, size);
    });

// ---------------------------------------------------------------- strided_slice
// The gather of a strided slice of an input of shape `in` (all values known).
IndexMap strided_map(const Dims& in, const StridedSpec& sp) {
  Dims st = strides_of(in);
  IndexMap m{sp.size, {}};
  for (size_t d = 0; d < in.size(); ++d) {
    m.off.emplace_back(static_cast<size_t>(sp.size[d]));
    for (int64_t o = 0; o < sp.size[d]; ++o) m.off[d][static_cast<size_t>(o)] = (sp.begin[d] + o * sp.stride[d]) * st[d];
  }
  return m;
}

// Output shape of a strided slice of `in` given inputs begin/end/strides at 1..3 of `c`.
PartialShape strided_shape(const ShapeCtx& c, const PartialShape& in) {
  for (int i = 1; i <= 3; ++i) expect_int_vector(c, i, i == 1 ? "begin" : i == 2 ? "end" : "strides");
  int64_t n = -1;
  for (int i = 1; i <= 3 && n < 0; ++i)
    if (c.shape(i).known_rank()) n = c.shape(i).dim(0);
  if (n < 0 || !in.known_rank()) return PartialShape();
  const Tensor *tb = c.constant(1), *te = c.constant(2), *ts = c.constant(3);
  Dims b, e, s;
  bool known = tb && te && ts;
  if (known) b = tb->to_int_vector(), e = te->to_int_vector(), s = ts->to_int_vector();
  StridedSpec sp = strided_spec([&](const auto&... a) { c.fail(a..., " (input shape ", in.str(), ")"); }, in.dims(), n,
                                known ? &b : nullptr, known ? &e : nullptr, known ? &s : nullptr,
                                masks_of(c.node().attrs));
  return PartialShape(sp.final_dims);
}

// strided_slice(x, begin, end, strides; begin_mask, end_mask, ellipsis_mask, new_axis_mask,
// shrink_axis_mask), with TensorFlow's bit semantics.
NESTOR_OP("strided_slice")
    .shape([](ShapeCtx& c) {
      c.expect_inputs(4);
      c.set_output(0, c.dtype(0), strided_shape(c, c.shape(0)));
    })
    .grad([](GradCtx& g) {
      g.set_grad(0, g.op("strided_slice_grad", {g.shape_of(g.input(0)), g.input(1), g.input(2), g.input(3), g.grad(0)},
                         g.node().attrs));
    })
    .cpu([](KernelCtx& ctx) {
      const Tensor& x = ctx.input(0);
      StridedSpec sp = kernel_spec(ctx, x.dims());
      gather_output(ctx, x, strided_map(x.dims(), sp), sp.final_dims);
    });

// strided_slice_grad(shape, begin, end, strides, dy): zeros of `shape` with dy placed where
// strided_slice(x of that shape, ...) reads.
NESTOR_OP("strided_slice_grad")
    .shape([](ShapeCtx& c) {
      c.expect_inputs(5);
      expect_int_vector(c, 0, "shape");
      PartialShape out = shape_from_input(c, 0);
      strided_shape(c, out);
      c.set_output(0, c.dtype(4), out);
    })
    .grad([](GradCtx& g) {
      g.set_grad(4, g.op("strided_slice", {g.grad(0), g.input(1), g.input(2), g.input(3)}, g.node().attrs));
    })
    .cpu([](KernelCtx& ctx) {
      Dims shape = ctx.input(0).to_int_vector();
      StridedSpec sp = kernel_spec(ctx, shape);
      scatter_output(ctx, ctx.input(4), strided_map(shape, sp), shape);
    });

// ---------------------------------------------------------------- tile
// Reading tile element o of dim d from input element o % in[d]; offsets into a tensor of shape `in`.
IndexMap tile_map(const Dims& in, const Dims& out) {
  Dims st = strides_of(in);
  IndexMap m{out, {}};
  for (size_t d = 0; d < in.size(); ++d) {
    m.off.emplace_back(static_cast<size_t>(out[d]));
    for (int64_t o = 0; o < out[d]; ++o) m.off[d][static_cast<size_t>(o)] = (o % in[d]) * st[d];
  }
  return m;
}

NESTOR_OP("tile")
    .shape([](ShapeCtx& c) {
      c.expect_inputs(2);
      expect_int_vector(c, 1, "multiples");
      const PartialShape& x = c.shape(0);
      const Tensor* t = c.constant(1);
      if (t && x.known_rank())
        c.set_output(0, c.dtype(0), PartialShape(tiled([&](const auto&... a) { c.fail(a...); }, x.dims(),
                                                       t->to_int_vector())));
      else
        c.set_output(0, c.dtype(0), x.known_rank() ? PartialShape::unknown_of_rank(x.rank()) : PartialShape());
    })
    .grad([](GradCtx& g) { g.set_grad(0, g.op("tile_grad", {g.grad(0), g.shape_of(g.input(0))})); })
    .cpu([](KernelCtx& ctx) {
      const Tensor& x = ctx.input(0);
      Dims out = tiled([&](const auto&... a) { ctx.fail(Code::kInvalidArgument, a...); }, x.dims(),
                       ctx.input(1).to_int_vector());
      gather_output(ctx, x, tile_map(x.dims(), out), out);
    });

// tile_grad(dy, shape): sums the tiles of dy into a tensor of `shape`.
NESTOR_OP("tile_grad")
    .shape([](ShapeCtx& c) {
      c.expect_inputs(2);
      expect_int_vector(c, 1, "shape");
      c.set_output(0, c.dtype(0), shape_from_input(c, 1));
    })
    .cpu([](KernelCtx& ctx) {
      const Tensor& dy = ctx.input(0);
      Dims in = ctx.input(1).to_int_vector();
      check_tiling(ctx, dy, in);
      scatter_output(ctx, dy, tile_map(in, dy.dims()), in);
    });

// ---------------------------------------------------------------- pad
enum class PadMode { kConstant, kReflect, kSymmetric };

template <typename Fail>
PadMode pad_mode(const Fail& f, const Attrs& a) {
  std::string m = a.get_or<std::string>("mode", "CONSTANT");
  if (m == "CONSTANT") return PadMode::kConstant;
  if (m == "REFLECT") return PadMode::kReflect;
  if (m == "SYMMETRIC") return PadMode::kSymmetric;
  f("mode must be CONSTANT, REFLECT or SYMMETRIC, got '", m, "'");
  return PadMode::kConstant;
}

// Checks paddings (flattened [rank, 2]) against `in` (dims may be -1); returns the padded dims.
template <typename Fail>
Dims padded(const Fail& f, const Dims& in, const Dims& p, PadMode mode) {
  if (p.size() != 2 * in.size())
    f("paddings must have shape [", in.size(), ", 2] for an input of shape ", dims_str(in), ", got ", p.size() / 2,
      " rows");
  Dims out(in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    int64_t lo = p[2 * i], hi = p[2 * i + 1], d = in[i];
    if (lo < 0 || hi < 0) f("paddings must be non-negative, got ", lo, ", ", hi, " for dimension ", i);
    int64_t limit = mode == PadMode::kReflect ? d - 1 : d;
    if (mode != PadMode::kConstant && d >= 0 && (lo > limit || hi > limit))
      f(mode == PadMode::kReflect ? "REFLECT" : "SYMMETRIC", " paddings must be at most ", limit,
        " for dimension ", i, " of size ", d, ", got ", lo, ", ", hi);
    out[i] = d < 0 ? -1 : d + lo + hi;
  }
  return out;
}

// Per padded position o of dims `out`, the offset of the input element it shows (kFill for constant padding).
IndexMap pad_map(const Dims& in, const Dims& p, const Dims& out, PadMode mode) {
  Dims st = strides_of(in);
  IndexMap m{out, {}};
  for (size_t d = 0; d < in.size(); ++d) {
    m.off.emplace_back(static_cast<size_t>(out[d]));
    for (int64_t o = 0; o < out[d]; ++o) {
      int64_t i = o - p[2 * d], n = in[d];
      if (i < 0 || i >= n) {
        if (mode == PadMode::kConstant) {
          m.off[d][static_cast<size_t>(o)] = kFill;
          continue;
        }
        if (mode == PadMode::kReflect) i = i < 0 ? -i : 2 * (n - 1) - i;
        else i = i < 0 ? -i - 1 : 2 * n - 1 - i;
      }
      m.off[d][static_cast<size_t>(o)] = i * st[d];
    }
  }
  return m;
}

Dims flat_ints(const Tensor& t) {
  Dims v(static_cast<size_t>(t.num_elements()));
  for (size_t i = 0; i < v.size(); ++i) v[i] = t.scalar_as_int(static_cast<int64_t>(i));
  return v;
}

// pad(x, paddings, constant_values; mode).
NESTOR_OP("pad")
    .shape([](ShapeCtx& c) {
      c.expect_inputs(3);
      if (!is_integer(c.dtype(1))) c.fail("paddings must be int32 or int64, got ", dtype_name(c.dtype(1)));
      c.expect_rank(1, 2);
      c.expect_same_dtype(0, 2);
      c.expect_rank(2, 0);
      auto f = [&](const auto&... a) { c.fail(a...); };
      PadMode mode = pad_mode(f, c.node().attrs);
      const PartialShape& x = c.shape(0);
      const Tensor* p = c.constant(1);
      if (p && x.known_rank()) c.set_output(0, c.dtype(0), PartialShape(padded(f, x.dims(), flat_ints(*p), mode)));
      else c.set_output(0, c.dtype(0), x.known_rank() ? PartialShape::unknown_of_rank(x.rank()) : PartialShape());
    })
    .grad([](GradCtx& g) {
      Output x = g.input(0), p = g.input(1), dy = g.grad(0);
      if (g.attr_or<std::string>("mode", "CONSTANT") == "CONSTANT") {
        Output before = g.op("strided_slice", {p, g.const_ints({0, 0}), g.const_ints({0, 1}), g.const_ints({1, 1})},
                             Attrs{{"begin_mask", int64_t{1}}, {"end_mask", int64_t{1}}, {"shrink_axis_mask", int64_t{2}}});
        g.set_grad(0, g.op("slice", {dy, before, g.shape_of(x)}));
      } else {
        g.set_grad(0, g.op("mirror_pad_grad", {dy, p}, Attrs{{"mode", g.attr<std::string>("mode")}}));
      }
    })
    .cpu([](KernelCtx& ctx) {
      const Tensor& x = ctx.input(0);
      auto f = [&](const auto&... a) { ctx.fail(Code::kInvalidArgument, a...); };
      PadMode mode = pad_mode(f, ctx.node().attrs);
      Dims p = flat_ints(ctx.input(1));
      Dims out = padded(f, x.dims(), p, mode);
      gather_output(ctx, x, pad_map(x.dims(), p, out, mode), out, &ctx.input(2));
    });

// mirror_pad_grad(dy, paddings; mode): folds the mirrored borders of dy back onto the input.
NESTOR_OP("mirror_pad_grad")
    .shape([](ShapeCtx& c) {
      c.expect_inputs(2);
      const PartialShape& dy = c.shape(0);
      const Tensor* p = c.constant(1);
      if (!dy.known_rank()) {
        c.set_output(0, c.dtype(0), PartialShape());
        return;
      }
      Dims out = dy.dims();
      if (p) {
        Dims pv = flat_ints(*p);
        if (pv.size() != 2 * out.size()) c.fail("paddings do not match the gradient of shape ", dy.str());
        for (size_t i = 0; i < out.size(); ++i)
          if (out[i] >= 0) out[i] -= pv[2 * i] + pv[2 * i + 1];
      } else {
        out.assign(out.size(), -1);
      }
      c.set_output(0, c.dtype(0), PartialShape(out));
    })
    .cpu([](KernelCtx& ctx) {
      const Tensor& dy = ctx.input(0);
      auto f = [&](const auto&... a) { ctx.fail(Code::kInvalidArgument, a...); };
      PadMode mode = pad_mode(f, ctx.node().attrs);
      if (mode == PadMode::kConstant) f("mode must be REFLECT or SYMMETRIC");
      Dims p = flat_ints(ctx.input(1));
      if (p.size() != 2 * dy.dims().size()) f("paddings do not match the gradient of shape ", dims_str(dy.dims()));
      Dims in = dy.dims();
      for (size_t i = 0; i < in.size(); ++i) in[i] -= p[2 * i] + p[2 * i + 1];
      if (padded(f, in, p, mode) != dy.dims()) f("paddings do not match the gradient of shape ", dims_str(dy.dims()));
      scatter_output(ctx, dy, pad_map(in, p, dy.dims(), mode), in);
    });

// ---------------------------------------------------------------- broadcast_to / reverse
template <typename Fail>
void check_broadcast(const Fail& f, const Dims& in, const Dims& to) {
  bool ok = in.size() <= to.size();
  for (size_t i = 0; ok && i < in.size(); ++i) {
    int64_t a = in[in.size() - 1 - i], b = to[to.size() - 1 - i];
    ok = a < 0 || b < 0 || a == 1 || a == b;
  }
  if (!ok) f("Unable to broadcast tensor of shape ", dims_str(in), " to tensor of shape ", dims_str(to));
}

NESTOR_OP("broadcast_to")
    .shape([](ShapeCtx& c) {
      c.expect_inputs(2);
      expect_int_vector(c, 1, "shape");
      PartialShape to = shape_from_input(c, 1);
      if (to.known_rank() && c.shape(0).known_rank())
        check_broadcast([&](const auto&... a) { c.fail(a...); }, c.shape(0).dims(), to.dims());
      c.set_output(0, c.dtype(0), to);
    })
    .grad([](GradCtx& g) { g.set_grad(0, g.sum_to(g.grad(0), g.input(0))); })
    .cpu([](KernelCtx& ctx) {
      const Tensor& x = ctx.input(0);
      Dims to = ctx.input(1).to_int_vector();
      for (auto d : to)
        if (d < 0) ctx.fail(Code::kInvalidArgument, "shape must be non-negative, got ", dims_str(to));
      check_broadcast([&](const auto&... a) { ctx.fail(Code::kInvalidArgument, a...); }, x.dims(), to);
      Dims st = strides_of(x.dims());
      size_t lead = to.size() - x.dims().size();
      IndexMap m{to, {}};
      for (size_t d = 0; d < to.size(); ++d) {
        m.off.emplace_back(static_cast<size_t>(to[d]), 0);
        if (d < lead || x.dims()[d - lead] == 1) continue;
        for (int64_t o = 0; o < to[d]; ++o) m.off[d][static_cast<size_t>(o)] = o * st[d - lead];
      }
      gather_output(ctx, x, m, to);
    });

template <typename Fail>
std::vector<char> reversed_axes(const Fail& f, const std::vector<int64_t>& axes, int64_t rank) {
  std::vector<char> rev(static_cast<size_t>(rank), 0);
  for (auto a : axes) {
    if (a < -rank || a >= rank) f("axis ", a, " is out of range for rank ", rank);
    int64_t ax = a < 0 ? a + rank : a;
    if (rev[ax]) f("axis ", a, " is given more than once");
    rev[ax] = 1;
  }
  return rev;
}

// reverse(x; axis): reverses the listed dimensions.
NESTOR_OP("reverse")
    .shape([](ShapeCtx& c) {
      c.expect_inputs(1);
      if (c.shape(0).known_rank())
        reversed_axes([&](const auto&... a) { c.fail(a...); }, c.attr_or<std::vector<int64_t>>("axis", {}),
                      c.shape(0).rank());
      c.set_output(0, c.dtype(0), c.shape(0));
    })
    .grad([](GradCtx& g) { g.set_grad(0, g.op("reverse", {g.grad(0)}, g.node().attrs)); })
    .cpu([](KernelCtx& ctx) {
      const Tensor& x = ctx.input(0);
      std::vector<char> rev = reversed_axes([&](const auto&... a) { ctx.fail(Code::kInvalidArgument, a...); },
                                            ctx.attr_or<std::vector<int64_t>>("axis", {}), x.rank());
      Dims st = strides_of(x.dims());
      IndexMap m{x.dims(), {}};
      for (size_t d = 0; d < x.dims().size(); ++d) {
        int64_t n = x.dims()[d];
        m.off.emplace_back(static_cast<size_t>(n));
        for (int64_t o = 0; o < n; ++o) m.off[d][static_cast<size_t>(o)] = (rev[d] ? n - 1 - o : o) * st[d];
      }
      gather_output(ctx, x, m, x.dims());
    });

}  // namespace
}  // namespace nestor
