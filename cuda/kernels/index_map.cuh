// cuda/kernels/index_map.cuh: the gathers of the index-mapping array ops (transpose, slice,
// strided_slice, tile): output element (o_0, ..., o_{r-1}) reads the input at
// sum_d begin_d + (o_d mod m_d) * stride_d, m_d = 0 meaning no modulo (tile's wrap-around):
// the CPU's per-dimension offset tables (slice.cc), as a formula.
// The map is built on the host from the CPU's shape rules; is_identity tells, as the CPU's
// gather_output does, when the op is a view of its input.
#pragma once

#include <vector>

#include "kernels/common.cuh"
#include "ops/slice_util.h"  // is_identity_gather; strides_of comes with ops/shape_util.h

namespace nestor {
namespace cuda {

// An IndexMap (dims, strides) with a begin offset and a modulo per dimension.
struct GatherMap : IndexMap {
  int64_t begins[kMaxRank] = {};
  int64_t mods[kMaxRank] = {};
  // The CPU's table entry off[d][o] (on the host for is_identity).
  __host__ __device__ int64_t offset(int d, int64_t o) const {
    return begins[d] + (mods[d] ? o % mods[d] : o) * strides[d];
  }
  __device__ int64_t operator()(int64_t idx) const {
    return sum_over_coords(rank, dims, idx, [this](int i, int64_t o) { return offset(i, o); });
  }
};

// A map of output dims `out` (rank <= kMaxRank, checked), all strides 0 and no modulo.
inline GatherMap gather_map(const KernelCtx& ctx, const Dims& out) {
  if (out.size() > static_cast<size_t>(kMaxRank))
    ctx.fail(Code::kUnimplemented, "CUDA kernels support rank <= ", kMaxRank, ", got shape ", dims_str(out));
  GatherMap m;
  m.rank = static_cast<int>(out.size());
  for (size_t i = 0; i < out.size(); ++i) m.dims[i] = out[i];
  return m;
}

// True when the map reads an input of shape `in` unchanged (the CPU's is_identity).
inline bool is_identity(const GatherMap& m, const Dims& in) {
  return ops::is_identity_gather(Dims(m.dims, m.dims + m.rank), in,
                                 [&](size_t d, int64_t o) { return m.offset(static_cast<int>(d), o); });
}

template <typename T>
__global__ void gather_map_kernel(const T* x, T* y, int64_t n, GatherMap m) {
  NESTOR_GRID_STRIDE(i, n) y[i] = x[m(i)];
}

// Output 0 = the gather of `m` over x (a view of x when the map is the identity), given
// the shape `final_dims` (same number of elements as m's dims).
inline void gather_output(KernelCtx& ctx, const Tensor& x, const GatherMap& m, const Dims& final_dims) {
  if (is_identity(m, x.dims())) {
    ctx.set_output(0, x.reshaped(final_dims));
    return;
  }
  Tensor& o = ctx.allocate_output(0, x.dtype(), final_dims);
  const int64_t n = o.num_elements();
  if (n == 0) return;
  CudaBackend& be = CudaBackend::of(ctx);
  NESTOR_DISPATCH_POD(x.dtype(), ctx.node().op, [&] {
    gather_map_kernel<scalar_t><<<blocks_for(n), kThreads, 0, be.stream()>>>(x.data<scalar_t>(), o.data<scalar_t>(),
                                                                            n, m);
    NESTOR_CUDA_CHECK_LAUNCH();
  });
}

// Placement rule of the data-movement ops: integer nodes stay on the CPU. Integer tensors
// of these ops are index plumbing (shapes, axes, ids) read on the host by the kernels that
// consume them (as integer reshape, cast and gather); on the device they would cost a copy
// up and a blocking copy back. Float and bool nodes run on the device.
inline bool not_integer_output(const Node& n) { return !is_integer(n.out_dtypes[0]); }

}  // namespace cuda
}  // namespace nestor
