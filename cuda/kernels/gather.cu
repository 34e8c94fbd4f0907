// CUDA kernels for cpp/src/ops/gather.cc: gather (axis attribute; batch_dims must be 0,
// as on the CPU), collapse_dims_like (a view), gather_axis_grad, clip_rows_by_norm and
// its grad.
//
// Indices are host-memory inputs: they are range-checked on the host with the CPU
// kernel's message (naming the position of the first bad index) and then copied to the
// device. gather and collapse_dims_like run on the device for floating-point data only:
// integer gathers are index plumbing (segment ids, shapes) whose results feed host-memory
// inputs of other kernels, so they stay on the CPU instead of making two copies.
// gather_axis_grad adds the gradient rows of repeated indices in index order (as the
// CPU): the host groups positions by index and one thread per output element sums its
// group, so the result is deterministic.
#include <sstream>

#include "kernels/index_util.cuh"
#include "ops/axis_util.h"
#include "ops/gather_util.h"

namespace nestor {
namespace cuda {
namespace {

using ops::normalize_axis;

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

// The CPU's check: every index (host memory) in [0, limit).
std::vector<int64_t> checked_indices(const KernelCtx& ctx, const Tensor& idx, int64_t limit, const char* what) {
  std::vector<int64_t> v = host_ints(idx, what);
  for (size_t j = 0; j < v.size(); ++j)
    if (v[j] < 0 || v[j] >= limit)
      ctx.fail(Code::kInvalidArgument, what, position_str(idx.dims(), static_cast<int64_t>(j)), " = ", v[j],
               " is not in [0, ", limit, ")");
  return v;
}

bool floating_output(const Node& n) { return is_floating(n.out_dtypes[0]); }

// out[a, j, i] = params[a, idx[j], i] with (outer, limit, inner) params and n indices.
template <typename E>
__global__ void gather_kernel(const E* p, const int64_t* idx, E* o, int64_t total, int64_t n, int64_t limit,
                              int64_t inner) {
  NESTOR_GRID_STRIDE(e, total) {
    const int64_t i = e % inner, r = e / inner;
    const int64_t j = r % n, a = r / n;
    o[e] = p[(a * limit + idx[j]) * inner + i];
  }
}

const KernelPlacementRegistrar gather_place("gather", DeviceType::kCuda, KernelPlacement{{1}, {}, floating_output});
NESTOR_REGISTER_KERNEL("gather", DeviceType::kCuda, ([](KernelCtx& ctx) {
  const Tensor& params = ctx.input(0);
  const Tensor& idx = ctx.input(1);  // host memory
  if (params.rank() == 0) ctx.fail(Code::kInvalidArgument, "params must be at least 1-D, got a scalar");
  int64_t axis = normalize_axis(ctx, ctx.attr_or<int64_t>("axis", 0), params.rank());
  const Dims& pd = params.dims();
  int64_t outer = 1, inner = 1, limit = pd[static_cast<size_t>(axis)];
  for (int64_t k = 0; k < axis; ++k) outer *= pd[static_cast<size_t>(k)];
  for (size_t k = static_cast<size_t>(axis) + 1; k < pd.size(); ++k) inner *= pd[k];
  std::vector<int64_t> iv = checked_indices(ctx, idx, limit, "indices");
  Dims out(pd.begin(), pd.begin() + axis);
  out.insert(out.end(), idx.dims().begin(), idx.dims().end());
  out.insert(out.end(), pd.begin() + axis + 1, pd.end());
  CudaBackend& be = CudaBackend::of(ctx);
  Tensor& o = ctx.allocate_output(0, params.dtype(), out);
  const int64_t total = o.num_elements(), n = static_cast<int64_t>(iv.size());
  if (total == 0) return;
  DeviceInts dev(be, {&iv});
  auto launch = [&](auto* tag) {
    using E = std::remove_pointer_t<decltype(tag)>;
    gather_kernel<E><<<blocks_for(total), kThreads, 0, be.stream()>>>(params.data<E>(), dev.part(0), o.data<E>(),
                                                                       total, n, limit, inner);
    NESTOR_CUDA_CHECK_LAUNCH();
  };
  switch (dtype_size(params.dtype())) {  // elements are moved as raw bits
    case 1: launch(static_cast<uint8_t*>(nullptr)); break;
    case 4: launch(static_cast<uint32_t*>(nullptr)); break;
    case 8: launch(static_cast<uint64_t*>(nullptr)); break;
    default: ctx.fail(Code::kUnimplemented, "gather: unsupported dtype ", dtype_name(params.dtype()), " on the GPU");
  }
}));

// collapse_dims_like(x, indices): a view of x; only the dims of indices (host) are read.
const KernelPlacementRegistrar collapse_place("collapse_dims_like", DeviceType::kCuda,
                                              KernelPlacement{{1}, {}, floating_output});
NESTOR_REGISTER_KERNEL("collapse_dims_like", DeviceType::kCuda, gather_util::collapse_dims_like);

// o[a, keys[u], i] = sum over the group u of positions j (in order) of g[a, j, i]; rows
// no index names stay zero.
template <typename T>
__global__ void gather_axis_grad_kernel(const T* g, const int64_t* keys, const int64_t* offsets, const int64_t* pos,
                                        T* o, int64_t total, int64_t groups, int64_t n, int64_t limit,
                                        int64_t inner) {
  NESTOR_GRID_STRIDE(e, total) {
    const int64_t i = e % inner, r = e / inner;
    const int64_t u = r % groups, a = r / groups;
    T acc = T(0);
    for (int64_t k = offsets[u]; k < offsets[u + 1]; ++k) acc += g[(a * n + pos[k]) * inner + i];
    o[(a * limit + keys[u]) * inner + i] = acc;
  }
}

const KernelPlacementRegistrar gather_axis_grad_place("gather_axis_grad", DeviceType::kCuda,
                                                      KernelPlacement{{1, 2}, {}, nullptr});
NESTOR_REGISTER_KERNEL("gather_axis_grad", DeviceType::kCuda, ([](KernelCtx& ctx) {
  const Tensor& d = ctx.input(0);
  const Tensor& idx = ctx.input(1);  // host memory
  Dims pd = ctx.input(2).to_int_vector();  // host memory
  int64_t axis = normalize_axis(ctx, ctx.attr_or<int64_t>("axis", 0), static_cast<int64_t>(pd.size()));
  int64_t outer = 1, inner = 1, limit = pd[static_cast<size_t>(axis)];
  for (int64_t k = 0; k < axis; ++k) outer *= pd[static_cast<size_t>(k)];
  for (size_t k = static_cast<size_t>(axis) + 1; k < pd.size(); ++k) inner *= pd[k];
  int64_t n = idx.num_elements();
  if (d.num_elements() != outer * n * inner)
    ctx.fail(Code::kInvalidArgument, "grad of shape ", dims_str(d.dims()), " does not match params ", dims_str(pd),
             " gathered by indices ", dims_str(idx.dims()), " along axis ", axis);
  std::vector<int64_t> iv = checked_indices(ctx, idx, limit, "indices");
  CudaBackend& be = CudaBackend::of(ctx);
  Tensor& o = ctx.allocate_output(0, d.dtype(), pd);
  NESTOR_DISPATCH_FLOAT(d.dtype(), "gather_axis_grad", [&] {
    using T = scalar_t;
    if (o.num_elements() == 0) return;
    NESTOR_CUDA_CHECK(cudaMemsetAsync(o.raw(), 0, o.nbytes(), be.stream()));
    Groups gr = group_by_key(iv, limit, false);
    const int64_t total = outer * gr.size() * inner;
    if (total == 0) return;
    DeviceInts dev(be, {&gr.keys, &gr.offsets, &gr.pos});
    gather_axis_grad_kernel<T><<<blocks_for(total), kThreads, 0, be.stream()>>>(
        d.data<T>(), dev.part(0), dev.part(1), dev.part(2), o.data<T>(), total, gr.size(), n, limit, inner);
    NESTOR_CUDA_CHECK_LAUNCH();
  });
}));

// clip_rows_by_norm(x, max_norm; row_dims): one warp per row (slice over the last
// row_dims dims); the squared norm is a fixed-order warp reduction (deterministic).
int64_t clip_row_size(const KernelCtx& ctx, const Tensor& x) {
  int64_t k = ctx.attr_or<int64_t>("row_dims", 1);
  if (k < 0 || k > x.rank()) ctx.fail(Code::kInvalidArgument, "row_dims ", k, " is out of range for rank ", x.rank());
  int64_t r = 1;
  for (int i = x.rank() - static_cast<int>(k); i < x.rank(); ++i) r *= x.dim(i);
  return r;
}

constexpr int kWarp = 32;

template <typename T>
__device__ T warp_sum(T v) {
  // xor butterfly: every lane ends with the same bits (each step adds a commuted pair).
  for (int off = kWarp / 2; off > 0; off /= 2) v += __shfl_xor_sync(0xffffffffu, v, off);
  return v;
}

template <typename T>
__global__ void clip_rows_kernel(const T* x, const T* max_norm, T* o, int64_t rows, int64_t row) {
  const int lane = threadIdx.x % kWarp;
  const int64_t warps = int64_t(gridDim.x) * (blockDim.x / kWarp);
  for (int64_t r = (blockIdx.x * int64_t(blockDim.x) + threadIdx.x) / kWarp; r < rows; r += warps) {
    const T* xr = x + r * row;
    T n2 = 0;
    for (int64_t j = lane; j < row; j += kWarp) n2 += mul_rn(xr[j], xr[j]);
    n2 = warp_sum(n2);
    const T m = *max_norm, n = sqrt(n2);
    const T s = n > m ? m / n : T(1);
    for (int64_t j = lane; j < row; j += kWarp) o[r * row + j] = xr[j] * s;
  }
}

template <typename T>
__global__ void clip_rows_grad_kernel(const T* g, const T* x, const T* max_norm, T* o, int64_t rows, int64_t row) {
  const int lane = threadIdx.x % kWarp;
  const int64_t warps = int64_t(gridDim.x) * (blockDim.x / kWarp);
  for (int64_t r = (blockIdx.x * int64_t(blockDim.x) + threadIdx.x) / kWarp; r < rows; r += warps) {
    const T* xr = x + r * row;
    const T* gr = g + r * row;
    T n2 = 0, xg = 0;
    for (int64_t j = lane; j < row; j += kWarp) {
      n2 += mul_rn(xr[j], xr[j]);
      xg += mul_rn(xr[j], gr[j]);
    }
    n2 = warp_sum(n2);
    xg = warp_sum(xg);
    const T m = *max_norm, n = sqrt(n2);
    for (int64_t j = lane; j < row; j += kWarp) o[r * row + j] = n > m ? (m / n) * (gr[j] - xr[j] * xg / n2) : gr[j];
  }
}

void check_max_norm(const KernelCtx& ctx, const Tensor& m, const Tensor& x) {
  if (m.num_elements() != 1 || m.dtype() != x.dtype())
    ctx.fail(Code::kInvalidArgument, "max_norm must be a single ", dtype_name(x.dtype()), " value, got shape ",
             dims_str(m.dims()), " and dtype ", dtype_name(m.dtype()));
}

unsigned warp_blocks(int64_t rows) { return blocks_for(rows * kWarp); }

NESTOR_REGISTER_KERNEL("clip_rows_by_norm", DeviceType::kCuda, ([](KernelCtx& ctx) {
  const Tensor& x = ctx.input(0);
  int64_t row = clip_row_size(ctx, x);
  check_max_norm(ctx, ctx.input(1), x);
  CudaBackend& be = CudaBackend::of(ctx);
  Tensor& o = ctx.allocate_output(0, x.dtype(), x.dims());
  NESTOR_DISPATCH_FLOAT(x.dtype(), "clip_rows_by_norm", [&] {
    using T = scalar_t;
    int64_t rows = row ? x.num_elements() / row : 0;
    if (rows == 0) return;
    clip_rows_kernel<T><<<warp_blocks(rows), kThreads, 0, be.stream()>>>(x.data<T>(), ctx.input(1).data<T>(),
                                                                           o.data<T>(), rows, row);
    NESTOR_CUDA_CHECK_LAUNCH();
  });
}));

NESTOR_REGISTER_KERNEL("clip_rows_by_norm_grad", DeviceType::kCuda, ([](KernelCtx& ctx) {
  const Tensor& gt = ctx.input(0);
  const Tensor& x = ctx.input(1);
  int64_t row = clip_row_size(ctx, x);
  if (gt.num_elements() != x.num_elements() || gt.dtype() != x.dtype())
    ctx.fail(Code::kInvalidArgument, "grad of shape ", dims_str(gt.dims()), " and dtype ", dtype_name(gt.dtype()),
             " does not match x of shape ", dims_str(x.dims()), " and dtype ", dtype_name(x.dtype()));
  check_max_norm(ctx, ctx.input(2), x);
  CudaBackend& be = CudaBackend::of(ctx);
  Tensor& o = ctx.allocate_output(0, x.dtype(), x.dims());
  NESTOR_DISPATCH_FLOAT(x.dtype(), "clip_rows_by_norm_grad", [&] {
    using T = scalar_t;
    int64_t rows = row ? x.num_elements() / row : 0;
    if (rows == 0) return;
    clip_rows_grad_kernel<T><<<warp_blocks(rows), kThreads, 0, be.stream()>>>(
        gt.data<T>(), x.data<T>(), ctx.input(2).data<T>(), o.data<T>(), rows, row);
    NESTOR_CUDA_CHECK_LAUNCH();
  });
}));

}  // namespace
}  // namespace cuda
}  // namespace nestor
