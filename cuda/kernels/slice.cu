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
// The shape rules (slice_sizes, strided_spec, tiled and the gradients' checks) are
// slice.cc's, from ops/slice_util.h.
#include "kernels/index_map.cuh"
#include "ops/slice_util.h"

namespace nestor {
namespace cuda {
namespace {

using ops::check_grad_elements;
using ops::check_tiling;
using ops::kernel_spec;
using ops::StridedSpec;
using ops::tiled;

// The gather of a strided slice of an input of shape `in`.
GatherMap strided_map(const KernelCtx& ctx, const Dims& in, const StridedSpec& sp) {
  GatherMap m = gather_map(ctx, sp.size);
  Dims st = strides_of(in);
  for (size_t d = 0; d < in.size(); ++d) {
    m.begins[d] = sp.begin[d] * st[d];
    m.strides[d] = sp.stride[d] * st[d];
  }
  return m;
}

// Tile element o of dim d reads input element o % in[d].
GatherMap tile_map(const KernelCtx& ctx, const Dims& in, const Dims& out) {
  GatherMap m = gather_map(ctx, out);
  Dims st = strides_of(in);
  for (size_t d = 0; d < in.size(); ++d) {
    m.strides[d] = st[d];
    m.mods[d] = in[d];
  }
  return m;
}

// ---------------------------------------------------------------- slice
const KernelPlacementRegistrar slice_place("slice", DeviceType::kCuda, KernelPlacement{{1, 2}, {}, not_integer_output});
NESTOR_REGISTER_KERNEL("slice", DeviceType::kCuda, ([](KernelCtx& ctx) {
  const Tensor& x = ctx.input(0);
  Dims b, size;
  if (ops::slice_rows_view(ctx, b, size)) return;  // a contiguous block of rows: aliased
  GatherMap m = gather_map(ctx, size);
  Dims st = strides_of(x.dims());
  for (size_t d = 0; d < size.size(); ++d) {
    m.begins[d] = b[d] * st[d];
    m.strides[d] = st[d];
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
  check_grad_elements(ctx, dy, sp.size);
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
  check_tiling(ctx, dy, in);
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
      elem.strides[d] = st[d];
      tile.strides[d] = in[d] * st[d];
    }
    tile_grad_kernel<scalar_t><<<blocks_for(n), kThreads, 0, be.stream()>>>(dy.data<scalar_t>(), o.data<scalar_t>(), n,
                                                                           num_elements(mult), elem, tile);
    NESTOR_CUDA_CHECK_LAUNCH();
  });
}));

}  // namespace
}  // namespace cuda
}  // namespace nestor
