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
// The shape rules and run-time checks (and the views) are array.cc's, from
// ops/array_util.h.
#include "kernels/index_map.cuh"
#include "kernels/index_util.cuh"
#include "ops/array_util.h"
#include "ops/axis_util.h"

namespace nestor {
namespace cuda {
namespace {

using ops::AxisParts;
using ops::normalize_axis;
using ops::prod;
using ops::range_size;
using ops::squeeze_dims;

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
  AxisParts p = ops::concat_parts(ctx);
  if (ops::concat_single_view(ctx)) return;
  Tensor& o = ctx.allocate_output(0, x0.dtype(), p.dims);
  std::vector<void*> src;
  Dims chunk;
  for (int i = 0; i < n; ++i) {
    src.push_back(ctx.input(i).raw());
    chunk.push_back(ctx.input(i).dim(static_cast<int>(p.ax)) * p.inner);
  }
  NESTOR_DISPATCH_POD(x0.dtype(), "concat",
                      [&] { interleave<scalar_t, true>(ctx, o.data<scalar_t>(), src, chunk, p.outer); });
}));

// ---------------------------------------------------------------- split
const KernelPlacementRegistrar split_place("split", DeviceType::kCuda, KernelPlacement{{}, {}, not_integer_output});
NESTOR_REGISTER_KERNEL("split", DeviceType::kCuda, ([](KernelCtx& ctx) {
  const Tensor& x = ctx.input(0);
  AxisParts p = ops::split_parts(ctx);
  if (ops::split_rows_view(ctx, p)) return;
  std::vector<void*> dst;
  Dims chunk;
  for (size_t i = 0; i < p.sizes.size(); ++i) {
    Dims d = x.dims();
    d[p.ax] = p.sizes[i];
    dst.push_back(ctx.allocate_output(static_cast<int>(i), x.dtype(), d).raw());
    chunk.push_back(p.sizes[i] * p.inner);
  }
  NESTOR_DISPATCH_POD(x.dtype(), "split", [&] {
    interleave<scalar_t, false>(ctx, const_cast<scalar_t*>(x.data<scalar_t>()), dst, chunk, p.outer);
  });
}));

// ---------------------------------------------------------------- stack / unstack
const KernelPlacementRegistrar stack_place("stack", DeviceType::kCuda, KernelPlacement{{}, {}, not_integer_output});
NESTOR_REGISTER_KERNEL("stack", DeviceType::kCuda, ([](KernelCtx& ctx) {
  int n = ctx.num_inputs();
  const Tensor& x0 = ctx.input(0);
  AxisParts p = ops::stack_parts(ctx);
  Tensor& o = ctx.allocate_output(0, x0.dtype(), p.dims);
  std::vector<void*> src;
  for (int i = 0; i < n; ++i) src.push_back(ctx.input(i).raw());
  NESTOR_DISPATCH_POD(x0.dtype(), "stack", [&] {
    interleave<scalar_t, true>(ctx, o.data<scalar_t>(), src, Dims(static_cast<size_t>(n), p.inner), p.outer);
  });
}));

const KernelPlacementRegistrar unstack_place("unstack", DeviceType::kCuda, KernelPlacement{{}, {}, not_integer_output});
NESTOR_REGISTER_KERNEL("unstack", DeviceType::kCuda, ([](KernelCtx& ctx) {
  const Tensor& x = ctx.input(0);
  AxisParts p = ops::unstack_parts(ctx);
  if (ops::unstack_rows_view(ctx, p)) return;
  std::vector<void*> dst;
  for (int64_t i = 0; i < p.num; ++i) dst.push_back(ctx.allocate_output(static_cast<int>(i), x.dtype(), p.dims).raw());
  NESTOR_DISPATCH_POD(x.dtype(), "unstack", [&] {
    interleave<scalar_t, false>(ctx, const_cast<scalar_t*>(x.data<scalar_t>()), dst,
                                Dims(static_cast<size_t>(p.num), p.inner), p.outer);
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

const KernelPlacementRegistrar squeeze_place("squeeze", DeviceType::kCuda, KernelPlacement{{}, {}, not_integer_output});
NESTOR_REGISTER_KERNEL("squeeze", DeviceType::kCuda, ([](KernelCtx& ctx) {
  const Tensor& x = ctx.input(0);
  Dims out;
  auto f = [&](const auto&... a) { ctx.fail(Code::kInvalidArgument, a...); };
  squeeze_dims(f, x.dims(), ctx.attr_or<std::vector<int64_t>>("axis", {}), out);
  ctx.set_output(0, x.reshaped(out));
}));

// ---------------------------------------------------------------- transpose
const KernelPlacementRegistrar transpose_place("transpose", DeviceType::kCuda,
                                               KernelPlacement{{1}, {}, not_integer_output});
NESTOR_REGISTER_KERNEL("transpose", DeviceType::kCuda, ([](KernelCtx& ctx) {
  const Tensor& x = ctx.input(0);
  int r = x.rank();
  Dims p;
  if (ops::transpose_identity(ctx, p)) return;
  Dims out(static_cast<size_t>(r)), st = strides_of(x.dims());
  for (int i = 0; i < r; ++i) out[i] = x.dim(static_cast<int>(p[i]));
  GatherMap m = gather_map(ctx, out);
  for (int i = 0; i < r; ++i) m.strides[i] = st[p[i]];
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
  Dims d = ops::fill_dims(ctx);
  const Tensor& v = ctx.input(1);
  Tensor& o = ctx.allocate_output(0, v.dtype(), d);
  const int64_t n = o.num_elements();
  CudaBackend& be = CudaBackend::of(ctx);
  NESTOR_DISPATCH_POD(v.dtype(), "fill", [&] {
    if (n == 0) return;
    fill_from_kernel<scalar_t><<<blocks_for(n), kThreads, 0, be.stream()>>>(o.data<scalar_t>(), n, v.data<scalar_t>());
    NESTOR_CUDA_CHECK_LAUNCH();
  });
}));

// y[i] = s + i * d, the product rounded first (as on the CPU: no fused multiply-add).
template <typename T>
__global__ void range_kernel(T* y, int64_t n, T s, T d) {
  NESTOR_GRID_STRIDE(i, n) y[i] = static_cast<T>(s + mul_rn(static_cast<T>(i), d));
}

// range(start, limit, delta): the bounds are host inputs (they give the output's size).
const KernelPlacementRegistrar range_place("range", DeviceType::kCuda, KernelPlacement{{0, 1, 2}, {}, not_integer_output});
NESTOR_REGISTER_KERNEL("range", DeviceType::kCuda, ([](KernelCtx& ctx) {
  ops::check_range_inputs(ctx);
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
  int64_t depth = 0, ax = 0;
  Dims d = ops::one_hot_dims(ctx, depth, ax);
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
