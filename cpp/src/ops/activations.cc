// Activations: relu, relu6, elu, selu, leaky_relu, gelu, sigmoid, tanh, softplus, softsign,
// swish. Each forward op's gradient is a separate *_grad op taking (dy, y or x) so the
// backward pass is one fused elementwise kernel.
#include <algorithm>
#include <cmath>
#include <vector>

#include "common.h"

namespace nestor {
namespace {

NESTOR_OP("relu")
    .shape(same_as_input)
    .grad([](GradCtx& g) { g.set_grad(0, g.op("relu_grad", {g.grad(0), g.output(0)})); })
    .cpu([](KernelCtx& ctx) {
      NESTOR_DISPATCH_NUMERIC(ctx.input(0).dtype(), "relu", [&] {
        ops::unary_kernel<scalar_t, scalar_t>(ctx, [](scalar_t x) { return x > 0 ? x : scalar_t(0); });
      });
    });

// relu_grad(dy, y) = dy where y > 0.
NESTOR_OP("relu_grad")
    .shape(ops::binary_same_dtype)
    .cpu([](KernelCtx& ctx) {
      NESTOR_DISPATCH_NUMERIC(ctx.input(0).dtype(), "relu_grad", [&] {
        ops::binary_kernel<scalar_t, scalar_t>(ctx, [](scalar_t dy, scalar_t y) { return y > 0 ? dy : scalar_t(0); });
      });
    });

// One row of _fused_relu_bias_grad. restrict and the unconditional loads let it vectorize.
void relu_bias_grad_row(const float* __restrict d, const float* __restrict v, float* __restrict z,
                        float* __restrict acc, int64_t n) {
  for (int64_t j = 0; j < n; ++j) {
    const float dj = d[j], vj = v[j];
    const float g = vj > 0.0f ? dj : 0.0f;
    z[j] = g;
    acc[j] += g;
  }
}

// _fused_relu_bias_grad(dy, y) = (dz, db): dz = relu_grad(dy, y) and db = bias_add_grad(dz)
// in one pass over dy and y, float32 [N, C]. Not written by users: the CPU plan builder
// (exec/fuse.h) puts it in place of relu_grad -> bias_add_grad, the backward pass of every
// dense relu layer. The rows are cut into a fixed number of blocks that depends only on the
// shape and the pool size, and the blocks' column sums are added in block order, so db is
// the same on every run.
NESTOR_OP("_fused_relu_bias_grad")
    .shape([](ShapeCtx& c) {
      c.expect_inputs(2);
      if (c.dtype(0) != DType::kFloat32) c.fail("_fused_relu_bias_grad is float32 only, got ", dtype_name(c.dtype(0)));
      c.expect_same_dtype(0, 1);
      c.expect_rank(0, 2);
      c.expect_rank(1, 2);
      const PartialShape& s = c.shape(0);
      c.set_output(0, DType::kFloat32, s);
      c.set_output(1, DType::kFloat32, PartialShape(Dims{s.known_rank() ? s.dim(1) : -1}));
    })
    .no_grad()
    .cpu([](KernelCtx& ctx) {
      const Tensor& dy = ctx.input(0);
      const Tensor& y = ctx.input(1);
      if (dy.rank() != 2 || dy.dims() != y.dims())
        ctx.fail(Code::kInvalidArgument, "dy and y must be 2-D of one shape, got ", dims_str(dy.dims()), " and ",
                 dims_str(y.dims()));
      const int64_t N = dy.dim(0), C = dy.dim(1);
      Tensor& dz = ctx.allocate_output(0, DType::kFloat32, dy.dims());
      Tensor& db = ctx.allocate_output(1, DType::kFloat32, {C});
      const float* pdy = dy.data<float>();
      const float* py = y.data<float>();
      float* pz = dz.data<float>();
      float* pb = db.data<float>();
      constexpr int64_t kBlockElems = 1 << 15;
      const int64_t blocks = std::max<int64_t>(
          1, std::min<int64_t>({ctx.pool().num_threads(), N, N * C / kBlockElems}));
      std::vector<float> partial(static_cast<size_t>((blocks - 1) * C));
      auto run = [&](int64_t b) {
        const int64_t r0 = N * b / blocks, r1 = N * (b + 1) / blocks;
        float* acc = b == 0 ? pb : partial.data() + (b - 1) * C;
        std::fill(acc, acc + C, 0.0f);
        for (int64_t r = r0; r < r1; ++r) relu_bias_grad_row(pdy + r * C, py + r * C, pz + r * C, acc, C);
      };
      if (blocks == 1) run(0);
      else ctx.pool().parallel_for(blocks, 1, [&](int64_t b0, int64_t b1) {
        for (int64_t b = b0; b < b1; ++b) run(b);
      });
      for (int64_t b = 1; b < blocks; ++b) {
        const float* part = partial.data() + (b - 1) * C;
        for (int64_t j = 0; j < C; ++j) pb[j] += part[j];
      }
    });

// ---------------------------------------------------------------- helpers
void unary_float(ShapeCtx& c) {
  c.expect_inputs(1);
  c.expect_float(0);
  c.set_output(0, c.dtype(0), c.shape(0));
}

void binary_float(ShapeCtx& c) {
  ops::binary_same_dtype(c);
  c.expect_float(0);
}

template <typename F>
void float_unary(KernelCtx& ctx, const char* name, F f) {
  NESTOR_DISPATCH_FLOAT(ctx.input(0).dtype(), name, [&] {
    ops::unary_kernel<scalar_t, scalar_t>(ctx, [&](scalar_t x) { return static_cast<scalar_t>(f(x)); });
  });
}

// Kernel of a *_grad op: out = f(dy, v) with v = y or x.
template <typename F>
void float_grad(KernelCtx& ctx, const char* name, F f) {
  NESTOR_DISPATCH_FLOAT(ctx.input(0).dtype(), name, [&] {
    ops::binary_kernel<scalar_t, scalar_t>(ctx, [&](scalar_t dy, scalar_t v) { return static_cast<scalar_t>(f(dy, v)); });
  });
}

// Registers the gradient `grad_op`(dy, output 0) or (dy, input 0).
GradFn grad_from_output(const char* grad_op) {
  return [grad_op](GradCtx& g) { g.set_grad(0, g.op(grad_op, {g.grad(0), g.output(0)}, g.node().attrs)); };
}
GradFn grad_from_input(const char* grad_op) {
  return [grad_op](GradCtx& g) { g.set_grad(0, g.op(grad_op, {g.grad(0), g.input(0)}, g.node().attrs)); };
}

template <typename T>
T stable_sigmoid(T x) {
  if (x >= 0) return T(1) / (T(1) + std::exp(-x));
  T e = std::exp(x);
  return e / (T(1) + e);
}

constexpr double kSeluScale = 1.0507009873554804934193349852946;
constexpr double kSeluAlpha = 1.6732632423543772848170429916717;
constexpr double kSqrt2OverPi = 0.79788456080286535587989211986876;
constexpr double kInvSqrt2 = 0.70710678118654752440084436210485;
constexpr double kInvSqrt2Pi = 0.39894228040143267793994605993438;
constexpr double kGeluCoeff = 0.044715;

// ---------------------------------------------------------------- relu6
NESTOR_OP("relu6")
    .shape([](ShapeCtx& c) {
      c.expect_inputs(1);
      if (!is_numeric(c.dtype(0)))
        c.fail("input 0 must be float32, float64, int32 or int64, got ", dtype_name(c.dtype(0)));
      c.set_output(0, c.dtype(0), c.shape(0));
    })
    .grad(grad_from_input("relu6_grad"))
    .cpu([](KernelCtx& ctx) {
      NESTOR_DISPATCH_NUMERIC(ctx.input(0).dtype(), "relu6", [&] {
        ops::unary_kernel<scalar_t, scalar_t>(ctx, [](scalar_t x) {
          return x > 0 ? (x < 6 ? x : scalar_t(6)) : scalar_t(0);
        });
      });
    });

// relu6_grad(dy, x) = dy where 0 < x < 6.
NESTOR_OP("relu6_grad")
    .shape(binary_float)
    .cpu([](KernelCtx& ctx) {
      float_grad(ctx, "relu6_grad", [](auto dy, auto x) { return x > 0 && x < 6 ? dy : decltype(dy)(0); });
    });

// ---------------------------------------------------------------- elu / selu
NESTOR_OP("elu")
    .shape(unary_float)
    .grad(grad_from_output("elu_grad"))
    .cpu([](KernelCtx& ctx) { float_unary(ctx, "elu", [](auto x) { return x > 0 ? x : std::expm1(x); }); });

// elu_grad(dy, y) = dy if y > 0 else dy * (y + 1).
NESTOR_OP("elu_grad")
    .shape(binary_float)
    .cpu([](KernelCtx& ctx) { float_grad(ctx, "elu_grad", [](auto dy, auto y) { return y > 0 ? dy : dy * (y + 1); }); });

NESTOR_OP("selu")
    .shape(unary_float)
    .grad(grad_from_output("selu_grad"))
    .cpu([](KernelCtx& ctx) {
      float_unary(ctx, "selu", [](auto x) { return x > 0 ? kSeluScale * x : kSeluScale * kSeluAlpha * std::expm1(x); });
    });

// selu_grad(dy, y) = dy * scale if y > 0 else dy * (y + scale * alpha).
NESTOR_OP("selu_grad")
    .shape(binary_float)
    .cpu([](KernelCtx& ctx) {
      float_grad(ctx, "selu_grad",
                 [](auto dy, auto y) { return y > 0 ? dy * kSeluScale : dy * (y + kSeluScale * kSeluAlpha); });
    });

// ---------------------------------------------------------------- leaky_relu
NESTOR_OP("leaky_relu")
    .shape(unary_float)
    .grad(grad_from_input("leaky_relu_grad"))
    .cpu([](KernelCtx& ctx) {
      double alpha = ctx.attr_or<double>("alpha", 0.2);
      float_unary(ctx, "leaky_relu", [alpha](auto x) { return x > 0 ? x : alpha * x; });
    });

// leaky_relu_grad(dy, x) = dy if x > 0 else alpha * dy.
NESTOR_OP("leaky_relu_grad")
    .shape(binary_float)
    .cpu([](KernelCtx& ctx) {
      double alpha = ctx.attr_or<double>("alpha", 0.2);
      float_grad(ctx, "leaky_relu_grad", [alpha](auto dy, auto x) { return x > 0 ? dy : alpha * dy; });
    });

// ---------------------------------------------------------------- gelu
NESTOR_OP("gelu")
    .shape(unary_float)
    .grad(grad_from_input("gelu_grad"))
    .cpu([](KernelCtx& ctx) {
      if (ctx.attr_or<bool>("approximate", false)) {
        float_unary(ctx, "gelu", [](auto x) {
          return 0.5 * x * (1 + std::tanh(kSqrt2OverPi * (x + kGeluCoeff * x * x * x)));
        });
      } else {
        float_unary(ctx, "gelu", [](auto x) { return 0.5 * x * (1 + std::erf(x * kInvSqrt2)); });
      }
    });

// gelu_grad(dy, x) = dy * d gelu(x) / dx (exact erf form, or the tanh form when approximate).
NESTOR_OP("gelu_grad")
    .shape(binary_float)
    .cpu([](KernelCtx& ctx) {
      if (ctx.attr_or<bool>("approximate", false)) {
        float_grad(ctx, "gelu_grad", [](auto dy, auto x) {
          double xd = x;
          double t = std::tanh(kSqrt2OverPi * (xd + kGeluCoeff * xd * xd * xd));
          double dinner = kSqrt2OverPi * (1 + 3 * kGeluCoeff * xd * xd);
          return dy * (0.5 * (1 + t) + 0.5 * xd * (1 - t * t) * dinner);
        });
      } else {
        float_grad(ctx, "gelu_grad", [](auto dy, auto x) {
          double xd = x;
          return dy * (0.5 * (1 + std::erf(xd * kInvSqrt2)) + xd * kInvSqrt2Pi * std::exp(-0.5 * xd * xd));
        });
      }
    });

// ---------------------------------------------------------------- sigmoid / tanh
NESTOR_OP("sigmoid")
    .shape(unary_float)
    .grad(grad_from_output("sigmoid_grad"))
    .cpu([](KernelCtx& ctx) { float_unary(ctx, "sigmoid", [](auto x) { return stable_sigmoid(x); }); });

// sigmoid_grad(dy, y) = dy * y * (1 - y).
NESTOR_OP("sigmoid_grad")
    .shape(binary_float)
    .cpu([](KernelCtx& ctx) { float_grad(ctx, "sigmoid_grad", [](auto dy, auto y) { return dy * y * (1 - y); }); });

NESTOR_OP("tanh")
    .shape(unary_float)
    .grad(grad_from_output("tanh_grad"))
    .cpu([](KernelCtx& ctx) { float_unary(ctx, "tanh", [](auto x) { return std::tanh(x); }); });

// tanh_grad(dy, y) = dy * (1 - y^2).
NESTOR_OP("tanh_grad")
    .shape(binary_float)
    .cpu([](KernelCtx& ctx) { float_grad(ctx, "tanh_grad", [](auto dy, auto y) { return dy * (1 - y * y); }); });

// ---------------------------------------------------------------- softplus / softsign / swish
NESTOR_OP("softplus")
    .shape(unary_float)
    .grad(grad_from_input("softplus_grad"))
    .cpu([](KernelCtx& ctx) {
      float_unary(ctx, "softplus", [](auto x) { return x > 0 ? x + std::log1p(std::exp(-x)) : std::log1p(std::exp(x)); });
    });

// softplus_grad(dy, x) = dy * sigmoid(x).
NESTOR_OP("softplus_grad")
    .shape(binary_float)
    .cpu([](KernelCtx& ctx) { float_grad(ctx, "softplus_grad", [](auto dy, auto x) { return dy * stable_sigmoid(x); }); });

NESTOR_OP("softsign")
    .shape(unary_float)
    .grad(grad_from_input("softsign_grad"))
    .cpu([](KernelCtx& ctx) { float_unary(ctx, "softsign", [](auto x) { return x / (1 + std::abs(x)); }); });

// softsign_grad(dy, x) = dy / (1 + |x|)^2.
NESTOR_OP("softsign_grad")
    .shape(binary_float)
    .cpu([](KernelCtx& ctx) {
      float_grad(ctx, "softsign_grad", [](auto dy, auto x) {
        auto d = 1 + std::abs(x);
        return dy / (d * d);
      });
    });

NESTOR_OP("swish")
    .shape(unary_float)
    .grad(grad_from_input("swish_grad"))
    .cpu([](KernelCtx& ctx) { float_unary(ctx, "swish", [](auto x) { return x * stable_sigmoid(x); }); });

// swish_grad(dy, x) = dy * s * (1 + x * (1 - s)), s = sigmoid(x).
NESTOR_OP("swish_grad")
    .shape(binary_float)
    .cpu([](KernelCtx& ctx) {
      float_grad(ctx, "swish_grad", [](auto dy, auto x) {
        auto s = stable_sigmoid(x);
        return dy * s * (1 + x * (1 - s));
      });
    });

}  // namespace
}  // namespace nestor
