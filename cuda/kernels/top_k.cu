// CUDA kernels for cpp/src/ops/top_k.cc: top_k (float32, float64, int32, int64), top_k_grad
// and in_top_k (float32, float64 predictions).
//
// top_k sorts every row with cub::DeviceSegmentedRadixSort on order-preserving unsigned keys
// (NaN above +inf, -0 mapped to +0, so the CPU's order) with the column as the value; the
// sort is stable, so equal values keep the lower index first, as on the CPU. k is read on
// the host (ops/top_k_util.h: the CPU's checks and messages). top_k_grad's indices come from
// top_k (valid and distinct in a row) and stay on the device: each selected gradient is
// added into the zeroed output (repeats sum, as on the CPU), and an index out of range
// (which top_k never gives; the CPU fails on it) is skipped. in_top_k runs one thread per
// row with the CPU's rule.
#include <cub/device/device_segmented_radix_sort.cuh>

#include <climits>

#include "kernels/index_util.cuh"
#include "ops/top_k_util.h"

namespace nestor {
namespace cuda {
namespace {

__device__ inline uint32_t order_key(float v) {
  if (isnan(v)) return 0xFFFFFFFFu;
  const uint32_t b = __float_as_uint(v == 0.0f ? 0.0f : v);
  return (b & 0x80000000u) ? ~b : (b | 0x80000000u);
}
__device__ inline uint64_t order_key(double v) {
  if (isnan(v)) return ~0ull;
  const uint64_t b = static_cast<uint64_t>(__double_as_longlong(v == 0.0 ? 0.0 : v));
  return (b & 0x8000000000000000ull) ? ~b : (b | 0x8000000000000000ull);
}
__device__ inline uint32_t order_key(int32_t v) { return static_cast<uint32_t>(v) ^ 0x80000000u; }
__device__ inline uint64_t order_key(int64_t v) { return static_cast<uint64_t>(v) ^ 0x8000000000000000ull; }

template <typename T>
using KeyOf = std::conditional_t<sizeof(T) == 4, uint32_t, uint64_t>;

template <typename T>
__global__ void make_keys_kernel(const T* x, KeyOf<T>* keys, int32_t* cols, int64_t total, int64_t n) {
  NESTOR_GRID_STRIDE(e, total) {
    keys[e] = order_key(x[e]);
    cols[e] = static_cast<int32_t>(e % n);
  }
}

// values[r, j] = x[r, cols[r, j]], indices[r, j] = cols[r, j] for j < k (cols sorted per row).
template <typename T>
__global__ void take_top_kernel(const T* x, const int32_t* cols, T* vals, int32_t* inds, int64_t total, int64_t n,
                                int64_t k) {
  NESTOR_GRID_STRIDE(e, total) {
    const int64_t r = e / k, j = e % k;
    const int32_t c = cols[r * n + j];
    inds[e] = c;
    vals[e] = x[r * n + c];
  }
}

template <typename T>
void top_k_rows(KernelCtx& ctx, CudaBackend& be, const Tensor& x, const top_k::Layout& l, Tensor& vals,
                Tensor& inds) {
  using K = KeyOf<T>;
  const int64_t total = l.rows * l.n;
  const DType kt = sizeof(K) == 4 ? DType::kInt32 : DType::kInt64;  // storage for the unsigned keys
  Tensor keys_in = Tensor::empty(kt, {total}, be.allocator()), keys_out = Tensor::empty(kt, {total}, be.allocator());
  Tensor cols_in = Tensor::empty(DType::kInt32, {total}, be.allocator());
  Tensor cols_out = Tensor::empty(DType::kInt32, {total}, be.allocator());
  K* kin = static_cast<K*>(keys_in.raw());
  K* kout = static_cast<K*>(keys_out.raw());
  make_keys_kernel<T><<<blocks_for(total), kThreads, 0, be.stream()>>>(x.data<T>(), kin, cols_in.data<int32_t>(),
                                                                        total, l.n);
  NESTOR_CUDA_CHECK_LAUNCH();
  // cub counts items in int: sort at most INT_MAX items (whole rows) per call.
  const int64_t chunk = std::max<int64_t>(1, std::min<int64_t>(l.rows, INT_MAX / l.n));
  std::vector<int64_t> offsets(static_cast<size_t>(chunk + 1));
  for (int64_t r = 0; r <= chunk; ++r) offsets[static_cast<size_t>(r)] = r * l.n;
  DeviceInts dev(be, {&offsets});
  const int64_t* off = dev.part(0);
  for (int64_t r0 = 0; r0 < l.rows; r0 += chunk) {
    const int64_t rows = std::min(chunk, l.rows - r0), base = r0 * l.n;
    const int items = static_cast<int>(rows * l.n), segs = static_cast<int>(rows);
    size_t bytes = 0;
    NESTOR_CUDA_CHECK(cub::DeviceSegmentedRadixSort::SortPairsDescending(
        nullptr, bytes, kin + base, kout + base, cols_in.data<int32_t>() + base, cols_out.data<int32_t>() + base,
        items, segs, off, off + 1, 0, static_cast<int>(sizeof(K) * 8), be.stream()));
    Tensor temp = Tensor::empty(DType::kInt64, {static_cast<int64_t>((bytes + 7) / 8) + 1}, be.allocator());
    NESTOR_CUDA_CHECK(cub::DeviceSegmentedRadixSort::SortPairsDescending(
        temp.raw(), bytes, kin + base, kout + base, cols_in.data<int32_t>() + base, cols_out.data<int32_t>() + base,
        items, segs, off, off + 1, 0, static_cast<int>(sizeof(K) * 8), be.stream()));
  }
  const int64_t out_total = l.rows * l.k;
  take_top_kernel<T><<<blocks_for(out_total), kThreads, 0, be.stream()>>>(
      x.data<T>(), cols_out.data<int32_t>(), vals.data<T>(), inds.data<int32_t>(), out_total, l.n, l.k);
  NESTOR_CUDA_CHECK_LAUNCH();
}

const KernelPlacementRegistrar top_k_place("top_k", DeviceType::kCuda, KernelPlacement{{1}, {}, nullptr});
NESTOR_REGISTER_KERNEL("top_k", DeviceType::kCuda, ([](KernelCtx& ctx) {
  const Tensor& x = ctx.input(0);
  const top_k::Layout l = top_k::layout(ctx, x, ctx.input(1));  // k: host memory
  CudaBackend& be = CudaBackend::of(ctx);
  const Dims od = top_k::out_dims(x, l.k);
  Tensor& vals = ctx.allocate_output(0, x.dtype(), od);
  Tensor& inds = ctx.allocate_output(1, DType::kInt32, od);
  if (vals.num_elements() == 0) return;
  NESTOR_DISPATCH_NUMERIC(x.dtype(), "top_k", [&] { top_k_rows<scalar_t>(ctx, be, x, l, vals, inds); });
}));

// Added, not stored: the CPU adds dy into dx, so indices repeated within a row (which top_k
// never gives, but a caller may feed) sum there; a plain store would race and keep one.
template <typename T>
__global__ void top_k_grad_kernel(const T* g, const int32_t* idx, T* o, int64_t total, int64_t n, int64_t k) {
  NESTOR_GRID_STRIDE(e, total) {
    const int64_t r = e / k, c = idx[e];
    if (c >= 0 && c < n) atomicAdd(o + r * n + c, g[e]);
  }
}

NESTOR_REGISTER_KERNEL("top_k_grad", DeviceType::kCuda, ([](KernelCtx& ctx) {
  const Tensor& dy = ctx.input(0);
  const Tensor& idx = ctx.input(1);
  const Tensor& x = ctx.input(2);
  const top_k::Layout l = top_k::grad_layout(ctx, dy, idx, x);
  CudaBackend& be = CudaBackend::of(ctx);
  Tensor& o = ctx.allocate_output(0, dy.dtype(), x.dims());
  if (o.num_elements() == 0) return;
  NESTOR_CUDA_CHECK(cudaMemsetAsync(o.raw(), 0, o.nbytes(), be.stream()));
  const int64_t total = dy.num_elements();
  if (total == 0) return;
  NESTOR_DISPATCH_FLOAT(dy.dtype(), "top_k_grad", [&] {
    top_k_grad_kernel<scalar_t><<<blocks_for(total), kThreads, 0, be.stream()>>>(
        dy.data<scalar_t>(), idx.data<int32_t>(), o.data<scalar_t>(), total, l.n, l.k);
    NESTOR_CUDA_CHECK_LAUNCH();
  });
}));

template <typename T, typename I>
__global__ void in_top_k_kernel(const T* pred, const I* targets, bool* o, int64_t batch, int64_t classes,
                                int64_t k) {
  NESTOR_GRID_STRIDE(b, batch) {
    const T* row = pred + b * classes;
    const int64_t t = static_cast<int64_t>(targets[b]);
    bool ok = t >= 0 && t < classes && isfinite(row[t]);
    int64_t greater = 0;
    for (int64_t c = 0; ok && c < classes; ++c) {
      if (!isfinite(row[c])) ok = false;
      else if (row[c] > row[t]) ++greater;
    }
    o[b] = ok && greater < k;
  }
}

const KernelPlacementRegistrar in_top_k_place("in_top_k", DeviceType::kCuda, KernelPlacement{{2}, {}, nullptr});
NESTOR_REGISTER_KERNEL("in_top_k", DeviceType::kCuda, ([](KernelCtx& ctx) {
  const Tensor& pred = ctx.input(0);
  const Tensor& targets = ctx.input(1);
  const int64_t k = top_k::in_top_k_args(ctx, pred, targets, ctx.input(2));  // k: host memory
  const int64_t batch = pred.dim(0), classes = pred.dim(1);
  CudaBackend& be = CudaBackend::of(ctx);
  Tensor& o = ctx.allocate_output(0, DType::kBool, {batch});
  if (batch == 0) return;
  NESTOR_DISPATCH_FLOAT(pred.dtype(), "in_top_k", [&] {
    using T = scalar_t;
    NESTOR_DISPATCH_INDEX(targets.dtype(), "in_top_k", [&] {
      in_top_k_kernel<T, scalar_t><<<blocks_for(batch), kThreads, 0, be.stream()>>>(
          pred.data<T>(), targets.data<scalar_t>(), o.data<bool>(), batch, classes, k);
      NESTOR_CUDA_CHECK_LAUNCH();
    });
  });
}));

}  // namespace
}  // namespace cuda
}  // namespace nestor
