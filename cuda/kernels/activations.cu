// CUDA kernels for cpp/src/ops/activations.cc: relu, relu6, elu, selu, leaky_relu,
// sigmoid, tanh, softplus, softsign, swish, gelu (erf or tanh form) and their
// *_grad(dy, y-or-x) ops (same
// formulas; the scalar constants are applied in double, as the CPU kernels do), and
// _fused_relu_bias_grad (placed by exec/fuse.h in place of relu_grad -> bias_add_grad).
#include <cstdint>

#include "kernels/common.cuh"

namespace nestor {
namespace cuda {
namespace {

constexpr double kSeluScale = 1.0507009873554804934193349852946;
constexpr double kSeluAlpha = 1.6732632423543772848170429916717;

template <typename T>
__device__ T stable_sigmoid(T x) {
  if (x >= 0) return T(1) / (T(1) + exp(-x));
  T e = exp(x);
  return e / (T(1) + e);
}

template <typename T> struct Relu { __device__ T operator()(T x) const { return x > 0 ? x : T(0); } };
template <typename T> struct ReluGrad { __device__ T operator()(T dy, T y) const { return y > 0 ? dy : T(0); } };
template <typename T> struct Relu6 {
  __device__ T operator()(T x) const { return x > 0 ? (x < 6 ? x : T(6)) : T(0); }
};
template <typename T> struct Relu6Grad { __device__ T operator()(T dy, T x) const { return x > 0 && x < 6 ? dy : T(0); } };
template <typename T> struct Elu { __device__ T operator()(T x) const { return x > 0 ? x : T(expm1(x)); } };
template <typename T> struct EluGrad { __device__ T operator()(T dy, T y) const { return y > 0 ? dy : dy * (y + 1); } };
template <typename T> struct Selu {
  __device__ T operator()(T x) const {
    return static_cast<T>(x > 0 ? kSeluScale * x : kSeluScale * kSeluAlpha * expm1(x));
  }
};
template <typename T> struct SeluGrad {
  __device__ T operator()(T dy, T y) const {
    return static_cast<T>(y > 0 ? dy * kSeluScale : dy * (y + kSeluScale * kSeluAlpha));
  }
};
template <typename T> struct Sigmoid { __device__ T operator()(T x) const { return stable_sigmoid(x); } };
template <typename T> struct SigmoidGrad { __device__ T operator()(T dy, T y) const { return dy * y * (1 - y); } };
template <typename T> struct Tanh { __device__ T operator()(T x) const { return tanh(x); } };
template <typename T> struct TanhGrad { __device__ T operator()(T dy, T y) const { return dy * (1 - y * y); } };
template <typename T> struct Softplus {
  __device__ T operator()(T x) const { return x > 0 ? x + log1p(exp(-x)) : log1p(exp(x)); }
};
template <typename T> struct SoftplusGrad { __device__ T operator()(T dy, T x) const { return dy * stable_sigmoid(x); } };
template <typename T> struct Softsign { __device__ T operator()(T x) const { return x / (1 + fabs(x)); } };
template <typename T> struct SoftsignGrad {
  __device__ T operator()(T dy, T x) const {
    T d = 1 + fabs(x);
    return dy / (d * d);
  }
};
template <typename T> struct Swish { __device__ T operator()(T x) const { return x * stable_sigmoid(x); } };
template <typename T> struct SwishGrad {
  __device__ T operator()(T dy, T x) const {
    T s = stable_sigmoid(x);
    return dy * s * (1 + x * (1 - s));
  }
};
template <typename T> struct LeakyRelu {
  double alpha;
  __device__ T operator()(T x) const { return x > 0 ? x : static_cast<T>(alpha * x); }
};
template <typename T> struct LeakyReluGrad {
  double alpha;
  __device__ T operator()(T dy, T x) const { return x > 0 ? dy : static_cast<T>(alpha * dy); }
};

// gelu: the CPU's formulas, evaluated in double as there (its constants are doubles).
constexpr double kSqrt2OverPi = 0.79788456080286535587989211986876;
constexpr double kInvSqrt2 = 0.70710678118654752440084436210485;
constexpr double kInvSqrt2Pi = 0.39894228040143267793994605993438;
constexpr double kGeluCoeff = 0.044715;
template <typename T> struct Gelu {
  bool approximate;
  __device__ T operator()(T x) const {
    if (approximate) return static_cast<T>(0.5 * x * (1 + tanh(kSqrt2OverPi * (x + kGeluCoeff * x * x * x))));
    return static_cast<T>(0.5 * x * (1 + erf(x * kInvSqrt2)));
  }
};
template <typename T> struct GeluGrad {
  bool approximate;
  __device__ T operator()(T dy, T x) const {
    double xd = x;
    if (approximate) {
      double t = tanh(kSqrt2OverPi * (xd + kGeluCoeff * xd * xd * xd));
      double dinner = kSqrt2OverPi * (1 + 3 * kGeluCoeff * xd * xd);
      return static_cast<T>(dy * (0.5 * (1 + t) + 0.5 * xd * (1 - t * t) * dinner));
    }
    return static_cast<T>(dy * (0.5 * (1 + erf(xd * kInvSqrt2)) + xd * kInvSqrt2Pi * exp(-0.5 * xd * xd)));
  }
};

NESTOR_REGISTER_KERNEL("relu", DeviceType::kCuda, NESTOR_CUDA_UNARY(NESTOR_DISPATCH_NUMERIC, "relu", Relu));
NESTOR_REGISTER_KERNEL("relu_grad", DeviceType::kCuda, NESTOR_CUDA_BINARY(NESTOR_DISPATCH_NUMERIC, "relu_grad", ReluGrad));
NESTOR_REGISTER_KERNEL("relu6", DeviceType::kCuda, NESTOR_CUDA_UNARY(NESTOR_DISPATCH_NUMERIC, "relu6", Relu6));
NESTOR_REGISTER_KERNEL("relu6_grad", DeviceType::kCuda, NESTOR_CUDA_BINARY(NESTOR_DISPATCH_FLOAT, "relu6_grad", Relu6Grad));
NESTOR_REGISTER_KERNEL("elu", DeviceType::kCuda, NESTOR_CUDA_UNARY(NESTOR_DISPATCH_FLOAT, "elu", Elu));
NESTOR_REGISTER_KERNEL("elu_grad", DeviceType::kCuda, NESTOR_CUDA_BINARY(NESTOR_DISPATCH_FLOAT, "elu_grad", EluGrad));
NESTOR_REGISTER_KERNEL("selu", DeviceType::kCuda, NESTOR_CUDA_UNARY(NESTOR_DISPATCH_FLOAT, "selu", Selu));
NESTOR_REGISTER_KERNEL("selu_grad", DeviceType::kCuda, NESTOR_CUDA_BINARY(NESTOR_DISPATCH_FLOAT, "selu_grad", SeluGrad));
NESTOR_REGISTER_KERNEL("sigmoid", DeviceType::kCuda, NESTOR_CUDA_UNARY(NESTOR_DISPATCH_FLOAT, "sigmoid", Sigmoid));
NESTOR_REGISTER_KERNEL("sigmoid_grad", DeviceType::kCuda,
                       NESTOR_CUDA_BINARY(NESTOR_DISPATCH_FLOAT, "sigmoid_grad", SigmoidGrad));
NESTOR_REGISTER_KERNEL("tanh", DeviceType::kCuda, NESTOR_CUDA_UNARY(NESTOR_DISPATCH_FLOAT, "tanh", Tanh));
NESTOR_REGISTER_KERNEL("tanh_grad", DeviceType::kCuda, NESTOR_CUDA_BINARY(NESTOR_DISPATCH_FLOAT, "tanh_grad", TanhGrad));
NESTOR_REGISTER_KERNEL("softplus", DeviceType::kCuda, NESTOR_CUDA_UNARY(NESTOR_DISPATCH_FLOAT, "softplus", Softplus));
NESTOR_REGISTER_KERNEL("softplus_grad", DeviceType::kCuda,
                       NESTOR_CUDA_BINARY(NESTOR_DISPATCH_FLOAT, "softplus_grad", SoftplusGrad));
NESTOR_REGISTER_KERNEL("softsign", DeviceType::kCuda, NESTOR_CUDA_UNARY(NESTOR_DISPATCH_FLOAT, "softsign", Softsign));
NESTOR_REGISTER_KERNEL("softsign_grad", DeviceType::kCuda,
                       NESTOR_CUDA_BINARY(NESTOR_DISPATCH_FLOAT, "softsign_grad", SoftsignGrad));
NESTOR_REGISTER_KERNEL("swish", DeviceType::kCuda, NESTOR_CUDA_UNARY(NESTOR_DISPATCH_FLOAT, "swish", Swish));
NESTOR_REGISTER_KERNEL("swish_grad", DeviceType::kCuda, NESTOR_CUDA_BINARY(NESTOR_DISPATCH_FLOAT, "swish_grad", SwishGrad));
NESTOR_REGISTER_KERNEL("leaky_relu", DeviceType::kCuda, ([](KernelCtx& ctx) {
  double alpha = ctx.attr_or<double>("alpha", 0.2);
  NESTOR_DISPATCH_FLOAT(ctx.input(0).dtype(), "leaky_relu",
                        [&] { launch_unary<scalar_t, scalar_t>(ctx, LeakyRelu<scalar_t>{alpha}); });
}));
NESTOR_REGISTER_KERNEL("leaky_relu_grad", DeviceType::kCuda, ([](KernelCtx& ctx) {
  double alpha = ctx.attr_or<double>("alpha", 0.2);
  NESTOR_DISPATCH_FLOAT(ctx.input(0).dtype(), "leaky_relu_grad",
                        [&] { launch_binary<scalar_t, scalar_t>(ctx, LeakyReluGrad<scalar_t>{alpha}); });
}));
NESTOR_REGISTER_KERNEL("gelu", DeviceType::kCuda, ([](KernelCtx& ctx) {
  bool approximate = ctx.attr_or<bool>("approximate", false);
  NESTOR_DISPATCH_FLOAT(ctx.input(0).dtype(), "gelu",
                        [&] { launch_unary<scalar_t, scalar_t>(ctx, Gelu<scalar_t>{approximate}); });
}));
NESTOR_REGISTER_KERNEL("gelu_grad", DeviceType::kCuda, ([](KernelCtx& ctx) {
  bool approximate = ctx.attr_or<bool>("approximate", false);
  NESTOR_DISPATCH_FLOAT(ctx.input(0).dtype(), "gelu_grad",
                        [&] { launch_binary<scalar_t, scalar_t>(ctx, GeluGrad<scalar_t>{approximate}); });
}));

// ---------------------------------------------------------------- _fused_relu_bias_grad
// dz = dy where y > 0, db = column sums of dz, in one pass over dy and y ([N, C] float32).
// Block (kRbgCols, kRbgLanes): each thread owns one column of a kRbgCols-wide tile (reads
// and writes are coalesced along the row) and every kRbgLanes-th row of one chunk of rows;
// the block adds its lanes' sums in lane order into one partial per (chunk, column), and a
// second small kernel adds the chunks' partials in chunk order. The chunking depends on N
// alone, so db is the same on every run (no atomics).
constexpr int kRbgCols = 32;
constexpr int kRbgLanes = 8;
constexpr int64_t kRbgMinChunkRows = 256;
constexpr int64_t kRbgMaxChunks = 4096;

__global__ void relu_bias_grad_kernel(const float* __restrict__ dy, const float* __restrict__ y, float* __restrict__ dz,
                                      float* __restrict__ part, int64_t N, int64_t C, int64_t chunk_rows) {
  __shared__ float lane_sum[kRbgLanes][kRbgCols + 1];
  const int64_t c = blockIdx.x * int64_t(kRbgCols) + threadIdx.x;
  const int64_t r0 = blockIdx.y * chunk_rows;
  const int64_t r1 = r0 + chunk_rows < N ? r0 + chunk_rows : N;
  float s = 0.0f;
  if (c < C)
    for (int64_t r = r0 + threadIdx.y; r < r1; r += kRbgLanes) {
      const int64_t i = r * C + c;
      const float g = y[i] > 0.0f ? dy[i] : 0.0f;
      dz[i] = g;
      s += g;
    }
  lane_sum[threadIdx.y][threadIdx.x] = s;
  __syncthreads();
  if (threadIdx.y == 0 && c < C) {
    float t = lane_sum[0][threadIdx.x];
    for (int j = 1; j < kRbgLanes; ++j) t += lane_sum[j][threadIdx.x];
    part[blockIdx.y * C + c] = t;
  }
}

__global__ void sum_chunks_kernel(const float* __restrict__ part, float* __restrict__ db, int64_t chunks, int64_t C) {
  NESTOR_GRID_STRIDE(c, C) {
    float t = part[c];
    for (int64_t g = 1; g < chunks; ++g) t += part[g * C + c];
    db[c] = t;
  }
}

NESTOR_REGISTER_KERNEL("_fused_relu_bias_grad", DeviceType::kCuda, ([](KernelCtx& ctx) {
  const Tensor& dy = ctx.input(0);
  const Tensor& y = ctx.input(1);
  if (dy.rank() != 2 || dy.dims() != y.dims())
    ctx.fail(Code::kInvalidArgument, "dy and y must be 2-D of one shape, got ", dims_str(dy.dims()), " and ",
             dims_str(y.dims()));
  if (dy.dtype() != DType::kFloat32 || y.dtype() != DType::kFloat32)
    ctx.fail(Code::kInvalidArgument, "_fused_relu_bias_grad is float32 only, got ", dtype_name(dy.dtype()));
  const int64_t N = dy.dim(0), C = dy.dim(1);
  CudaBackend& be = CudaBackend::of(ctx);
  Tensor& dz = ctx.allocate_output(0, DType::kFloat32, dy.dims());
  Tensor& db = ctx.allocate_output(1, DType::kFloat32, {C});
  if (C == 0) return;
  if (N == 0) {
    NESTOR_CUDA_CHECK(cudaMemsetAsync(db.raw(), 0, db.nbytes(), be.stream()));  // sums of nothing
    return;
  }
  const int64_t chunk_rows = std::max(kRbgMinChunkRows, (N + kRbgMaxChunks - 1) / kRbgMaxChunks);
  const int64_t chunks = (N + chunk_rows - 1) / chunk_rows;
  const int64_t col_tiles = (C + kRbgCols - 1) / kRbgCols;
  if (col_tiles > INT32_MAX) ctx.fail(Code::kUnimplemented, "too many columns for CUDA: ", dims_str(dy.dims()));
  Tensor partials;  // stream-ordered: released to the cache once both kernels are queued
  float* part = db.data<float>();
  if (chunks > 1) {
    partials = Tensor::empty(DType::kFloat32, {chunks, C}, ctx.allocator());
    part = partials.data<float>();
  }
  const dim3 grid(static_cast<unsigned>(col_tiles), static_cast<unsigned>(chunks));
  relu_bias_grad_kernel<<<grid, dim3(kRbgCols, kRbgLanes), 0, be.stream()>>>(dy.data<float>(), y.data<float>(),
                                                                            dz.data<float>(), part, N, C, chunk_rows);
  NESTOR_CUDA_CHECK_LAUNCH();
  if (chunks > 1) {
    sum_chunks_kernel<<<blocks_for(C), kThreads, 0, be.stream()>>>(part, db.data<float>(), chunks, C);
    NESTOR_CUDA_CHECK_LAUNCH();
  }
}));

}  // namespace
}  // namespace cuda
}  // namespace nestor
