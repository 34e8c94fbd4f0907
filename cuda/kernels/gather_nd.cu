// CUDA kernels for cpp/src/ops/gather_nd.cc: gather_nd, scatter_nd, tensor_scatter_nd_update
// and tensor_scatter_nd_add, on the device for floating-point data (integer ones are index
// plumbing and stay on the CPU, as gather's).
//
// As for gather (gather.cu), indices (and scatter_nd's shape) are host-memory inputs: they
// are range-checked on the host by ops/nd_index.h with the CPU's messages, turned into one
// slice offset per index row, and copied to the device. The scatters group the index rows
// by target slice on the host; one thread per output element then applies its group in
// index order (adds in the CPU's order; the last update wins), so results are
// deterministic and the CPU's.
#include "kernels/index_util.cuh"
#include "ops/nd_index.h"

namespace nestor {
namespace cuda {
namespace {

bool floating_output(const Node& n) { return is_floating(n.out_dtypes[0]); }

// out[r, i] = params[off[r] + i], elements moved as raw bits.
template <typename E>
__global__ void gather_nd_kernel(const E* p, const int64_t* off, E* o, int64_t total, int64_t slice) {
  NESTOR_GRID_STRIDE(e, total) o[e] = p[off[e / slice] + e % slice];
}

const KernelPlacementRegistrar gather_nd_place("gather_nd", DeviceType::kCuda,
                                               KernelPlacement{{1}, {}, floating_output});
NESTOR_REGISTER_KERNEL("gather_nd", DeviceType::kCuda, ([](KernelCtx& ctx) {
  const Tensor& params = ctx.input(0);
  const Tensor& idx = ctx.input(1);  // host memory
  const int64_t b = ctx.attr_or<int64_t>("batch_dims", 0);
  const nd::Plan pl = nd::plan(ctx, params.dims(), idx.dims(), b, "params");
  const std::vector<int64_t> off = nd::offsets(ctx, pl, idx, params.dims(), b, "params");
  CudaBackend& be = CudaBackend::of(ctx);
  Tensor& o = ctx.allocate_output(0, params.dtype(), pl.out_dims);
  const int64_t total = o.num_elements();
  if (total == 0) return;
  DeviceInts dev(be, {&off});
  NESTOR_DISPATCH_FLOAT(params.dtype(), "gather_nd", [&] {
    gather_nd_kernel<scalar_t><<<blocks_for(total), kThreads, 0, be.stream()>>>(
        params.data<scalar_t>(), dev.part(0), o.data<scalar_t>(), total, pl.slice);
    NESTOR_CUDA_CHECK_LAUNCH();
  });
}));

// Group u of index rows (positions pos[offsets[u] .. offsets[u + 1]), in order) targets the
// slice starting at keys[u] * slice: o[that + i] = o[that + i] + each update (kAdd), or the
// last update.
template <typename T, bool kAdd>
__global__ void scatter_nd_kernel(const T* upd, const int64_t* keys, const int64_t* offsets, const int64_t* pos, T* o,
                                  int64_t total, int64_t slice) {
  NESTOR_GRID_STRIDE(e, total) {
    const int64_t u = e / slice, i = e % slice;
    T* dst = o + keys[u] * slice + i;
    if (kAdd) {
      T acc = *dst;
      for (int64_t k = offsets[u]; k < offsets[u + 1]; ++k) acc += upd[pos[k] * slice + i];
      *dst = acc;
    } else {
      *dst = upd[pos[offsets[u + 1] - 1] * slice + i];
    }
  }
}

// Applies `upd` at the slice offsets `off` (slices of pl.slice elements) of o, on the device.
template <bool kAdd>
void scatter_rows(KernelCtx& ctx, CudaBackend& be, const nd::Plan& pl, const std::vector<int64_t>& off,
                  const Tensor& upd, Tensor& o) {
  if (pl.slice == 0 || off.empty()) return;
  std::vector<int64_t> slot(off.size());
  for (size_t r = 0; r < off.size(); ++r) slot[r] = off[r] / pl.slice;
  const Groups gr = group_by_key(slot, o.num_elements() / pl.slice, false);
  const int64_t total = gr.size() * pl.slice;
  DeviceInts dev(be, {&gr.keys, &gr.offsets, &gr.pos});
  NESTOR_DISPATCH_FLOAT(upd.dtype(), ctx.node().op, [&] {
    scatter_nd_kernel<scalar_t, kAdd><<<blocks_for(total), kThreads, 0, be.stream()>>>(
        upd.data<scalar_t>(), dev.part(0), dev.part(1), dev.part(2), o.data<scalar_t>(), total, pl.slice);
    NESTOR_CUDA_CHECK_LAUNCH();
  });
}

const KernelPlacementRegistrar scatter_nd_place("scatter_nd", DeviceType::kCuda,
                                                KernelPlacement{{0, 2}, {}, floating_output});
NESTOR_REGISTER_KERNEL("scatter_nd", DeviceType::kCuda, ([](KernelCtx& ctx) {
  const Tensor& idx = ctx.input(0);  // host memory
  const Tensor& upd = ctx.input(1);
  const Dims shape = nd::scatter_shape(ctx, ctx.input(2));  // host memory
  const int64_t b = ctx.attr_or<int64_t>("batch_dims", 0);
  const nd::Plan pl = nd::plan(ctx, shape, idx.dims(), b, "shape");
  nd::check_updates(ctx, pl, upd);
  const std::vector<int64_t> off = nd::offsets(ctx, pl, idx, shape, b, "shape");
  CudaBackend& be = CudaBackend::of(ctx);
  Tensor& o = ctx.allocate_output(0, upd.dtype(), shape);
  if (o.num_elements() == 0) return;
  NESTOR_CUDA_CHECK(cudaMemsetAsync(o.raw(), 0, o.nbytes(), be.stream()));
  scatter_rows<true>(ctx, be, pl, off, upd, o);
}));

template <bool kAdd>
void tensor_scatter(KernelCtx& ctx) {
  const Tensor& t = ctx.input(0);
  const Tensor& idx = ctx.input(1);  // host memory
  const Tensor& upd = ctx.input(2);
  const auto checked = nd::tensor_scatter_plan(ctx, t, idx, upd);
  const nd::Plan& pl = checked.first;
  const std::vector<int64_t>& off = checked.second;
  CudaBackend& be = CudaBackend::of(ctx);
  Tensor& o = ctx.allocate_output(0, t.dtype(), t.dims());
  if (o.num_elements() == 0) return;
  NESTOR_CUDA_CHECK(cudaMemcpyAsync(o.raw(), t.raw(), t.nbytes(), cudaMemcpyDeviceToDevice, be.stream()));
  scatter_rows<kAdd>(ctx, be, pl, off, upd, o);
}

const KernelPlacementRegistrar tensor_scatter_update_place("tensor_scatter_nd_update", DeviceType::kCuda,
                                                           KernelPlacement{{1}, {}, floating_output});
const KernelPlacementRegistrar tensor_scatter_add_place("tensor_scatter_nd_add", DeviceType::kCuda,
                                                        KernelPlacement{{1}, {}, floating_output});
NESTOR_REGISTER_KERNEL("tensor_scatter_nd_update", DeviceType::kCuda, tensor_scatter<false>);
NESTOR_REGISTER_KERNEL("tensor_scatter_nd_add", DeviceType::kCuda, tensor_scatter<true>);

}  // namespace
}  // namespace cuda
}  // namespace nestor
