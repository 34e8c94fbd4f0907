// CUDA kernels for cpp/src/ops/elementwise.cc: the unary ops (negative, abs, square, sqrt,
// rsqrt, exp, log, log1p, sign, floor, ceil, round, reciprocal, cos, sin), the fused
// *_grad(dy, y) ops and the broadcasting binary ops (pow, maximum, minimum, squared_difference, floor_div,
// floor_mod), with the CPU kernels' formulas: sqrt_grad and rsqrt_grad apply their 0.5 in
// double, round is half-to-even by the same floor/fmod steps (so -0.5 gives +0), sign of
// NaN is 0, maximum/minimum propagate NaN, floor_mod takes the divisor's sign.
//
// Integer pow, floor_div and floor_mod stay on the CPU: their CPU kernels check the
// exponents / divisors on the host and fail on a negative exponent or a zero divisor.
#include <limits>
#include <type_traits>

#include "kernels/common.cuh"

namespace nestor {
namespace cuda {
namespace {

// Single-precision math for float, double for double (as std:: overloads on the host).
__device__ inline float d_sqrt(float x) { return sqrtf(x); }
__device__ inline double d_sqrt(double x) { return sqrt(x); }
__device__ inline float d_exp(float x) { return expf(x); }
__device__ inline double d_exp(double x) { return exp(x); }
__device__ inline float d_log(float x) { return logf(x); }
__device__ inline double d_log(double x) { return log(x); }
__device__ inline float d_log1p(float x) { return log1pf(x); }
__device__ inline double d_log1p(double x) { return log1p(x); }
__device__ inline float d_floor(float x) { return floorf(x); }
__device__ inline double d_floor(double x) { return floor(x); }
__device__ inline float d_ceil(float x) { return ceilf(x); }
__device__ inline double d_ceil(double x) { return ceil(x); }
__device__ inline float d_cos(float x) { return cosf(x); }
__device__ inline double d_cos(double x) { return cos(x); }
__device__ inline float d_sin(float x) { return sinf(x); }
__device__ inline double d_sin(double x) { return sin(x); }
__device__ inline float d_fmod(float a, float b) { return fmodf(a, b); }
__device__ inline double d_fmod(double a, double b) { return fmod(a, b); }
__device__ inline float d_pow(float a, float b) { return powf(a, b); }
__device__ inline double d_pow(double a, double b) { return pow(a, b); }

// ---------------------------------------------------------------- unary
template <typename T> struct Negative { __device__ T operator()(T x) const { return static_cast<T>(-x); } };
// x < 0 ? -x : x, as the CPU kernel (keeps -0.0 as it is, unlike fabs).
template <typename T> struct Abs { __device__ T operator()(T x) const { return x < 0 ? static_cast<T>(-x) : x; } };
template <typename T> struct Square { __device__ T operator()(T x) const { return static_cast<T>(x * x); } };
template <typename T> struct Sqrt { __device__ T operator()(T x) const { return d_sqrt(x); } };
template <typename T> struct Rsqrt { __device__ T operator()(T x) const { return T(1) / d_sqrt(x); } };
template <typename T> struct Exp { __device__ T operator()(T x) const { return d_exp(x); } };
template <typename T> struct Log { __device__ T operator()(T x) const { return d_log(x); } };
template <typename T> struct Log1p { __device__ T operator()(T x) const { return d_log1p(x); } };
template <typename T> struct Sign {
  __device__ T operator()(T x) const { return static_cast<T>(static_cast<int>(x > 0) - static_cast<int>(x < 0)); }
};
template <typename T> struct Floor { __device__ T operator()(T x) const { return d_floor(x); } };
template <typename T> struct Ceil { __device__ T operator()(T x) const { return d_ceil(x); } };
template <typename T> struct Cos { __device__ T operator()(T x) const { return d_cos(x); } };
template <typename T> struct Sin { __device__ T operator()(T x) const { return d_sin(x); } };
// Half to even (np.round, tf.round), by the CPU kernel's steps.
template <typename T> struct Round {
  __device__ T operator()(T x) const {
    T f = d_floor(x);
    T d = x - f;
    if (d > T(0.5)) return f + 1;
    if (d < T(0.5)) return f;
    return d_fmod(f, T(2)) == 0 ? f : f + 1;
  }
};
template <typename T> struct Reciprocal { __device__ T operator()(T x) const { return T(1) / x; } };

// ---------------------------------------------------------------- fused gradients (dy, y)
// dy * 0.5 / y, in double (the CPU kernel's 0.5 is a double literal).
template <typename T> struct SqrtGrad {
  __device__ T operator()(T dy, T y) const {
    return static_cast<T>(static_cast<double>(dy) * 0.5 / static_cast<double>(y));
  }
};
// -0.5 * dy * y * y * y, in double, left to right.
template <typename T> struct RsqrtGrad {
  __device__ T operator()(T dy, T y) const {
    double yd = static_cast<double>(y);
    return static_cast<T>(-0.5 * static_cast<double>(dy) * yd * yd * yd);
  }
};
template <typename T> struct ReciprocalGrad { __device__ T operator()(T dy, T y) const { return -dy * y * y; } };

// ---------------------------------------------------------------- binary
template <typename T> struct Pow { __device__ T operator()(T a, T b) const { return d_pow(a, b); } };
template <typename T> struct Maximum {
  __device__ T operator()(T a, T b) const {
    if constexpr (std::is_floating_point<T>::value)
      if (isnan(a) || isnan(b)) return std::numeric_limits<T>::quiet_NaN();
    return a >= b ? a : b;
  }
};
template <typename T> struct Minimum {
  __device__ T operator()(T a, T b) const {
    if constexpr (std::is_floating_point<T>::value)
      if (isnan(a) || isnan(b)) return std::numeric_limits<T>::quiet_NaN();
    return a <= b ? a : b;
  }
};
template <typename T> struct SquaredDifference {
  __device__ T operator()(T a, T b) const { return static_cast<T>((a - b) * (a - b)); }
};
template <typename T> struct FloorDiv { __device__ T operator()(T a, T b) const { return d_floor(a / b); } };
// fmod, then moved to the divisor's sign (floating types only: see the placement below).
template <typename T> struct FloorMod {
  __device__ T operator()(T a, T b) const {
    T r = d_fmod(a, b);
    if (r != 0 && ((r < 0) != (b < 0))) r += b;
    return r;
  }
};

// ---------------------------------------------------------------- registrations
NESTOR_REGISTER_KERNEL("negative", DeviceType::kCuda,
                       NESTOR_CUDA_UNARY(NESTOR_DISPATCH_NUMERIC, "negative", Negative));
NESTOR_REGISTER_KERNEL("abs", DeviceType::kCuda, NESTOR_CUDA_UNARY(NESTOR_DISPATCH_NUMERIC, "abs", Abs));
NESTOR_REGISTER_KERNEL("square", DeviceType::kCuda, NESTOR_CUDA_UNARY(NESTOR_DISPATCH_NUMERIC, "square", Square));
NESTOR_REGISTER_KERNEL("sqrt", DeviceType::kCuda, NESTOR_CUDA_UNARY(NESTOR_DISPATCH_FLOAT, "sqrt", Sqrt));
NESTOR_REGISTER_KERNEL("sqrt_grad", DeviceType::kCuda,
                       NESTOR_CUDA_BINARY(NESTOR_DISPATCH_FLOAT, "sqrt_grad", SqrtGrad));
NESTOR_REGISTER_KERNEL("rsqrt", DeviceType::kCuda, NESTOR_CUDA_UNARY(NESTOR_DISPATCH_FLOAT, "rsqrt", Rsqrt));
NESTOR_REGISTER_KERNEL("rsqrt_grad", DeviceType::kCuda,
                       NESTOR_CUDA_BINARY(NESTOR_DISPATCH_FLOAT, "rsqrt_grad", RsqrtGrad));
NESTOR_REGISTER_KERNEL("exp", DeviceType::kCuda, NESTOR_CUDA_UNARY(NESTOR_DISPATCH_FLOAT, "exp", Exp));
NESTOR_REGISTER_KERNEL("log", DeviceType::kCuda, NESTOR_CUDA_UNARY(NESTOR_DISPATCH_FLOAT, "log", Log));
NESTOR_REGISTER_KERNEL("log1p", DeviceType::kCuda, NESTOR_CUDA_UNARY(NESTOR_DISPATCH_FLOAT, "log1p", Log1p));
NESTOR_REGISTER_KERNEL("sign", DeviceType::kCuda, NESTOR_CUDA_UNARY(NESTOR_DISPATCH_NUMERIC, "sign", Sign));
NESTOR_REGISTER_KERNEL("floor", DeviceType::kCuda, NESTOR_CUDA_UNARY(NESTOR_DISPATCH_FLOAT, "floor", Floor));
NESTOR_REGISTER_KERNEL("ceil", DeviceType::kCuda, NESTOR_CUDA_UNARY(NESTOR_DISPATCH_FLOAT, "ceil", Ceil));
NESTOR_REGISTER_KERNEL("cos", DeviceType::kCuda, NESTOR_CUDA_UNARY(NESTOR_DISPATCH_FLOAT, "cos", Cos));
NESTOR_REGISTER_KERNEL("sin", DeviceType::kCuda, NESTOR_CUDA_UNARY(NESTOR_DISPATCH_FLOAT, "sin", Sin));
// Integers round to themselves: the input is the output (no copy), as on the CPU.
NESTOR_REGISTER_KERNEL("round", DeviceType::kCuda, ([](KernelCtx& ctx) {
  if (is_integer(ctx.input(0).dtype())) {
    ctx.set_output(0, ctx.input(0));
    return;
  }
  NESTOR_DISPATCH_FLOAT(ctx.input(0).dtype(), "round",
                        [&] { launch_unary<scalar_t, scalar_t>(ctx, Round<scalar_t>{}); });
}));
NESTOR_REGISTER_KERNEL("reciprocal", DeviceType::kCuda,
                       NESTOR_CUDA_UNARY(NESTOR_DISPATCH_FLOAT, "reciprocal", Reciprocal));
NESTOR_REGISTER_KERNEL("reciprocal_grad", DeviceType::kCuda,
                       NESTOR_CUDA_BINARY(NESTOR_DISPATCH_FLOAT, "reciprocal_grad", ReciprocalGrad));

NESTOR_REGISTER_KERNEL("maximum", DeviceType::kCuda, NESTOR_CUDA_BINARY(NESTOR_DISPATCH_NUMERIC, "maximum", Maximum));
NESTOR_REGISTER_KERNEL("minimum", DeviceType::kCuda, NESTOR_CUDA_BINARY(NESTOR_DISPATCH_NUMERIC, "minimum", Minimum));
NESTOR_REGISTER_KERNEL("squared_difference", DeviceType::kCuda,
                       NESTOR_CUDA_BINARY(NESTOR_DISPATCH_NUMERIC, "squared_difference", SquaredDifference));

// Integer pow fails on a negative exponent, integer floor_div / floor_mod on a zero divisor
// (both checked on the host by the CPU kernels): integer nodes of these ops run on the CPU.
bool floating_output(const Node& n) { return is_floating(n.out_dtypes[0]); }
const KernelPlacementRegistrar pow_place("pow", DeviceType::kCuda, KernelPlacement{{}, {}, floating_output});
const KernelPlacementRegistrar floor_div_place("floor_div", DeviceType::kCuda,
                                               KernelPlacement{{}, {}, floating_output});
const KernelPlacementRegistrar floor_mod_place("floor_mod", DeviceType::kCuda,
                                               KernelPlacement{{}, {}, floating_output});
NESTOR_REGISTER_KERNEL("pow", DeviceType::kCuda, NESTOR_CUDA_BINARY(NESTOR_DISPATCH_FLOAT, "pow", Pow));
NESTOR_REGISTER_KERNEL("floor_div", DeviceType::kCuda,
                       NESTOR_CUDA_BINARY(NESTOR_DISPATCH_FLOAT, "floor_div", FloorDiv));
NESTOR_REGISTER_KERNEL("floor_mod", DeviceType::kCuda,
                       NESTOR_CUDA_BINARY(NESTOR_DISPATCH_FLOAT, "floor_mod", FloorMod));

}  // namespace
}  // namespace cuda
}  // namespace nestor
