// CUDA kernels for cpp/src/ops/array.cc: concat, split, stack, unstack, expand_dims and
// squeeze (views, as on the CPU), transpose, fill, range and one_hot.
//
// Axes, perms, dims, depth and range bounds are attributes or host inputs, checked on the
// host with the CPU's messages. concat/stack copy rows of each input into the output in
// one launch per group of up to kMaxParts inputs (pointers passed as kernel parameters: no
// host-to-device copy); split/unstack the reverse. The values of fill and one_hot (on/off)
// are read on the device, so no value crosses to the host.
//
// Integer nodes stay on the CPU (index plumbing, see not_integer_output); one_hot runs on
// the device for every dtype (its indices are labels, its output data).
//
// split_sizes, squeeze_dims and check_perm are copies of array.cc's (anonymous there).
#include <string>

#include "kernels/index_map.cuh"
#include "kernels/index_util.cuh"

namespace nestor {
namespace cuda {
namespace {

int64_t normalize_axis(const KernelCtx& ctx, int64_t axis, int64_t rank) {
  if (axis < -rank || axis >= rank) ctx.fail(Code::kInvalidArgument, "axis ", axis, " is out of range for rank ", rank);
  return axis < 0 ? axis + rank : axis;
}

std::string dims_list_str(const KernelCtx& c) {
  std::string s;
  for (int i = 0; i < c.num_inputs(); ++i) s += (i ? ", " : "") + dims_str(c.input(i).dims());
  return s;
}

int64_t prod(const Dims& d, size_t b, size_t e) {
  int64_t p = 1;
  for (size_t i = b; i < e; ++i) p *= d[i];
  return p;
}

// ---------------------------------------------------------------- interleave / deinterleave
// Part k of a group: chunk[k] elements per row at columns [start[k], start[k] + chunk[k]) of
// the interleaved rows (`row` elements each).
constexpr int kMaxParts = 32;
struct Parts {
  void* ptr[kMaxParts] = {};
  int64_t start[kMaxParts] = {};
  int64_t chunk[kMaxParts] = {};
  int n = 0;
  int64_t begin = 0, width = 0;  // the group's columns: [begin, begin + width)
  __device__ int find(int64_t c) const {  // the last part starting at or before column c
    int lo = 0, hi = n - 1;
    while (lo < hi) {
      int mid = (lo + hi + 1) / 2;
      if (start[mid] <= c) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }
};

template <typename T, bool kGather>
__global__ void interleave_kernel(T* packed, int64_t row, int64_t outer, Parts p) {
  NESTOR_GRID_STRIDE(e, outer * p.width) {
    const int64_t o = e / p.width, c = p.begin + e % p.width;
    const int k = p.find(c);
    T* part = static_cast<T*>(p.ptr[k]) + o * p.chunk[k] + (c - p.start[k]);
    if (kGather) packed[o * row + c] = *part;  // concat / stack
    else *part = packed[o * row + c];          // split / unstack
  }
}

// Rows of `outer` x `row` elements of `packed` <-> parts (ptrs[i], chunk[i] per row), in
// launches of up to kMaxParts parts (empty parts skipped).
template <typename T, bool kGather>
void interleave(KernelCtx& ctx, T* packed, const std::vector<void*>& ptrs, const Dims& chunk, int64_t outer) {
  int64_t row = 0;
  for (auto c : chunk) row += c;
  if (outer == 0 || row == 0) return;
  CudaBackend& be = CudaBackend::of(ctx);
  Parts p;
  int64_t col = 0;
  auto flush = [&] {
    if (p.n == 0) return;
    p.width = col - p.begin;
    const int64_t n = outer * p.width;
    interleave_kernel<T, kGather><<<blocks_for(n), kThreads, 0, be.stream()>>>(packed, row, outer, p);
    NESTOR_CUDA_CHECK_LAUNCH();
    p = Parts();
  };
  for (size_t i = 0; i < ptrs.size(); ++i) {
    if (chunk[i] == 0) continue;
    if (p.n == kMaxParts) flush();
    if (p.n == 0) p.begin = col;
    p.ptr[p.n] = ptrs[i];
    p.start[p.n] = col;
    p.chunk[p.n] = chunk[i];
    ++p.n;
    col += chunk[i];
  }
  flush();
}

// ---------------------------------------------------------------- concat
const KernelPlacementRegistrar concat_place("concat", DeviceType::kCuda, KernelPlacement{{}, {}, not_integer_output});
NESTOR_REGISTER_KERNEL("concat", DeviceType::kCuda, ([](KernelCtx& ctx) {
  int n = ctx.num_inputs();
  const Tensor& x0 = ctx.input(0);
  int rank = x0.rank();
  if (rank == 0) ctx.fail(Code::kInvalidArgument, "cannot concatenate scalars, got shapes ", dims_list_str(ctx));
  int64_t ax = normalize_axis(ctx, ctx.attr_or<int64_t>("axis", 0), rank);
  Dims out = x0.dims();
  out[ax] = 0;
  for (int i = 0; i < n; ++i) {
    const Dims& d = ctx.input(i).dims();
    bool ok = static_cast<int>(d.size()) == rank;
    for (int j = 0; ok && j < rank; ++j) ok = j == ax || d[j] == x0.dim(j);
    if (!ok)
      ctx.fail(Code::kInvalidArgument, "ConcatOp: dimensions of inputs should match (all but axis ", ax,
               "), got shapes ", dims_list_str(ctx));
    out[ax] += d[ax];
  }
  if (n == 1) {
    ctx.set_output(0, x0);
    return;
  }
  Tensor& o = ctx.allocate_output(0, x0.dtype(), out);
  int64_t outer = prod(out, 0, static_cast<size_t>(ax));
  int64_t inner = prod(out, static_cast<size_t>(ax) + 1, out.size());
  std::vector<void*> src;
  Dims chunk;
  for (int i = 0; i < n; ++i) {
    src.push_back(ctx.input(i).raw());
    chunk.push_back(ctx.input(i).dim(static_cast<int>(ax)) * inner);
  }
  NESTOR_DISPATCH_POD(x0.dtype(), "concat",
                      [&] { interleave<scalar_t, true>(ctx, o.data<scalar_t>(), src, chunk, outer); });
}));

// ---------------------------------------------------------------- split
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
  if (dim >= 0 && dim % n != 0) f("dimension ", ax, " of size ", dim, " is not evenly divisible by num_split ", n);
  return Dims(static_cast<size_t>(n), dim < 0 ? -1 : dim / n);
}

const KernelPlacementRegistrar split_place("split", DeviceType::kCuda, KernelPlacement{{}, {}, not_integer_output});
NESTOR_REGISTER_KERNEL("split", DeviceType::kCuda, ([](KernelCtx& ctx) {
  const Tensor& x = ctx.input(0);
  if (x.rank() == 0) ctx.fail(Code::kInvalidArgument, "cannot split a scalar");
  int64_t ax = normalize_axis(ctx, ctx.attr_or<int64_t>("axis", 0), x.rank());
  auto f = [&](const auto&... a) { ctx.fail(Code::kInvalidArgument, a..., " (input shape ", dims_str(x.dims()), ")"); };
  Dims sizes = split_sizes(f, ctx.node().attrs, x.dim(static_cast<int>(ax)), ax);
  if (ax == 0) {  // pieces are contiguous: alias the input
    int64_t b = 0;
    for (size_t i = 0; i < sizes.size(); ++i) {
      ctx.set_output(static_cast<int>(i), x.slice_rows(b, b + sizes[i]));
      b += sizes[i];
    }
    return;
  }
  int64_t outer = prod(x.dims(), 0, static_cast<size_t>(ax));
  int64_t inner = prod(x.dims(), static_cast<size_t>(ax) + 1, x.dims().size());
  std::vector<void*> dst;
  Dims chunk;
  for (size_t i = 0; i < sizes.size(); ++i) {
    Dims d = x.dims();
    d[ax] = sizes[i];
    dst.push_back(ctx.allocate_output(static_cast<int>(i), x.dtype(), d).raw());
    chunk.push_back(sizes[i] * inner);
  }
  NESTOR_DISPATCH_POD(x.dtype(), "split", [&] {
    interleave<scalar_t, false>(ctx, const_cast<scalar_t*>(x.data<scalar_t>()), dst, chunk, outer);
  });
}));

// ---------------------------------------------------------------- stack / unstack
const KernelPlacementRegistrar stack_place("stack", DeviceType::kCuda, KernelPlacement{{}, {}, not_integer_output});
NESTOR_REGISTER_KERNEL("stack", DeviceType::kCuda, ([](KernelCtx& ctx) {
  int n = ctx.num_inputs();
  const Tensor& x0 = ctx.input(0);
  for (int i = 1; i < n; ++i)
    if (ctx.input(i).dims() != x0.dims())
      ctx.fail(Code::kInvalidArgument, "all inputs must have the same shape, got shapes ", dims_list_str(ctx));
  int64_t ax = normalize_axis(ctx, ctx.attr_or<int64_t>("axis", 0), x0.rank() + 1);
  Dims out = x0.dims();
  out.insert(out.begin() + ax, n);
  Tensor& o = ctx.allocate_output(0, x0.dtype(), out);
  int64_t outer = prod(x0.dims(), 0, static_cast<size_t>(ax));
  int64_t inner = prod(x0.dims(), static_cast<size_t>(ax), x0.dims().size());
  std::vector<void*> src;
  for (int i = 0; i < n; ++i) src.push_back(ctx.input(i).raw());
  NESTOR_DISPATCH_POD(x0.dtype(), "stack", [&] {
    interleave<scalar_t, true>(ctx, o.data<scalar_t>(), src, Dims(static_cast<size_t>(n), inner), outer);
  });
}));

const KernelPlacementRegistrar unstack_place("unstack", DeviceType::kCuda, KernelPlacement{{}, {}, not_integer_output});
NESTOR_REGISTER_KERNEL("unstack", DeviceType::kCuda, ([](KernelCtx& ctx) {
  const Tensor& x = ctx.input(0);
  if (x.rank() == 0) ctx.fail(Code::kInvalidArgument, "cannot unstack a scalar");
  int64_t ax = normalize_axis(ctx, ctx.attr_or<int64_t>("axis", 0), x.rank());
  int64_t num = ctx.attr_or<int64_t>("num", -1);
  if (x.dim(static_cast<int>(ax)) != num)
    ctx.fail(Code::kInvalidArgument, "dimension ", ax, " of shape ", dims_str(x.dims()), " is not num=", num);
  Dims out = x.dims();
  out.erase(out.begin() + ax);
  if (ax == 0) {
    for (int64_t i = 0; i < num; ++i) ctx.set_output(static_cast<int>(i), x.slice_rows(i, i + 1).reshaped(out));
    return;
  }
  int64_t outer = prod(x.dims(), 0, static_cast<size_t>(ax));
  int64_t inner = prod(out, static_cast<size_t>(ax), out.size());
  std::vector<void*> dst;
  for (int64_t i = 0; i < num; ++i) dst.push_back(ctx.allocate_output(static_cast<int>(i), x.dtype(), out).raw());
  NESTOR_DISPATCH_POD(x.dtype(), "unstack", [&] {
    interleave<scalar_t, false>(ctx, const_cast<scalar_t*>(x.data<scalar_t>()), dst,
                                Dims(static_cast<size_t>(num), inner), outer);
  });
}));

// ---------------------------------------------------------------- expand_dims / squeeze (views)
const KernelPlacementRegistrar expand_place("expand_dims", DeviceType::kCuda, KernelPlacement{{}, {}, not_integer_output});
NESTOR_REGISTER_KERNEL("expand_dims", DeviceType::kCuda, ([](KernelCtx& ctx) {
  const Tensor& x = ctx.input(0);
  int64_t ax = normalize_axis(ctx, ctx.attr<int64_t>("axis"), x.rank() + 1);
  Dims d = x.dims();
  d.insert(d.begin() + ax, 1);
  ctx.set_output(0, x.reshaped(d));
}));

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

const KernelPlacementRegistrar squeeze_place("squeeze", DeviceType::kCuda, KernelPlacement{{}, {}, not_integer_output});
NESTOR_REGISTER_KERNEL("squeeze", DeviceType::kCuda, ([](KernelCtx& ctx) {
  const Tensor& x = ctx.input(0);
  Dims out;
  auto f = [&](const auto&... a) { ctx.fail(Code::kInvalidArgument, a...); };
  squeeze_dims(f, x.dims(), ctx.attr_or<std::vector<int64_t>>("axis", {}), out);
  ctx.set_output(0, x.reshaped(out));
}));

// ---------------------------------------------------------------- transpose
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

const KernelPlacementRegistrar transpose_place("transpose", DeviceType::kCuda,
                                               KernelPlacement{{1}, {}, not_integer_output});
NESTOR_REGISTER_KERNEL("transpose", DeviceType::kCuda, ([](KernelCtx& ctx) {
  const Tensor& x = ctx.input(0);
  int r = x.rank();
  Dims p = check_perm([&](const auto&... a) { ctx.fail(Code::kInvalidArgument, a..., " (input shape ",
                                                       dims_str(x.dims()), ")"); },
                      ctx.input(1).to_int_vector(), r);
  bool identity = true;
  for (int i = 0; i < r; ++i) identity = identity && p[i] == i;
  if (identity) {
    ctx.set_output(0, x);
    return;
  }
  Dims out(static_cast<size_t>(r)), st = strides_of(x.dims());
  for (int i = 0; i < r; ++i) out[i] = x.dim(static_cast<int>(p[i]));
  GatherMap m = gather_map(ctx, out);
  for (int i = 0; i < r; ++i) m.steps[i] = st[p[i]];
  Tensor& o = ctx.allocate_output(0, x.dtype(), out);
  const int64_t n = o.num_elements();
  if (n == 0) return;
  CudaBackend& be = CudaBackend::of(ctx);
  NESTOR_DISPATCH_POD(x.dtype(), "transpose", [&] {
    gather_map_kernel<scalar_t><<<blocks_for(n), kThreads, 0, be.stream()>>>(x.data<scalar_t>(), o.data<scalar_t>(),
                                                                            n, m);
    NESTOR_CUDA_CHECK_LAUNCH();
  });
}));

// ---------------------------------------------------------------- fill / range / one_hot
template <typename T>
__global__ void fill_from_kernel(T* y, int64_t n, const T* v) {
  NESTOR_GRID_STRIDE(i, n) y[i] = *v;
}

// fill(dims, value): dims on the host, the value read on the device.
const KernelPlacementRegistrar fill_place("fill", DeviceType::kCuda, KernelPlacement{{0}, {}, not_integer_output});
NESTOR_REGISTER_KERNEL("fill", DeviceType::kCuda, ([](KernelCtx& ctx) {
  Dims d = ctx.input(0).to_int_vector();
  for (auto v : d)
    if (v < 0) ctx.fail(Code::kInvalidArgument, "dims must be >= 0, got ", dims_str(d));
  const Tensor& v = ctx.input(1);
  if (v.num_elements() != 1) ctx.fail(Code::kInvalidArgument, "value must be a scalar, got shape ", dims_str(v.dims()));
  Tensor& o = ctx.allocate_output(0, v.dtype(), d);
  const int64_t n = o.num_elements();
  CudaBackend& be = CudaBackend::of(ctx);
  NESTOR_DISPATCH_POD(v.dtype(), "fill", [&] {
    if (n == 0) return;
    fill_from_kernel<scalar_t><<<blocks_for(n), kThreads, 0, be.stream()>>>(o.data<scalar_t>(), n, v.data<scalar_t>());
    NESTOR_CUDA_CHECK_LAUNCH();
  });
}));

template <typename T, typename Fail>
int64_t range_size(const Fail& f, T start, T limit, T delta) {
  if (delta == T(0)) f("Requires delta != 0: ", delta);
  if (delta > 0 && start > limit) f("Requires start <= limit when delta > 0: ", start, "/", limit);
  if (delta < 0 && start < limit) f("Requires start >= limit when delta < 0: ", start, "/", limit);
  if constexpr (std::is_integral<T>::value) {
    int64_t span = std::abs(static_cast<int64_t>(limit) - static_cast<int64_t>(start));
    int64_t step = std::abs(static_cast<int64_t>(delta));
    return (span + step - 1) / step;
  } else {
    return static_cast<int64_t>(std::ceil(std::abs((static_cast<double>(limit) - static_cast<double>(start)) /
                                                   static_cast<double>(delta))));
  }
}

// y[i] = s + i * d, the product rounded first (as on the CPU: no fused multiply-add).
template <typename T>
__global__ void range_kernel(T* y, int64_t n, T s, T d) {
  NESTOR_GRID_STRIDE(i, n) y[i] = static_cast<T>(s + mul_rn(static_cast<T>(i), d));
}

// range(start, limit, delta): the bounds are host inputs (they give the output's size).
const KernelPlacementRegistrar range_place("range", DeviceType::kCuda, KernelPlacement{{0, 1, 2}, {}, not_integer_output});
NESTOR_REGISTER_KERNEL("range", DeviceType::kCuda, ([](KernelCtx& ctx) {
  for (int i = 0; i < 3; ++i)
    if (ctx.input(i).num_elements() != 1)
      ctx.fail(Code::kInvalidArgument, "start, limit and delta must be scalars, got shape ",
               dims_str(ctx.input(i).dims()));
  CudaBackend& be = CudaBackend::of(ctx);
  NESTOR_DISPATCH_NUMERIC(ctx.input(0).dtype(), "range", [&] {
    scalar_t s = *ctx.input(0).data<scalar_t>(), l = *ctx.input(1).data<scalar_t>();
    scalar_t d = *ctx.input(2).data<scalar_t>();
    int64_t n = range_size([&](const auto&... a) { ctx.fail(Code::kInvalidArgument, a...); }, s, l, d);
    scalar_t* po = ctx.allocate_output(0, ctx.input(0).dtype(), {n}).data<scalar_t>();
    if (n == 0) return;
    range_kernel<scalar_t><<<blocks_for(n), kThreads, 0, be.stream()>>>(po, n, s, d);
    NESTOR_CUDA_CHECK_LAUNCH();
  });
}));

// one_hot(indices, depth, on_value, off_value; axis): y[r, k, i] = indices[r, i] == k ? on :
// off (out-of-range indices give off rows). depth on the host; indices, on and off on the
// device.
template <typename I, typename T>
__global__ void one_hot_kernel(const I* idx, const T* on, const T* off, T* y, int64_t n, int64_t depth, int64_t inner) {
  NESTOR_GRID_STRIDE(e, n) {
    const int64_t i = e % inner, k = (e / inner) % depth, r = e / (inner * depth);
    y[e] = static_cast<int64_t>(idx[r * inner + i]) == k ? *on : *off;
  }
}

const KernelPlacementRegistrar one_hot_place("one_hot", DeviceType::kCuda, KernelPlacement{{1}, {}, nullptr});
NESTOR_REGISTER_KERNEL("one_hot", DeviceType::kCuda, ([](KernelCtx& ctx) {
  const Tensor& idx = ctx.input(0);
  int64_t depth = ctx.input(1).scalar_as_int();
  if (depth < 0) ctx.fail(Code::kInvalidArgument, "depth must be >= 0, got ", depth);
  int64_t ax = ctx.attr_or<int64_t>("axis", -1);
  if (ax < -1 || ax > idx.rank())
    ctx.fail(Code::kInvalidArgument, "axis must be -1 or in [0, ", idx.rank(), "], got ", ax);
  if (ax == -1) ax = idx.rank();
  Dims d = idx.dims();
  d.insert(d.begin() + ax, depth);
  const Tensor& on = ctx.input(2);
  Tensor& o = ctx.allocate_output(0, on.dtype(), d);
  const int64_t inner = prod(idx.dims(), static_cast<size_t>(ax), idx.dims().size());
  const int64_t n = o.num_elements();
  CudaBackend& be = CudaBackend::of(ctx);
  NESTOR_DISPATCH_INDEX(idx.dtype(), "one_hot", [&] {
    using I = scalar_t;
    NESTOR_DISPATCH_POD(on.dtype(), "one_hot", [&] {
      if (n == 0) return;
      one_hot_kernel<I, scalar_t><<<blocks_for(n), kThreads, 0, be.stream()>>>(
          idx.data<I>(), on.data<scalar_t>(), ctx.input(3).data<scalar_t>(), o.data<scalar_t>(), n, depth, inner);
      NESTOR_CUDA_CHECK_LAUNCH();
    });
  });
}));

}  // namespace
}  // namespace cuda
}  // namespace nestor
