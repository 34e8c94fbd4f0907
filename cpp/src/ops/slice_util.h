// Shape rules and run-time checks of the index-mapping array ops (slice, strided_slice,
// tile and their gradients), shared by the CPU kernels and shape functions (cpp/src/ops/slice.cc) and the
// CUDA kernels (cuda/kernels/slice.cu, index_map.cuh): one definition, so both devices
// resolve the same specs and fail with the same messages. `Fail` is a callable taking the
// message parts (it adds the error code, and for some callers the input shape).
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

#include "nestor/op.h"
#include "shape_util.h"

namespace nestor {
namespace ops {

// ---------------------------------------------------------------- slice
// Resolves size -1 and checks bounds; dims of `in` may be -1 (unknown) at build time.
template <typename Fail>
Dims slice_sizes(const Fail& f, const Dims& in, const Dims& b, const Dims& s) {
  if (b.size() != in.size() || s.size() != in.size())
    f("begin ", dims_str(b), " and size ", dims_str(s), " must have one entry per dimension of the input of shape ",
      dims_str(in));
  Dims out(in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] < 0) {
      out[i] = s[i] == -1 ? -1 : s[i];
      continue;
    }
    out[i] = s[i] == -1 ? in[i] - b[i] : s[i];
    if (b[i] < 0 || b[i] > in[i] || out[i] < 0 || b[i] + out[i] > in[i])
      f("Expected begin[", i, "] in [0, ", in[i], "] and size[", i, "] in [0, ", in[i] - b[i], "] (or -1), got begin ",
        dims_str(b), " and size ", dims_str(s), " for input shape ", dims_str(in));
  }
  return out;
}

// slice(x, begin, size) kernels: begin and the resolved sizes (inputs 1 and 2, host
// memory). Returns true, output 0 set, when the slice is a contiguous block of x's rows:
// then it is a view of x (on every device).
inline bool slice_rows_view(KernelCtx& ctx, Dims& b, Dims& size) {
  const Tensor& x = ctx.input(0);
  b = ctx.input(1).to_int_vector();
  size = slice_sizes([&](const auto&... a) { ctx.fail(Code::kInvalidArgument, a...); }, x.dims(), b,
                     ctx.input(2).to_int_vector());
  bool rows_only = x.rank() >= 1;
  for (int i = 1; i < x.rank(); ++i) rows_only = rows_only && size[i] == x.dim(i);
  if (rows_only) ctx.set_output(0, x.slice_rows(b[0], b[0] + size[0]));
  return rows_only;
}

// ---------------------------------------------------------------- strided_slice
struct Masks {
  int64_t begin, end, ellipsis, new_axis, shrink;
};
inline Masks masks_of(const Attrs& a) {
  return Masks{a.get_or<int64_t>("begin_mask", 0), a.get_or<int64_t>("end_mask", 0),
               a.get_or<int64_t>("ellipsis_mask", 0), a.get_or<int64_t>("new_axis_mask", 0),
               a.get_or<int64_t>("shrink_axis_mask", 0)};
}
inline bool bit(int64_t m, int64_t i) { return i < 64 && ((static_cast<uint64_t>(m) >> i) & 1u); }

// TensorFlow's strided-slice semantics. `in` may hold -1 (unknown) dims and b/e/s may be
// null (unknown values, `n` entries) at build time; unknown sizes come out as -1.
// Per input dim: begin, stride, size (a shrunk dim has size 1); `final_dims` is the output shape.
struct StridedSpec {
  Dims begin, stride, size, final_dims;
};

template <typename Fail>
StridedSpec strided_spec(const Fail& f, const Dims& in, int64_t n, const Dims* b, const Dims* e, const Dims* s,
                         const Masks& m) {
  if (b && (static_cast<int64_t>(b->size()) != n || static_cast<int64_t>(e->size()) != n ||
            static_cast<int64_t>(s->size()) != n))
    f("begin ", dims_str(*b), ", end ", dims_str(*e), " and strides ", dims_str(*s), " must have the same length");
  int64_t ell = -1, new_after = 0;
  for (int64_t i = 0; i < n; ++i)
    if (bit(m.ellipsis, i)) {
      if (ell >= 0) f("Multiple ellipses in slice spec not allowed");
      ell = i;
    }
  if (ell >= 0)
    for (int64_t i = ell + 1; i < n; ++i) new_after += bit(m.new_axis, i) && !bit(m.ellipsis, i);
  int64_t spec_n = ell >= 0 ? n : n + 1, ell_i = ell >= 0 ? ell : n;  // implicit trailing ellipsis
  int64_t rank = static_cast<int64_t>(in.size()), full = 0;
  StridedSpec r;
  std::vector<int64_t> gather_idx;  // per output dim: input dim, -1 new axis; shrunk dims absent
  for (int64_t i = 0; i < spec_n; ++i) {
    if (i == ell_i) {
      int64_t next = std::min(rank - (spec_n - i) + 1 + new_after, rank);
      for (; full < next; ++full) {
        r.begin.push_back(0);
        r.stride.push_back(1);
        r.size.push_back(in[full]);
        gather_idx.push_back(full);
      }
      continue;
    }
    if (bit(m.new_axis, i)) {
      gather_idx.push_back(-1);
      continue;
    }
    if (full == rank) f("Index out of range using input dim ", full, "; input has only ", rank, " dims");
    int64_t dim = in[full];
    bool shrink = bit(m.shrink, i);
    int64_t bi = b ? (*b)[i] : 0, ei = e ? (*e)[i] : 0, si = s ? (*s)[i] : 1;
    if (si == 0) f("strides[", i, "] must be non-zero");
    if (shrink && si < 0) f("only stride 1 allowed on non-range indexing (strides[", i, "] is ", si, ")");
    int64_t size = -1;
    if (shrink) {
      size = 1;
      si = 1;
      if (b && dim >= 0) {
        int64_t fwd = bi < 0 ? dim + bi : bi;
        if (fwd < 0 || fwd >= dim) f("slice index ", bi, " of dimension ", full, " out of bounds (size ", dim, ")");
        bi = fwd;
      }
    } else if (b && dim >= 0) {
      int64_t lo = si > 0 ? 0 : -1, hi = si > 0 ? dim : dim - 1;
      auto canonical = [&](int64_t x, bool masked, bool is_end) {
        if (masked) return (si > 0) != is_end ? lo : hi;
        int64_t fwd = x < 0 ? dim + x : x;
        return fwd < lo ? lo : fwd > hi ? hi : fwd;
      };
      bi = canonical(bi, bit(m.begin, i), false);
      ei = canonical(ei, bit(m.end, i), true);
      int64_t len = ei - bi;
      size = (len == 0 || (len < 0) != (si < 0)) ? 0 : len / si + (len % si != 0);
    } else if (bit(m.begin, i) && bit(m.end, i) && si == 1) {
      size = dim;
    }
    r.begin.push_back(bi);
    r.stride.push_back(si);
    r.size.push_back(size);
    if (!shrink) gather_idx.push_back(full);
    ++full;
  }
  for (auto g : gather_idx) r.final_dims.push_back(g < 0 ? 1 : r.size[static_cast<size_t>(g)]);
  return r;
}

// The spec of a strided_slice(_grad) kernel: begin, end and strides are inputs 1..3 (host
// memory), `in` the shape sliced.
inline StridedSpec kernel_spec(const KernelCtx& ctx, const Dims& in) {
  Dims b = ctx.input(1).to_int_vector(), e = ctx.input(2).to_int_vector(), s = ctx.input(3).to_int_vector();
  return strided_spec([&](const auto&... a) { ctx.fail(Code::kInvalidArgument, a..., " (input shape ", dims_str(in), ")"); },
                      in, static_cast<int64_t>(b.size()), &b, &e, &s, masks_of(ctx.node().attrs));
}

// ---------------------------------------------------------------- tile
// The dims of tiling `in` (dims may be -1) by `mult`.
template <typename Fail>
Dims tiled(const Fail& f, const Dims& in, const Dims& mult) {
  if (mult.size() != in.size())
    f("multiples ", dims_str(mult), " must have one entry per dimension of the input of shape ", dims_str(in));
  Dims out(in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    if (mult[i] < 0) f("multiples must be >= 0, got ", dims_str(mult));
    out[i] = in[i] < 0 ? -1 : in[i] * mult[i];
  }
  return out;
}

// tile_grad(dy, shape): fails unless dy's dims are multiples of `in`'s.
inline void check_tiling(const KernelCtx& ctx, const Tensor& dy, const Dims& in) {
  bool ok = in.size() == dy.dims().size();
  for (size_t d = 0; ok && d < in.size(); ++d)
    ok = in[d] ? dy.dim(static_cast<int>(d)) % in[d] == 0 : dy.dim(static_cast<int>(d)) == 0;
  if (!ok)
    ctx.fail(Code::kInvalidArgument, "gradient of shape ", dims_str(dy.dims()), " is not a tiling of shape ",
             dims_str(in));
}

// ---------------------------------------------------------------- gathers
// True when a gather with output dims `out`, reading element o of output dim d at input
// offset off(d, o), reads an input of shape `in` unchanged: the op is then a view of its
// input (each device keeps its own table of offsets, hence the callable).
template <typename Off>
bool is_identity_gather(const Dims& out, const Dims& in, const Off& off) {
  if (out != in) return false;
  Dims st = strides_of(in);
  for (size_t d = 0; d < in.size(); ++d)
    for (int64_t o = 0; o < in[d]; ++o)
      if (off(d, o) != o * st[d]) return false;
  return true;
}

// The check of a gradient kernel that scatters dy through a gather of `fwd_out` elements.
inline void check_grad_elements(const KernelCtx& ctx, const Tensor& dy, const Dims& fwd_out) {
  if (dy.num_elements() != num_elements(fwd_out))
    ctx.fail(Code::kInvalidArgument, "gradient of shape ", dims_str(dy.dims()), " does not match the shape ",
             dims_str(fwd_out), " of the forward output");
}

}  // namespace ops
}  // namespace nestor
