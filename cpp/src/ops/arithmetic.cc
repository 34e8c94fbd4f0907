// Broadcasting add / subtract / multiply / divide, add_n and sum_to (the reduction
// that undoes broadcasting in gradients).
#include "common.h"

namespace nestor {
namespace {

using ops::binary_kernel;

NESTOR_OP("add")
    .shape(ops::binary_same_dtype)
    .grad([](GradCtx& g) {
      Output d = g.grad(0);
      g.set_grad(0, g.sum_to(d, g.input(0)));
      g.set_grad(1, g.sum_to(d, g.input(1)));
    })
    .cpu([](KernelCtx& ctx) {
      DType dt = ctx.input(0).dtype();
      if (dt == DType::kString) {
        binary_kernel<std::string, std::string>(ctx, [](const std::string& a, const std::string& b) { return a + b; });
        return;
      }
      NESTOR_DISPATCH_NUMERIC(dt, "add", [&] {
        binary_kernel<scalar_t, scalar_t>(ctx, [](scalar_t a, scalar_t b) { return a + b; });
      });
    });

NESTOR_OP("subtract")
    .shape(ops::binary_same_dtype)
    .grad([](GradCtx& g) {
      Output d = g.grad(0);
      g.set_grad(0, g.sum_to(d, g.input(0)));
      g.set_grad(1, g.sum_to(g.neg(d), g.input(1)));
    })
    .cpu([](KernelCtx& ctx) {
      NESTOR_DISPATCH_NUMERIC(ctx.input(0).dtype(), "subtract", [&] {
        binary_kernel<scalar_t, scalar_t>(ctx, [](scalar_t a, scalar_t b) { return a - b; });
      });
    });

NESTOR_OP("multiply")
    .shape(ops::binary_same_dtype)
    .grad([](GradCtx& g) {
      Output d = g.grad(0);
      g.set_grad(0, g.sum_to(g.mul(d, g.input(1)), g.input(0)));
      g.set_grad(1, g.sum_to(g.mul(g.input(0), d), g.input(1)));
    })
    .cpu([](KernelCtx& ctx) {
      NESTOR_DISPATCH_NUMERIC(ctx.input(0).dtype(), "multiply", [&] {
        binary_kernel<scalar_t, scalar_t>(ctx, [](scalar_t a, scalar_t b) { return a * b; });
      });
    });

NESTOR_OP("divide")
    .shape(ops::binary_same_dtype)
    .grad([](GradCtx& g) {
      Output d = g.grad(0), a = g.input(0), b = g.input(1);
      g.set_grad(0, g.sum_to(g.div(d, b), a));
      g.set_grad(1, g.sum_to(g.neg(g.div(g.mul(d, a), g.square(b))), b));
    })
    .cpu([](KernelCtx& ctx) {
      DType dt = ctx.input(0).dtype();
      if (is_integer(dt)) {
        NESTOR_DISPATCH_INDEX(dt, "divide", [&] {
          binary_kernel<scalar_t, scalar_t>(ctx, [&](scalar_t a, scalar_t b) {
            if (b == 0) ctx.fail(Code::kInvalidArgument, "Integer division by zero");
            scalar_t q = a / b;  // floor division, as TF's // on integers
            if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
            return q;
          });
        });
        return;
      }
      NESTOR_DISPATCH_FLOAT(dt, "divide", [&] {
        binary_kernel<scalar_t, scalar_t>(ctx, [](scalar_t a, scalar_t b) { return a / b; });
      });
    });

NESTOR_OP("add_n")
    .shape([](ShapeCtx& c) {
      if (c.num_inputs() < 1) c.fail("expected at least one input");
      PartialShape s = c.shape(0);
      for (int i = 1; i < c.num_inputs(); ++i) {
        c.expect_same_dtype(0, i);
        if (!s.is_compatible_with(c.shape(i)))
          c.fail("all inputs must have the same shape, got ", s.str(), " and ", c.shape(i).str());
        s = s.merge(c.shape(i));
      }
      c.set_output(0, c.dtype(0), s);
    })
    .grad([](GradCtx& g) {
      Output d = g.grad(0);
      for (size_t i = 0; i < g.node().inputs.size(); ++i) g.set_grad(static_cast<int>(i), d);
    })
    .cpu([](KernelCtx& ctx) {
      const Tensor& a = ctx.input(0);
      for (int i = 1; i < ctx.num_inputs(); ++i)
        if (ctx.input(i).dims() != a.dims())
          ctx.fail(Code::kInvalidArgument, "inputs must have the same shape, got ", dims_str(a.dims()), " and ",
                   dims_str(ctx.input(i).dims()));
      Tensor& o = ctx.allocate_output(0, a.dtype(), a.dims());
      NESTOR_DISPATCH_NUMERIC(a.dtype(), "add_n", [&] {
        scalar_t* po = o.data<scalar_t>();
        int k = ctx.num_inputs();
        ops::parallel_elems(ctx, a.num_elements(), [&](int64_t s, int64_t e) {
          const scalar_t* p0 = ctx.input(0).data<scalar_t>();
          for (int64_t j = s; j < e; ++j) po[j] = p0[j];
          for (int i = 1; i < k; ++i) {
            const scalar_t* pi = ctx.input(i).data<scalar_t>();
            for (int64_t j = s; j < e; ++j) po[j] += pi[j];
          }
        });
      });
    });

// sum_to(x, shape): sums x over the axes along which `shape` was broadcast to x's shape.
NESTOR_OP("sum_to")
    .shape([](ShapeCtx& c) {
      c.expect_inputs(2);
      const Node& src = c.graph().node(c.node().inputs[1].node);
      if (const Tensor* t = c.constant(1)) c.set_output(0, c.dtype(0), PartialShape(t->to_int_vector()));
      else if (src.op == "shape") c.set_output(0, c.dtype(0), c.graph().shape(src.inputs[0]));
      else c.set_output(0, c.dtype(0), PartialShape());
    })
    .cpu([](KernelCtx& ctx) {
      const Tensor& x = ctx.input(0);
      Dims target = ctx.input(1).to_int_vector();
      if (target == x.dims()) {
        ctx.set_output(0, x);
        return;
      }
      Dims full = sum_to_dims(ctx, x.dims(), target);
      Tensor& o = ctx.allocate_output(0, x.dtype(), target);
      NESTOR_DISPATCH_NUMERIC(x.dtype(), "sum_to", [&] {
        scalar_t* po = o.data<scalar_t>();
        const scalar_t* px = x.data<scalar_t>();
        int64_t on = o.num_elements();
        std::fill(po, po + on, scalar_t(0));
        ops::BroadcastIndex bi(x.dims(), full);
        int64_t cols = x.dims().empty() ? 1 : x.dims().back();
        int64_t rows = cols ? x.num_elements() / cols : 0;
        int64_t si = bi.inner_stride;
        for (int64_t r = 0; r < rows; ++r) {
          scalar_t* ro = po + bi.row_offset(r);
          const scalar_t* rx = px + r * cols;
          if (si == 0) {
            scalar_t acc = 0;
            for (int64_t c = 0; c < cols; ++c) acc += rx[c];
            ro[0] += acc;
          } else {
            for (int64_t c = 0; c < cols; ++c) ro[c] += rx[c];
          }
        }
      });
    });

}  // namespace
}  // namespace nestor
