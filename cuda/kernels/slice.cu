// CUDA kernels for cpp/src/ops/slice.cc: slice, strided_slice (+ strided_slice_grad), tile
// (+ tile_grad). begin/size/end/strides/multiples/shape are host inputs, resolved and
// checked on the host with the CPU's rules and messages; the copy is one gather through a
// GatherMap (index_map.cuh), or a view of the input where the CPU aliases it (a block of
// rows, an identity map). Gradients: strided_slice_grad writes each dy element once into
// zeros (a strided slice reads every element at most once, so no sums race), tile_grad
// sums the tiles of dy one thread per input element in the CPU's order (its bits).
//
// Integer nodes stay on the CPU (index plumbing, see not_integer_output).
//
// The shape rules below (slice_sizes, strided_spec, tiled) are copies of slice.cc's, which
// keeps them in an anonymous namespace; moving both to a shared ops/slice_util.h would
// leave one definition.
#include "kernels/index_map.cuh"

namespace nestor {
namespace cuda {
namespace {

// ---------------------------------------------------------------- shape rules (slice.cc)
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

struct Masks {
  int64_t begin, end, ellipsis, new_axis, shrink;
};
Masks masks_of(const Attrs& a) {
  return Masks{a.get_or<int64_t>("begin_mask", 0), a.get_or<int64_t>("end_mask", 0),
               a.get_or<int64_t>("ellipsis_mask", 0), a.get_or<int64_t>("new_axis_mask", 0),
               a.get_or<int64_t>("shrink_axis_mask", 0)};
}
inline bool bit(int64_t m, int64_t i) { return i < 64 && ((static_cast<uint64_t>(m) >> i) & 1u); }

struct StridedSpec {
  Dims begin, stride, size, final_dims;
};

// TensorFlow's strided-slice semantics (all values known at run time).
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

StridedSpec kernel_spec(const KernelCtx& ctx, const Dims& in) {
  Dims b = ctx.input(1).to_int_vector(), e = ctx.input(2).to_int_vector(), s = ctx.input(3).to_int_vector();
  return strided_spec([&](const auto&... a) { ctx.fail(Code::kInvalidArgument, a..., " (input shape ", dims_str(in), ")"); },
                      in, static_cast<int64_t>(b.size()), &b, &e, &s, masks_of(ctx.node().attrs));
}

// The gather of a strided slice of an input of shape `in`.
GatherMap strided_map(const KernelCtx& ctx, const Dims& in, const StridedSpec& sp) {
  GatherMap m = gather_map(ctx, sp.size);
  Dims st = strides_of(in);
  for (size_t d = 0; d < in.size(); ++d) {
    m.begins[d] = sp.begin[d] * st[d];
    m.steps[d] = sp.stride[d] * st[d];
  }
  return m;
}

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

// Tile element o of dim d reads input element o % in[d].
GatherMap tile_map(const KernelCtx& ctx, const Dims& in, const Dims& out) {
  GatherMap m = gather_map(ctx, out);
  Dims st = strides_of(in);
  for (size_t d = 0; d < in.size(); ++d) {
    m.steps[d] = st[d];
    m.mods[d] = in[d];
  }
  return m;
}

// ---------------------------------------------------------------- slice
const KernelPlacementRegistrar slice_place("slice", DeviceType::kCuda, KernelPlacement{{1, 2}, {}, not_integer_output});
NESTOR_REGISTER_KERNEL("slice", DeviceType::kCuda, ([](KernelCtx& ctx) {
  const Tensor& x = ctx.input(0);
  Dims b = ctx.input(1).to_int_vector();
  Dims size = slice_sizes([&](const auto&... a) { ctx.fail(Code::kInvalidArgument, a...); }, x.dims(), b,
                          ctx.input(2).to_int_vector());
  bool rows_only = x.rank() >= 1;
  for (int i = 1; i < x.rank(); ++i) rows_only = rows_only && size[i] == x.dim(i);
  if (rows_only) {  // a contiguous block of rows: alias it
    ctx.set_output(0, x.slice_rows(b[0], b[0] + size[0]));
    return;
  }
  GatherMap m = gather_map(ctx, size);
  Dims st = strides_of(x.dims());
  for (size_t d = 0; d < size.size(); ++d) {
    m.begins[d] = b[d] * st[d];
    m.steps[d] = st[d];
  }
  gather_output(ctx, x, m, size);
}));

// ---------------------------------------------------------------- strided_slice
const KernelPlacementRegistrar strided_place("strided_slice", DeviceType::kCuda,
                                             KernelPlacement{{1, 2, 3}, {}, not_integer_output});
NESTOR_REGISTER_KERNEL("strided_slice", DeviceType::kCuda, ([](KernelCtx& ctx) {
  const Tensor& x = ctx.input(0);
  StridedSpec sp = kernel_spec(ctx, x.dims());
  gather_output(ctx, x, strided_map(ctx, x.dims(), sp), sp.final_dims);
}));

// strided_slice_grad(shape, begin, end, strides, dy): zeros of `shape` with dy placed where
// strided_slice reads (added to the zeros, as the CPU does: -0 becomes +0).
template <typename T>
__global__ void scatter_map_kernel(const T* dy, T* y, int64_t n, GatherMap m) {
  NESTOR_GRID_STRIDE(i, n) y[m(i)] += dy[i];
}

const KernelPlacementRegistrar strided_grad_place("strided_slice_grad", DeviceType::kCuda,
                                                  KernelPlacement{{0, 1, 2, 3}, {}, not_integer_output});
NESTOR_REGISTER_KERNEL("strided_slice_grad", DeviceType::kCuda, ([](KernelCtx& ctx) {
  Dims shape = ctx.input(0).to_int_vector();
  StridedSpec sp = kernel_spec(ctx, shape);
  GatherMap m = strided_map(ctx, shape, sp);
  const Tensor& dy = ctx.input(4);
  const int64_t n = num_elements(sp.size);
  if (dy.num_elements() != n)
    ctx.fail(Code::kInvalidArgument, "gradient of shape ", dims_str(dy.dims()), " does not match the shape ",
             dims_str(sp.size), " of the forward output");
  Tensor& o = ctx.allocate_output(0, dy.dtype(), shape);
  CudaBackend& be = CudaBackend::of(ctx);
  NESTOR_DISPATCH_NUMERIC(dy.dtype(), "strided_slice_grad", [&] {
    if (o.nbytes()) NESTOR_CUDA_CHECK(cudaMemsetAsync(o.raw(), 0, o.nbytes(), be.stream()));
    if (n == 0) return;
    scatter_map_kernel<scalar_t><<<blocks_for(n), kThreads, 0, be.stream()>>>(dy.data<scalar_t>(), o.data<scalar_t>(),
                                                                             n, m);
    NESTOR_CUDA_CHECK_LAUNCH();
  });
}));

// ---------------------------------------------------------------- tile
const KernelPlacementRegistrar tile_place("tile", DeviceType::kCuda, KernelPlacement{{1}, {}, not_integer_output});
NESTOR_REGISTER_KERNEL("tile", DeviceType::kCuda, ([](KernelCtx& ctx) {
  const Tensor& x = ctx.input(0);
  Dims out = tiled([&](const auto&... a) { ctx.fail(Code::kInvalidArgument, a...); }, x.dims(),
                   ctx.input(1).to_int_vector());
  gather_output(ctx, x, tile_map(ctx, x.dims(), out), out);
}));

// tile_grad(dy, shape): y[i] = the sum over the tiles t (row-major, the CPU's order) of
// dy at tile t's copy of element i.
template <typename T>
__global__ void tile_grad_kernel(const T* dy, T* y, int64_t n, int64_t tiles, GatherMap elem, GatherMap tile) {
  NESTOR_GRID_STRIDE(i, n) {
    const int64_t base = elem(i);
    T acc = T(0);
    for (int64_t t = 0; t < tiles; ++t) acc += dy[base + tile(t)];
    y[i] = acc;
  }
}

const KernelPlacementRegistrar tile_grad_place("tile_grad", DeviceType::kCuda, KernelPlacement{{1}, {}, not_integer_output});
NESTOR_REGISTER_KERNEL("tile_grad", DeviceType::kCuda, ([](KernelCtx& ctx) {
  const Tensor& dy = ctx.input(0);
  Dims in = ctx.input(1).to_int_vector();
  bool ok = in.size() == dy.dims().size();
  for (size_t d = 0; ok && d < in.size(); ++d)
    ok = in[d] ? dy.dim(static_cast<int>(d)) % in[d] == 0 : dy.dim(static_cast<int>(d)) == 0;
  if (!ok)
    ctx.fail(Code::kInvalidArgument, "gradient of shape ", dims_str(dy.dims()), " is not a tiling of shape ",
             dims_str(in));
  Tensor& o = ctx.allocate_output(0, dy.dtype(), in);
  const int64_t n = o.num_elements();
  CudaBackend& be = CudaBackend::of(ctx);
  NESTOR_DISPATCH_NUMERIC(dy.dtype(), "tile_grad", [&] {
    if (n == 0) return;  // every in[d] > 0 below
    Dims mult(in.size());
    for (size_t d = 0; d < in.size(); ++d) mult[d] = dy.dim(static_cast<int>(d)) / in[d];
    GatherMap elem = gather_map(ctx, in), tile = gather_map(ctx, mult);
    Dims st = strides_of(dy.dims());
    for (size_t d = 0; d < in.size(); ++d) {
      elem.steps[d] = st[d];
      tile.steps[d] = in[d] * st[d];
    }
    tile_grad_kernel<scalar_t><<<blocks_for(n), kThreads, 0, be.stream()>>>(dy.data<scalar_t>(), o.data<scalar_t>(), n,
                                                                           num_elements(mult), elem, tile);
    NESTOR_CUDA_CHECK_LAUNCH();
  });
}));

}  // namespace
}  // namespace cuda
}  // namespace nestor
