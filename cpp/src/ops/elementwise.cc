// Elementwise math: unary (negative, abs, square, sqrt, rsqrt, exp, log, log1p, sign,
// floor, ceil, round, reciprocal, cos, sin) and broadcasting binary (pow, maximum, minimum,
// squared_difference, floor_div, floor_mod). Gradients that need only the output use
// fused *_grad ops taking (dy, y).
#include <cmath>
#include <limits>
#include <type_traits>

#include "common.h"

namespace nestor {
namespace {

using ops::binary_kernel;
using ops::unary_kernel;

// ---------------------------------------------------------------- shape functions
void unary_float(ShapeCtx& c) {
  c.expect_inputs(1);
  c.expect_float(0);
  c.set_output(0, c.dtype(0), c.shape(0));
}

void unary_numeric(ShapeCtx& c) {
  c.expect_inputs(1);
  if (!is_numeric(c.dtype(0)))
    c.fail("input 0 must be float32, float64, int32 or int64, got ", dtype_name(c.dtype(0)));
  c.set_output(0, c.dtype(0), c.shape(0));
}

void binary_numeric(ShapeCtx& c) {
  ops::binary_same_dtype(c);
  if (!is_numeric(c.dtype(0)))
    c.fail("inputs must be float32, float64, int32 or int64, got ", dtype_name(c.dtype(0)));
}

void binary_float(ShapeCtx& c) {
  ops::binary_same_dtype(c);
  c.expect_float(0);
}

// ---------------------------------------------------------------- kernel helpers
template <typename F>
void float_unary(KernelCtx& ctx, const char* name, F f) {
  NESTOR_DISPATCH_FLOAT(ctx.input(0).dtype(), name, [&] {
    unary_kernel<scalar_t, scalar_t>(ctx, [&](scalar_t x) { return static_cast<scalar_t>(f(x)); });
  });
}

template <typename F>
void numeric_unary(KernelCtx& ctx, const char* name, F f) {
  NESTOR_DISPATCH_NUMERIC(ctx.input(0).dtype(), name, [&] {
    unary_kernel<scalar_t, scalar_t>(ctx, [&](scalar_t x) { return static_cast<scalar_t>(f(x)); });
  });
}

template <typename F>
void float_binary(KernelCtx& ctx, const char* name, F f) {
  NESTOR_DISPATCH_FLOAT(ctx.input(0).dtype(), name, [&] {
    binary_kernel<scalar_t, scalar_t>(ctx, [&](scalar_t a, scalar_t b) { return static_cast<scalar_t>(f(a, b)); });
  });
}

// Integer kernels that cannot divide by zero: checked before the (possibly parallel) loop.
template <typename T>
void check_no_zero_divisor(KernelCtx& ctx) {
  const Tensor& b = ctx.input(1);
  const T* pb = b.data<T>();
  for (int64_t i = 0; i < b.num_elements(); ++i)
    if (pb[i] == 0) ctx.fail(Code::kInvalidArgument, "Integer division by zero (element ", i, " of the divisor)");
}

// Half-to-even rounding, as np.round and tf.round.
template <typename T>
T round_half_even(T x) {
  T f = std::floor(x);
  T d = x - f;
  if (d > T(0.5)) return f + 1;
  if (d < T(0.5)) return f;
  return std::fmod(f, T(2)) == 0 ? f : f + 1;
}

template <typename T>
T floor_mod_value(T a, T b) {
  T r;
  if constexpr (std::is_integral<T>::value) r = a % b;
  else r = std::fmod(a, b);
  if (r != 0 && ((r < 0) != (b < 0))) r += b;
  return r;
}

// ---------------------------------------------------------------- unary
NESTOR_OP("negative")
    .shape(unary_numeric)
    .grad([](GradCtx& g) { g.set_grad(0, g.neg(g.grad(0))); })
    .cpu([](KernelCtx& ctx) { numeric_unary(ctx, "negative", [](auto x) { return -x; }); });

NESTOR_OP("abs")
    .shape(unary_numeric)
    .grad([](GradCtx& g) { g.set_grad(0, g.mul(g.grad(0), g.op("sign", {g.input(0)}))); })
    .cpu([](KernelCtx& ctx) { numeric_unary(ctx, "abs", [](auto x) { return x < 0 ? -x : x; }); });

NESTOR_OP("square")
    .shape(unary_numeric)
    .grad([](GradCtx& g) {
      Output x = g.input(0);
      g.set_grad(0, g.mul(g.grad(0), g.mul(x, g.scalar(2.0, g.dtype(x)))));
    })
    .cpu([](KernelCtx& ctx) { numeric_unary(ctx, "square", [](auto x) { return x * x; }); });

NESTOR_OP("sqrt")
    .shape(unary_float)
    .grad([](GradCtx& g) { g.set_grad(0, g.op("sqrt_grad", {g.grad(0), g.output(0)})); })
    .cpu([](KernelCtx& ctx) { float_unary(ctx, "sqrt", [](auto x) { return std::sqrt(x); }); });

// sqrt_grad(dy, y) = dy * 0.5 / y
NESTOR_OP("sqrt_grad")
    .shape(binary_float)
    .cpu([](KernelCtx& ctx) { float_binary(ctx, "sqrt_grad", [](auto dy, auto y) { return dy * 0.5 / y; }); });

NESTOR_OP("rsqrt")
    .shape(unary_float)
    .grad([](GradCtx& g) { g.set_grad(0, g.op("rsqrt_grad", {g.grad(0), g.output(0)})); })
    .cpu([](KernelCtx& ctx) { float_unary(ctx, "rsqrt", [](auto x) { return 1 / std::sqrt(x); }); });

// rsqrt_grad(dy, y) = -0.5 * dy * y^3
NESTOR_OP("rsqrt_grad")
    .shape(binary_float)
    .cpu([](KernelCtx& ctx) {
      float_binary(ctx, "rsqrt_grad", [](auto dy, auto y) { return -0.5 * dy * y * y * y; });
    });

NESTOR_OP("exp")
    .shape(unary_float)
    .grad([](GradCtx& g) { g.set_grad(0, g.mul(g.grad(0), g.output(0))); })
    .cpu([](KernelCtx& ctx) { float_unary(ctx, "exp", [](auto x) { return std::exp(x); }); });

NESTOR_OP("log")
    .shape(unary_float)
    .grad([](GradCtx& g) { g.set_grad(0, g.div(g.grad(0), g.input(0))); })
    .cpu([](KernelCtx& ctx) { float_unary(ctx, "log", [](auto x) { return std::log(x); }); });

NESTOR_OP("log1p")
    .shape(unary_float)
    .grad([](GradCtx& g) {
      Output x = g.input(0);
      g.set_grad(0, g.div(g.grad(0), g.add(x, g.scalar(1.0, g.dtype(x)))));
    })
    .cpu([](KernelCtx& ctx) { float_unary(ctx, "log1p", [](auto x) { return std::log1p(x); }); });

NESTOR_OP("sign")
    .shape(unary_numeric)
    .grad([](GradCtx& g) { g.set_grad(0, g.zeros_like(g.input(0))); })
    .cpu([](KernelCtx& ctx) {
      numeric_unary(ctx, "sign", [](auto x) { return (x > 0) - (x < 0); });
    });

NESTOR_OP("floor")
    .shape(unary_float)
    .no_grad()
    .cpu([](KernelCtx& ctx) { float_unary(ctx, "floor", [](auto x) { return std::floor(x); }); });

NESTOR_OP("ceil")
    .shape(unary_float)
    .no_grad()
    .cpu([](KernelCtx& ctx) { float_unary(ctx, "ceil", [](auto x) { return std::ceil(x); }); });

NESTOR_OP("cos")
    .shape(unary_float)
    .grad([](GradCtx& g) { g.set_grad(0, g.neg(g.mul(g.grad(0), g.op("sin", {g.input(0)})))); })
    .cpu([](KernelCtx& ctx) { float_unary(ctx, "cos", [](auto x) { return std::cos(x); }); });

NESTOR_OP("sin")
    .shape(unary_float)
    .grad([](GradCtx& g) { g.set_grad(0, g.mul(g.grad(0), g.op("cos", {g.input(0)}))); })
    .cpu([](KernelCtx& ctx) { float_unary(ctx, "sin", [](auto x) { return std::sin(x); }); });

NESTOR_OP("round")
    .shape(unary_numeric)
    .no_grad()
    .cpu([](KernelCtx& ctx) {
      if (is_integer(ctx.input(0).dtype())) {
        ctx.set_output(0, ctx.input(0));
        return;
      }
      float_unary(ctx, "round", [](auto x) { return round_half_even(x); });
    });

NESTOR_OP("reciprocal")
    .shape(unary_float)
    .grad([](GradCtx& g) { g.set_grad(0, g.op("reciprocal_grad", {g.grad(0), g.output(0)})); })
    .cpu([](KernelCtx& ctx) { float_unary(ctx, "reciprocal", [](auto x) { return 1 / x; }); });

// reciprocal_grad(dy, y) = -dy * y^2
NESTOR_OP("reciprocal_grad")
    .shape(binary_float)
    .cpu([](KernelCtx& ctx) { float_binary(ctx, "reciprocal_grad", [](auto dy, auto y) { return -dy * y * y; }); });

// ---------------------------------------------------------------- binary
NESTOR_OP("pow")
    .shape(binary_numeric)
    .grad([](GradCtx& g) {
      Output d = g.grad(0), x = g.input(0), y = g.input(1), z = g.output(0);
      DType dt = g.dtype(x);
      Output one = g.scalar(1.0, dt);
      // dz/dx = y * x^(y-1)
      Output gx = g.mul(d, g.mul(y, g.op("pow", {x, g.sub(y, one)})));
      g.set_grad(0, g.sum_to(gx, x));
      // dz/dy = z * log(x), taken as 0 where x <= 0 (as TF)
      Output pos = g.op("greater", {x, g.zeros_like(x)});
      Output safe_x = g.select(pos, x, g.ones_like(x));
      Output log_x = g.select(pos, g.op("log", {safe_x}), g.zeros_like(x));
      g.set_grad(1, g.sum_to(g.mul(d, g.mul(z, log_x)), y));
    })
    .cpu([](KernelCtx& ctx) {
      DType dt = ctx.input(0).dtype();
      if (is_integer(dt)) {
        NESTOR_DISPATCH_INDEX(dt, "pow", [&] {
          const Tensor& e = ctx.input(1);
          const scalar_t* pe = e.data<scalar_t>();
          for (int64_t i = 0; i < e.num_elements(); ++i)
            if (pe[i] < 0)
              ctx.fail(Code::kInvalidArgument, "Integers to negative integer powers are not allowed (exponent ",
                       pe[i], " at element ", i, ")");
          binary_kernel<scalar_t, scalar_t>(ctx, [](scalar_t base, scalar_t n) {
            using U = std::make_unsigned_t<scalar_t>;  // wraps on overflow, as TF
            U r = 1, b = static_cast<U>(base);
            while (n > 0) {
              if (n & 1) r *= b;
              b *= b;
              n >>= 1;
            }
            return static_cast<scalar_t>(r);
          });
        });
        return;
      }
      float_binary(ctx, "pow", [](auto a, auto b) { return std::pow(a, b); });
    });

// Gradient of maximum/minimum: dy goes to x where `x_wins` (ties included), else to y.
void minmax_grad(GradCtx& g, const char* cmp) {
  Output d = g.grad(0), x = g.input(0), y = g.input(1);
  Output x_wins = g.op(cmp, {x, y});
  Output zeros = g.zeros_like(d);
  g.set_grad(0, g.sum_to(g.select(x_wins, d, zeros), x));
  g.set_grad(1, g.sum_to(g.select(x_wins, zeros, d), y));
}

NESTOR_OP("maximum")
    .shape(binary_numeric)
    .grad([](GradCtx& g) { minmax_grad(g, "greater_equal"); })
    .cpu([](KernelCtx& ctx) {
      NESTOR_DISPATCH_NUMERIC(ctx.input(0).dtype(), "maximum", [&] {
        binary_kernel<scalar_t, scalar_t>(ctx, [](scalar_t a, scalar_t b) {
          if constexpr (std::is_floating_point<scalar_t>::value)
            if (std::isnan(a) || std::isnan(b)) return std::numeric_limits<scalar_t>::quiet_NaN();
          return a >= b ? a : b;
        });
      });
    });

NESTOR_OP("minimum")
    .shape(binary_numeric)
    .grad([](GradCtx& g) { minmax_grad(g, "less_equal"); })
    .cpu([](KernelCtx& ctx) {
      NESTOR_DISPATCH_NUMERIC(ctx.input(0).dtype(), "minimum", [&] {
        binary_kernel<scalar_t, scalar_t>(ctx, [](scalar_t a, scalar_t b) {
          if constexpr (std::is_floating_point<scalar_t>::value)
            if (std::isnan(a) || std::isnan(b)) return std::numeric_limits<scalar_t>::quiet_NaN();
          return a <= b ? a : b;
        });
      });
    });

NESTOR_OP("squared_difference")
    .shape(binary_numeric)
    .grad([](GradCtx& g) {
      Output d = g.grad(0), x = g.input(0), y = g.input(1);
      Output gx = g.mul(d, g.mul(g.scalar(2.0, g.dtype(x)), g.sub(x, y)));
      g.set_grad(0, g.sum_to(gx, x));
      g.set_grad(1, g.sum_to(g.neg(gx), y));
    })
    .cpu([](KernelCtx& ctx) {
      NESTOR_DISPATCH_NUMERIC(ctx.input(0).dtype(), "squared_difference", [&] {
        binary_kernel<scalar_t, scalar_t>(ctx, [](scalar_t a, scalar_t b) { return (a - b) * (a - b); });
      });
    });

NESTOR_OP("floor_div")
    .shape(binary_numeric)
    .no_grad()
    .cpu([](KernelCtx& ctx) {
      DType dt = ctx.input(0).dtype();
      if (is_integer(dt)) {
        NESTOR_DISPATCH_INDEX(dt, "floor_div", [&] {
          check_no_zero_divisor<scalar_t>(ctx);
          binary_kernel<scalar_t, scalar_t>(ctx, [](scalar_t a, scalar_t b) {
            scalar_t q = a / b;
            if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
            return q;
          });
        });
        return;
      }
      float_binary(ctx, "floor_div", [](auto a, auto b) { return std::floor(a / b); });
    });

NESTOR_OP("floor_mod")
    .shape(binary_numeric)
    .grad([](GradCtx& g) {
      // floor_mod(x, y) = x - floor(x / y) * y
      Output d = g.grad(0), x = g.input(0), y = g.input(1);
      g.set_grad(0, g.sum_to(d, x));
      g.set_grad(1, g.sum_to(g.neg(g.mul(d, g.op("floor_div", {x, y}))), y));
    })
    .cpu([](KernelCtx& ctx) {
      DType dt = ctx.input(0).dtype();
      if (is_integer(dt)) {
        NESTOR_DISPATCH_INDEX(dt, "floor_mod", [&] {
          check_no_zero_divisor<scalar_t>(ctx);
          binary_kernel<scalar_t, scalar_t>(ctx, [](scalar_t a, scalar_t b) { return floor_mod_value(a, b); });
        });
        return;
      }
      float_binary(ctx, "floor_mod", [](auto a, auto b) { return floor_mod_value(a, b); });
    });

}  // namespace
}  // namespace nestor
