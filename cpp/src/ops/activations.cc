// Activations: relu (more join this file). Each forward op's gradient is a separate
// *_grad op taking (dy, y or x) so the backward pass is one fused elementwise kernel.
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

}  // namespace
}  // namespace nestor
