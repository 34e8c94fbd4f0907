// CUDA kernel for cpp/src/ops/matmul.cc: cuBLAS GEMM (float32/float64; TF32 only when
// nestor::allow_tf32()), strided-batched for rank >= 3, a's leading dims folded into rows
// when b is 2-D. Row-major C = op(A) op(B) is computed as column-major C^T = op(B)^T op(A)^T.
#include <climits>

#include "kernels/common.cuh"
#include "ops/shape_util.h"

namespace nestor {
namespace cuda {
namespace {

template <typename T>
__global__ void zero_kernel(T* p, int64_t n) {
  NESTOR_GRID_STRIDE(i, n) p[i] = T(0);
}

cublasStatus_t gemm(cublasHandle_t h, bool ta, bool tb, int m, int n, int k, const float* a, const float* b,
                    float* c, long long sa, long long sb, long long sc, int batch) {
  const float one = 1.0f, zero = 0.0f;
  return cublasSgemmStridedBatched(h, tb ? CUBLAS_OP_T : CUBLAS_OP_N, ta ? CUBLAS_OP_T : CUBLAS_OP_N, n, m, k, &one,
                                   b, tb ? k : n, sb, a, ta ? m : k, sa, &zero, c, n, sc, batch);
}
cublasStatus_t gemm(cublasHandle_t h, bool ta, bool tb, int m, int n, int k, const double* a, const double* b,
                    double* c, long long sa, long long sb, long long sc, int batch) {
  const double one = 1.0, zero = 0.0;
  return cublasDgemmStridedBatched(h, tb ? CUBLAS_OP_T : CUBLAS_OP_N, ta ? CUBLAS_OP_T : CUBLAS_OP_N, n, m, k, &one,
                                   b, tb ? k : n, sb, a, ta ? m : k, sa, &zero, c, n, sc, batch);
}

const KernelPlacementRegistrar matmul_place("matmul", DeviceType::kCuda,
                                            KernelPlacement{{}, {}, [](const Node& n) { return is_floating(n.out_dtypes[0]); }});

NESTOR_REGISTER_KERNEL("matmul", DeviceType::kCuda, ([](KernelCtx& ctx) {
  const Tensor& a = ctx.input(0);
  const Tensor& b = ctx.input(1);
  bool ta = ctx.attr_or<bool>("transpose_a", false), tb = ctx.attr_or<bool>("transpose_b", false);
  MatmulDims md = matmul_dims(ctx, a, b, ta, tb);
  int64_t m = md.m, n = md.n, k = md.k, batch = md.batch;
  bool fold = md.fold;
  CudaBackend& be = CudaBackend::of(ctx);
  Tensor& o = ctx.allocate_output(0, a.dtype(), md.out);
  if (fold) {
    m *= batch;
    batch = 1;
  }
  if (o.num_elements() == 0) return;
  if (m > INT_MAX || n > INT_MAX || k > INT_MAX || batch > INT_MAX)
    ctx.fail(Code::kUnimplemented, "matmul dimensions above 2^31 - 1 are not supported on CUDA: ",
             dims_str(a.dims()), " x ", dims_str(b.dims()));
  NESTOR_DISPATCH_FLOAT(a.dtype(), "matmul", [&] {
    using T = scalar_t;
    if (k == 0) {
      zero_kernel<T><<<blocks_for(o.num_elements()), kThreads, 0, be.stream()>>>(o.data<T>(), o.num_elements());
      NESTOR_CUDA_CHECK_LAUNCH();
      return;
    }
    std::lock_guard<std::mutex> l(be.blas_mutex());
    NESTOR_CUBLAS_CHECK(gemm(be.cublas(), ta, tb, static_cast<int>(m), static_cast<int>(n), static_cast<int>(k),
                             a.data<T>(), b.data<T>(), o.data<T>(), m * k, fold ? 0 : k * n, m * n,
                             static_cast<int>(batch)));
  });
}));

}  // namespace
}  // namespace cuda
}  // namespace nestor
