// CUDA kernels for cpp/src/ops/shape_ops.cc: shape (computed on the host: its output is
// host memory), reshape (a view; the new shape is read on the host), zeros_like,
// ones_like, cast, indexed_slices_to_dense (indices and dense_shape on the host).
//
// Integer reshapes and casts to integers stay on the CPU: those are index plumbing (the ids
// of a gather's gradient, segment ids), read on the host by the sparse kernels that use them,
// and on the device they would cost a copy up and a blocking copy back every step.
#include "kernels/index_util.cuh"
#include "ops/shape_util.h"
#include "ops/sparse_util.h"

namespace nestor {
namespace cuda {
namespace {

const KernelPlacementRegistrar shape_place("shape", DeviceType::kCuda, KernelPlacement{{}, {0}, nullptr});
NESTOR_REGISTER_KERNEL("shape", DeviceType::kCuda, ([](KernelCtx& ctx) {
  const Dims& d = ctx.input(0).dims();
  DType out = ctx.node().out_dtypes[0];
  Tensor o = Tensor::empty(out, {static_cast<int64_t>(d.size())}, cpu_allocator());
  for (size_t i = 0; i < d.size(); ++i) {
    if (out == DType::kInt32) o.data<int32_t>()[i] = static_cast<int32_t>(d[i]);
    else o.data<int64_t>()[i] = d[i];
  }
  ctx.set_output(0, o);
}));

bool floating_output(const Node& n) { return is_floating(n.out_dtypes[0]); }

const KernelPlacementRegistrar reshape_place("reshape", DeviceType::kCuda, KernelPlacement{{1}, {}, floating_output});
NESTOR_REGISTER_KERNEL("reshape", DeviceType::kCuda, ([](KernelCtx& ctx) {
  const Tensor& x = ctx.input(0);
  ctx.set_output(0, x.reshaped(resolve_reshape(ctx, x.dims(), ctx.input(1).to_int_vector(), x.num_elements())));
}));

template <typename T>
__global__ void fill_kernel(T* p, int64_t n, T v) {
  NESTOR_GRID_STRIDE(i, n) p[i] = v;
}

template <typename T>
void fill_device(KernelCtx& ctx, Tensor& o, T v) {
  int64_t n = o.num_elements();
  if (n == 0) return;
  fill_kernel<T><<<blocks_for(n), kThreads, 0, CudaBackend::of(ctx).stream()>>>(o.data<T>(), n, v);
  NESTOR_CUDA_CHECK_LAUNCH();
}

template <int kValue>
void fill_like(KernelCtx& ctx) {
  const Tensor& x = ctx.input(0);
  Tensor& o = ctx.allocate_output(0, x.dtype(), x.dims());
  NESTOR_DISPATCH_POD(x.dtype(), ctx.node().op, [&] { fill_device<scalar_t>(ctx, o, static_cast<scalar_t>(kValue)); });
}
NESTOR_REGISTER_KERNEL("zeros_like", DeviceType::kCuda, fill_like<0>);
NESTOR_REGISTER_KERNEL("ones_like", DeviceType::kCuda, fill_like<1>);

template <typename S, typename D>
__global__ void cast_kernel(const S* x, D* y, int64_t n) {
  NESTOR_GRID_STRIDE(i, n) {
    if constexpr (std::is_same<D, bool>::value) y[i] = x[i] != S(0);
    else y[i] = static_cast<D>(x[i]);
  }
}

const KernelPlacementRegistrar cast_place("cast", DeviceType::kCuda, KernelPlacement{{}, {}, floating_output});
NESTOR_REGISTER_KERNEL("cast", DeviceType::kCuda, ([](KernelCtx& ctx) {
  const Tensor& x = ctx.input(0);
  DType dst = ctx.attr<DType>("DstT");
  if (dst == x.dtype()) {
    ctx.set_output(0, x);
    return;
  }
  CudaBackend& be = CudaBackend::of(ctx);
  Tensor& o = ctx.allocate_output(0, dst, x.dims());
  int64_t n = x.num_elements();
  if (n == 0) return;
  NESTOR_DISPATCH_POD(x.dtype(), "cast", [&] {
    using S = scalar_t;
    NESTOR_DISPATCH_POD(dst, "cast", [&] {
      cast_kernel<S, scalar_t><<<blocks_for(n), kThreads, 0, be.stream()>>>(x.data<S>(), o.data<scalar_t>(), n);
      NESTOR_CUDA_CHECK_LAUNCH();
    });
  });
}));

// indexed_slices_to_dense(indices, values, dense_shape): zeros of dense_shape with values[i]
// added into row indices[i]. Indices and dense_shape are read and checked on the host with
// the CPU's messages (ops/sparse_util.h); the positions naming each row are grouped there
// in increasing order, and one thread per element of a named row adds them in that order
// from zero, as the CPU does, so duplicates sum deterministically to the CPU's bits.
template <typename T>
__global__ void slices_to_dense_kernel(const T* val, const int64_t* keys, const int64_t* offsets, const int64_t* pos,
                                       T* out, int64_t groups, int64_t row) {
  NESTOR_GRID_STRIDE(e, groups * row) {
    const int64_t u = e / row, j = e % row;
    T acc = T(0);
    for (int64_t p = offsets[u]; p < offsets[u + 1]; ++p) acc += val[pos[p] * row + j];
    out[keys[u] * row + j] = acc;
  }
}

const KernelPlacementRegistrar slices_place("indexed_slices_to_dense", DeviceType::kCuda,
                                            KernelPlacement{{0, 2}, {}, floating_output});
NESTOR_REGISTER_KERNEL("indexed_slices_to_dense", DeviceType::kCuda, ([](KernelCtx& ctx) {
  const Tensor& idx = ctx.input(0);
  const Tensor& val = ctx.input(1);
  Dims shape = ctx.input(2).to_int_vector();
  CudaBackend& be = CudaBackend::of(ctx);
  Tensor& o = ctx.allocate_output(0, val.dtype(), shape);
  sparse_util::DenseSlices d = sparse_util::dense_slices(ctx, idx, val, shape);  // the CPU's checks
  if (o.nbytes()) NESTOR_CUDA_CHECK(cudaMemsetAsync(o.raw(), 0, o.nbytes(), be.stream()));
  if (d.idx.empty() || d.row == 0) return;
  Groups gr = group_by_key(d.idx, d.rows, false);
  DeviceInts dev(be, {&gr.keys, &gr.offsets, &gr.pos});
  const int64_t n = gr.size() * d.row;
  NESTOR_DISPATCH_FLOAT(val.dtype(), "indexed_slices_to_dense", [&] {
    slices_to_dense_kernel<scalar_t><<<blocks_for(n), kThreads, 0, be.stream()>>>(
        val.data<scalar_t>(), dev.part(0), dev.part(1), dev.part(2), o.data<scalar_t>(), gr.size(), d.row);
    NESTOR_CUDA_CHECK_LAUNCH();
  });
}));

}  // namespace
}  // namespace cuda
}  // namespace nestor
