// Shape rules and run-time checks of the array ops (concat, split, stack, unstack, squeeze,
// transpose, fill, range, one_hot), shared by the CPU kernels and shape functions
// (cpp/src/ops/array.cc) and the CUDA kernels (cuda/kernels/array.cu): one definition, so
// both devices accept the same attributes and inputs, give the same views and fail with
// the same messages. `Fail` is a callable taking the message parts (it adds the error
// code, and for some callers the input shape).
#pragma once

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <type_traits>
#include <variant>
#include <vector>

#include "axis_util.h"
#include "nestor/op.h"

namespace nestor {
namespace ops {

// "[2, 3], [2, 4]": the shapes of every input, for messages.
inline std::string dims_list_str(const KernelCtx& c) {
  std::string s;
  for (int i = 0; i < c.num_inputs(); ++i) s += (i ? ", " : "") + dims_str(c.input(i).dims());
  return s;
}

// The product of d[b, e).
inline int64_t prod(const Dims& d, size_t b, size_t e) {
  int64_t p = 1;
  for (size_t i = b; i < e; ++i) p *= d[i];
  return p;
}

// Sizes of the pieces of a dimension of size `dim` (< 0: unknown); fails naming the op.
template <typename Fail>
Dims split_sizes(const Fail& f, const Attrs& a, int64_t dim, int64_t ax) {
  if (const auto* v = a.find("size_splits")) {
    const auto* sp = std::get_if<std::vector<int64_t>>(v);
    if (sp == nullptr) f("size_splits must be a list of ints");
    Dims s = *sp;
    if (s.empty()) f("size_splits must not be empty");
    int unknown = -1;
    int64_t known = 0;
    for (size_t i = 0; i < s.size(); ++i) {
      if (s[i] == -1 && unknown < 0) unknown = static_cast<int>(i);
      else if (s[i] == -1) f("size_splits may contain at most one -1, got ", dims_str(s));
      else if (s[i] < 0) f("size_splits must be >= 0 or -1, got ", dims_str(s));
      else known += s[i];
    }
    if (dim < 0) return s;
    if ((unknown < 0 && known != dim) || known > dim)
      f("size_splits ", dims_str(s), " do not sum to ", dim, ", the size of dimension ", ax);
    if (unknown >= 0) s[static_cast<size_t>(unknown)] = dim - known;
    return s;
  }
  int64_t n = a.get_or<int64_t>("num_split", 0);
  if (n < 1) f("num_split must be >= 1, got ", n);
  if (dim >= 0 && dim % n != 0)
    f("dimension ", ax, " of size ", dim, " is not evenly divisible by num_split ", n);
  return Dims(static_cast<size_t>(n), dim < 0 ? -1 : dim / n);
}

// ---------------------------------------------------------------- kernels' checks
// The run-time checks and layout of the concat, split, stack and unstack kernels: the
// packed tensor (concat's and stack's output, split's and unstack's input) viewed as
// [outer, parts along axis ax, inner].
struct AxisParts {
  int64_t ax = 0;
  Dims dims;   // concat, stack: the output's dims; unstack: every output's dims
  Dims sizes;  // split: the parts' sizes along ax
  int64_t num = 0;  // unstack: the number of outputs
  int64_t outer = 1, inner = 1;
};

inline AxisParts concat_parts(const KernelCtx& ctx) {
  const Tensor& x0 = ctx.input(0);
  int rank = x0.rank();
  if (rank == 0) ctx.fail(Code::kInvalidArgument, "cannot concatenate scalars, got shapes ", dims_list_str(ctx));
  AxisParts p;
  p.ax = normalize_axis(ctx, ctx.attr_or<int64_t>("axis", 0), rank);
  p.dims = x0.dims();
  p.dims[p.ax] = 0;
  for (int i = 0; i < ctx.num_inputs(); ++i) {
    const Dims& d = ctx.input(i).dims();
    bool ok = static_cast<int>(d.size()) == rank;
    for (int j = 0; ok && j < rank; ++j) ok = j == p.ax || d[j] == x0.dim(j);
    if (!ok)
      ctx.fail(Code::kInvalidArgument, "ConcatOp: dimensions of inputs should match (all but axis ", p.ax,
               "), got shapes ", dims_list_str(ctx));
    p.dims[p.ax] += d[p.ax];
  }
  p.outer = prod(p.dims, 0, static_cast<size_t>(p.ax));
  p.inner = prod(p.dims, static_cast<size_t>(p.ax) + 1, p.dims.size());
  return p;
}

// The axis of split and unstack (`op`), which take input 0 apart: it must not be a scalar.
inline int64_t apart_axis(const KernelCtx& ctx, const char* op) {
  const Tensor& x = ctx.input(0);
  if (x.rank() == 0) ctx.fail(Code::kInvalidArgument, "cannot ", op, " a scalar");
  return normalize_axis(ctx, ctx.attr_or<int64_t>("axis", 0), x.rank());
}

inline AxisParts split_parts(const KernelCtx& ctx) {
  const Tensor& x = ctx.input(0);
  AxisParts p;
  p.ax = apart_axis(ctx, "split");
  auto f = [&](const auto&... a) { ctx.fail(Code::kInvalidArgument, a..., " (input shape ", dims_str(x.dims()), ")"); };
  p.sizes = split_sizes(f, ctx.node().attrs, x.dim(static_cast<int>(p.ax)), p.ax);
  p.outer = prod(x.dims(), 0, static_cast<size_t>(p.ax));
  p.inner = prod(x.dims(), static_cast<size_t>(p.ax) + 1, x.dims().size());
  return p;
}

inline AxisParts stack_parts(const KernelCtx& ctx) {
  const Tensor& x0 = ctx.input(0);
  for (int i = 1; i < ctx.num_inputs(); ++i)
    if (ctx.input(i).dims() != x0.dims())
      ctx.fail(Code::kInvalidArgument, "all inputs must have the same shape, got shapes ", dims_list_str(ctx));
  AxisParts p;
  p.ax = normalize_axis(ctx, ctx.attr_or<int64_t>("axis", 0), x0.rank() + 1);
  p.dims = x0.dims();
  p.dims.insert(p.dims.begin() + p.ax, ctx.num_inputs());
  p.outer = prod(x0.dims(), 0, static_cast<size_t>(p.ax));
  p.inner = prod(x0.dims(), static_cast<size_t>(p.ax), x0.dims().size());
  return p;
}

inline AxisParts unstack_parts(const KernelCtx& ctx) {
  const Tensor& x = ctx.input(0);
  AxisParts p;
  p.ax = apart_axis(ctx, "unstack");
  p.num = ctx.attr_or<int64_t>("num", -1);
  if (x.dim(static_cast<int>(p.ax)) != p.num)
    ctx.fail(Code::kInvalidArgument, "dimension ", p.ax, " of shape ", dims_str(x.dims()), " is not num=", p.num);
  p.dims = x.dims();
  p.dims.erase(p.dims.begin() + p.ax);
  p.outer = prod(x.dims(), 0, static_cast<size_t>(p.ax));
  p.inner = prod(p.dims, static_cast<size_t>(p.ax), p.dims.size());
  return p;
}

// concat of one input: the input itself (on every device). Returns false, setting
// nothing, otherwise.
inline bool concat_single_view(KernelCtx& ctx) {
  if (ctx.num_inputs() != 1) return false;
  ctx.set_output(0, ctx.input(0));
  return true;
}

// split and unstack along axis 0: every part is a contiguous block of the input's rows, so
// the outputs alias the input (on every device). Returns false, setting nothing, otherwise.
inline bool split_rows_view(KernelCtx& ctx, const AxisParts& p) {
  if (p.ax != 0) return false;
  const Tensor& x = ctx.input(0);
  int64_t b = 0;
  for (size_t i = 0; i < p.sizes.size(); ++i) {
    ctx.set_output(static_cast<int>(i), x.slice_rows(b, b + p.sizes[i]));
    b += p.sizes[i];
  }
  return true;
}

inline bool unstack_rows_view(KernelCtx& ctx, const AxisParts& p) {
  if (p.ax != 0) return false;
  const Tensor& x = ctx.input(0);
  for (int64_t i = 0; i < p.num; ++i) ctx.set_output(static_cast<int>(i), x.slice_rows(i, i + 1).reshaped(p.dims));
  return true;
}

// Dims left after squeezing `axes` (all size-1 dims when empty) out of `d`; -1 = unknown.
// Returns false when an unknown dim makes the result's rank unknown.
template <typename Fail>
bool squeeze_dims(const Fail& f, const Dims& d, const std::vector<int64_t>& axes, Dims& out) {
  int64_t r = static_cast<int64_t>(d.size());
  std::vector<char> drop(d.size(), 0);
  for (int64_t a : axes) {
    if (a < -r || a >= r) f("squeeze axis ", a, " is out of range for shape ", dims_str(d));
    int64_t ax = a < 0 ? a + r : a;
    if (d[ax] >= 0 && d[ax] != 1)
      f("Can not squeeze dim[", ax, "], expected a dimension of 1, got ", d[ax], " (shape ", dims_str(d), ")");
    drop[ax] = 1;
  }
  out.clear();
  for (size_t i = 0; i < d.size(); ++i) {
    if (axes.empty() && d[i] < 0) return false;
    if (!drop[i] && !(axes.empty() && d[i] == 1)) out.push_back(d[i]);
  }
  return true;
}

// Checks that `p` is a permutation of [0, rank); negative entries count from the end.
template <typename Fail>
Dims check_perm(const Fail& f, Dims p, int64_t rank) {
  if (static_cast<int64_t>(p.size()) != rank)
    f("perm ", dims_str(p), " must have ", rank, " entries (the rank of the input)");
  std::vector<char> seen(p.size(), 0);
  for (auto& v : p) {
    int64_t a = v < 0 ? v + rank : v;
    if (a < 0 || a >= rank || seen[a]) f("perm ", dims_str(p), " is not a permutation of 0..", rank - 1);
    seen[a] = 1;
    v = a;
  }
  return p;
}

// transpose(x, perm): perm (input 1, host memory) checked and normalized into `p`. Returns
// true, output 0 set to x, when it is the identity (a view on every device).
inline bool transpose_identity(KernelCtx& ctx, Dims& p) {
  const Tensor& x = ctx.input(0);
  int r = x.rank();
  p = check_perm([&](const auto&... a) { ctx.fail(Code::kInvalidArgument, a..., " (input shape ",
                                                  dims_str(x.dims()), ")"); },
                 ctx.input(1).to_int_vector(), r);
  bool identity = true;
  for (int i = 0; i < r; ++i) identity = identity && p[i] == i;
  if (identity) ctx.set_output(0, x);
  return identity;
}

// fill(dims, value): the output dims (input 0, host memory), checked with the value's shape.
inline Dims fill_dims(const KernelCtx& ctx) {
  Dims d = ctx.input(0).to_int_vector();
  for (auto v : d)
    if (v < 0) ctx.fail(Code::kInvalidArgument, "dims must be >= 0, got ", dims_str(d));
  const Tensor& v = ctx.input(1);
  if (v.num_elements() != 1) ctx.fail(Code::kInvalidArgument, "value must be a scalar, got shape ", dims_str(v.dims()));
  return d;
}

// range(start, limit, delta): the bounds must be scalars.
inline void check_range_inputs(const KernelCtx& ctx) {
  for (int i = 0; i < 3; ++i)
    if (ctx.input(i).num_elements() != 1)
      ctx.fail(Code::kInvalidArgument, "start, limit and delta must be scalars, got shape ",
               dims_str(ctx.input(i).dims()));
}

// one_hot(indices, depth, on, off; axis): depth (input 1, host memory) and the axis (-1:
// last) checked and resolved; returns the output dims.
inline Dims one_hot_dims(const KernelCtx& ctx, int64_t& depth, int64_t& ax) {
  const Tensor& idx = ctx.input(0);
  depth = ctx.input(1).scalar_as_int();
  if (depth < 0) ctx.fail(Code::kInvalidArgument, "depth must be >= 0, got ", depth);
  ax = ctx.attr_or<int64_t>("axis", -1);
  if (ax < -1 || ax > idx.rank())
    ctx.fail(Code::kInvalidArgument, "axis must be -1 or in [0, ", idx.rank(), "], got ", ax);
  if (ax == -1) ax = idx.rank();
  Dims d = idx.dims();
  d.insert(d.begin() + ax, depth);
  return d;
}

// Number of elements of range(start, limit, delta); fails on a zero delta or a wrong direction.
template <typename T, typename Fail>
int64_t range_size(const Fail& f, T start, T limit, T delta) {
  if (delta == T(0)) f("Requires delta != 0: ", delta);
  if (delta > 0 && start > limit) f("Requires start <= limit when delta > 0: ", start, "/", limit);
  if (delta < 0 && start < limit) f("Requires start >= limit when delta < 0: ", start, "/", limit);
  if constexpr (std::is_integral_v<T>) {
    int64_t span = std::abs(static_cast<int64_t>(limit) - static_cast<int64_t>(start));
    int64_t step = std::abs(static_cast<int64_t>(delta));
    return (span + step - 1) / step;
  } else {
    return static_cast<int64_t>(std::ceil(std::abs((static_cast<double>(limit) - static_cast<double>(start)) /
                                                   static_cast<double>(delta))));
  }
}

}  // namespace ops
}  // namespace nestor
