// Sources, variables and plumbing: const, placeholder, variable, assign*, identity,
// stop_gradient, no_op. Kernels never write to their inputs; only ref inputs
// (variables) are updated in place, under the variable's mutex.
#include "common.h"

namespace nestor {
namespace {

void shape_from_attrs(ShapeCtx& c) {
  c.expect_inputs(0);
  c.set_output(0, c.attr<DType>("dtype"), c.attr_or<PartialShape>("shape", PartialShape()));
}

Tensor& initialized_value(KernelCtx& ctx, Variable& v) {
  if (!v.initialized)
    ctx.fail(Code::kFailedPrecondition, "Attempting to use uninitialized value ", v.name);
  return v.value;
}

NESTOR_OP("const")
    .shape([](ShapeCtx& c) {
      c.expect_inputs(0);
      const Tensor& t = c.attr<Tensor>("value");
      c.set_output(0, t.dtype(), PartialShape(t.dims()));
    })
    .no_grad()
    .cpu([](KernelCtx& ctx) { ctx.set_output(0, ctx.attr<Tensor>("value")); });

NESTOR_OP("placeholder")
    .shape(shape_from_attrs)
    .no_grad()
    .cpu([](KernelCtx& ctx) {
      ctx.fail(Code::kInvalidArgument, "You must feed a value for placeholder tensor '", ctx.node().name,
               "' with dtype ", dtype_name(ctx.node().out_dtypes[0]), " and shape ",
               ctx.node().out_shapes[0].str());
    });

NESTOR_OP("placeholder_with_default")
    .shape([](ShapeCtx& c) {
      c.expect_inputs(1);
      PartialShape s = c.attr_or<PartialShape>("shape", c.shape(0));
      if (!s.is_compatible_with(c.shape(0)))
        c.fail("default value of shape ", c.shape(0).str(), " is not compatible with shape ", s.str());
      c.set_output(0, c.dtype(0), s);
    })
    .grad([](GradCtx& g) { g.set_grad(0, g.grad(0)); })
    .cpu([](KernelCtx& ctx) { ctx.set_output(0, ctx.input(0)); });

// attrs: dtype, shape, shared_name (store key; defaults to the node name).
NESTOR_OP("variable")
    .shape(shape_from_attrs)
    .stateful()
    .cpu([](KernelCtx& ctx) { ctx.set_output(0, initialized_value(ctx, *ctx.refs_[0])); });

NESTOR_OP("assign")
    .ref_input(0)
    .stateful()
    .shape([](ShapeCtx& c) {
      c.expect_inputs(2);
      c.expect_same_dtype(0, 1);
      bool validate = c.attr_or<bool>("validate_shape", true);
      if (validate && !c.shape(0).is_compatible_with(c.shape(1)))
        c.fail("cannot assign a value of shape ", c.shape(1).str(), " to a variable of shape ", c.shape(0).str());
      c.set_output(0, c.dtype(0), validate ? c.shape(0).merge(c.shape(1)) : c.shape(1));
    })
    .no_grad()
    .cpu([](KernelCtx& ctx) {
      Variable& v = ctx.ref(0);
      const Tensor& x = ctx.input(1);
      std::lock_guard<std::mutex> l(v.mu);
      if (ctx.attr_or<bool>("validate_shape", true) && !v.shape.is_compatible_with(x.dims()))
        ctx.fail(Code::kInvalidArgument, "cannot assign a value of shape ", dims_str(x.dims()), " to variable ",
                 v.name, " of shape ", v.shape.str());
      if (v.initialized && v.value.dims() == x.dims() && v.value.dtype() != DType::kString &&
          v.value.buffer().use_count() == 1) {
        if (x.nbytes()) std::memcpy(v.value.raw(), x.raw(), x.nbytes());
      } else {
        // Readers of the previous step may still hold the old buffer: give the variable a new one.
        v.value = x.clone(ctx.allocator());
      }
      v.initialized = true;
      ctx.set_output(0, v.value);
    });

template <bool kAdd>
void assign_update(KernelCtx& ctx) {
  Variable& v = ctx.ref(0);
  const Tensor& x = ctx.input(1);
  std::lock_guard<std::mutex> l(v.mu);
  Tensor& cur = initialized_value(ctx, v);
  if (cur.dims() != x.dims())
    ctx.fail(Code::kInvalidArgument, "variable ", v.name, " has shape ", dims_str(cur.dims()),
             ", the update has shape ", dims_str(x.dims()));
  NESTOR_DISPATCH_NUMERIC(x.dtype(), ctx.node().op, [&] {
    scalar_t* d = cur.data<scalar_t>();
    const scalar_t* s = x.data<scalar_t>();
    for (int64_t i = 0; i < x.num_elements(); ++i) d[i] = kAdd ? d[i] + s[i] : d[i] - s[i];
  });
  ctx.set_output(0, cur);
}

void assign_update_shape(ShapeCtx& c) {
  c.expect_inputs(2);
  c.expect_same_dtype(0, 1);
  if (!c.shape(0).is_compatible_with(c.shape(1)))
    c.fail("update of shape ", c.shape(1).str(), " does not match variable shape ", c.shape(0).str());
  c.set_output(0, c.dtype(0), c.shape(0));
}

NESTOR_OP("assign_add").ref_input(0).stateful().shape(assign_update_shape).no_grad().cpu(assign_update<true>);
NESTOR_OP("assign_sub").ref_input(0).stateful().shape(assign_update_shape).no_grad().cpu(assign_update<false>);

NESTOR_OP("identity")
    .shape(same_as_input)
    .grad([](GradCtx& g) { g.set_grad(0, g.grad(0)); })
    .cpu([](KernelCtx& ctx) { ctx.set_output(0, ctx.input(0)); });

NESTOR_OP("stop_gradient")
    .shape(same_as_input)
    .no_grad()
    .cpu([](KernelCtx& ctx) { ctx.set_output(0, ctx.input(0)); });

// Groups control inputs; produces nothing.
NESTOR_OP("no_op").shape([](ShapeCtx&) {}).no_grad().cpu([](KernelCtx&) {});

}  // namespace
}  // namespace nestor
