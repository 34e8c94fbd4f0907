// CUDA kernels for cpp/src/ops/activations.cc: relu, relu6, elu, selu, leaky_relu,
// sigmoid, tanh, softplus, softsign, swish and their *_grad(dy, y-or-x) ops (same
// formulas; the scalar constants are applied in double, as the CPU kernels do).
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

}  // namespace
}  // namespace cuda
}  // namespace nestor
