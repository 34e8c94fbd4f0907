// shape, reshape, zeros_like, ones_like, cast and indexed_slices_to_dense: the ops that
// autodiff itself builds, so the core cannot work without them.
#include "common.h"
#include "shape_util.h"
#include "sparse_util.h"

namespace nestor {
namespace {

NESTOR_OP("shape")
    .shape([](ShapeCtx& c) {
      c.expect_inputs(1);
      DType out = c.attr_or<DType>("out_type", DType::kInt32);
      if (!is_integer(out)) c.fail("out_type must be int32 or int64");
      c.set_output(0, out, PartialShape(Dims{c.shape(0).rank()}));
    })
    .no_grad()
    .cpu([](KernelCtx& ctx) {
      const Dims& d = ctx.input(0).dims();
      DType out = ctx.node().out_dtypes[0];
      Tensor& o = ctx.allocate_output(0, out, {static_cast<int64_t>(d.size())});
      for (size_t i = 0; i < d.size(); ++i) {
        if (out == DType::kInt32) o.data<int32_t>()[i] = static_cast<int32_t>(d[i]);
        else o.data<int64_t>()[i] = d[i];
      }
    });

struct ShapeFail {
  const ShapeCtx& c;
  template <typename... A>
  [[noreturn]] void fail(Code, const A&... a) const { c.fail(a...); }
};

NESTOR_OP("reshape")
    .shape([](ShapeCtx& c) {
      c.expect_inputs(2);
      if (!is_integer(c.dtype(1))) c.fail("shape must be int32 or int64, got ", dtype_name(c.dtype(1)));
      const Tensor* t = c.constant(1);
      if (t == nullptr) {
        int64_t r = c.shape(1).known_rank() && c.shape(1).rank() == 1 ? c.shape(1).dim(0) : -1;
        c.set_output(0, c.dtype(0), r >= 0 ? PartialShape::unknown_of_rank(static_cast<int>(r)) : PartialShape());
        return;
      }
      Dims spec = t->to_int_vector();
      const PartialShape& in = c.shape(0);
      if (in.fully_defined()) {
        c.set_output(0, c.dtype(0), PartialShape(resolve_reshape(ShapeFail{c}, in.dims(), spec, in.num_elements())));
        return;
      }
      // Partially known input: the -1 can be resolved when every other input dim is known.
      Dims out = spec;
      int64_t known_in = 1;
      int unknown_in = 0;
      if (in.known_rank())
        for (auto d : in.dims()) {
          if (d < 0) ++unknown_in;
          else known_in *= d;
        }
      for (auto& d : out)
        if (d < -1) c.fail("invalid dimension ", d, " in new shape ", dims_str(spec));
      int64_t known_out = 1;
      int neg = 0;
      for (auto d : out) {
        if (d == -1) ++neg;
        else known_out *= d;
      }
      if (neg > 1) c.fail("only one dimension of the new shape may be -1, got ", dims_str(spec));
      if (neg == 0 && in.known_rank() && unknown_in == 0 && known_in != known_out)
        c.fail("cannot reshape a tensor of shape ", in.str(), " to ", dims_str(spec));
      c.set_output(0, c.dtype(0), PartialShape(out));
    })
    .grad([](GradCtx& g) { g.set_grad(0, g.reshape(g.grad(0), g.shape_of(g.input(0)))); })
    .cpu([](KernelCtx& ctx) {
      const Tensor& x = ctx.input(0);
      Dims d = resolve_reshape(ctx, x.dims(), ctx.input(1).to_int_vector(), x.num_elements());
      ctx.set_output(0, x.reshaped(d));
    });

template <int kValue>
void fill_like(KernelCtx& ctx) {
  const Tensor& x = ctx.input(0);
  Tensor& o = ctx.allocate_output(0, x.dtype(), x.dims());
  if (x.dtype() == DType::kString) return;  // empty strings
  NESTOR_DISPATCH_POD(x.dtype(), ctx.node().op, [&] {
    std::fill(o.data<scalar_t>(), o.data<scalar_t>() + o.num_elements(), static_cast<scalar_t>(kValue));
  });
}

NESTOR_OP("zeros_like").shape(same_as_input).no_grad().cpu(fill_like<0>);
NESTOR_OP("ones_like").shape(same_as_input).no_grad().cpu(fill_like<1>);

template <typename S, typename D>
D convert(S v) {
  if constexpr (std::is_same_v<D, bool>) return v != S(0);
  else return static_cast<D>(v);
}

NESTOR_OP("cast")
    .shape([](ShapeCtx& c) {
      c.expect_inputs(1);
      DType dst = c.attr<DType>("DstT");
      if ((dst == DType::kString) != (c.dtype(0) == DType::kString))
        c.fail("cannot cast ", dtype_name(c.dtype(0)), " to ", dtype_name(dst));
      c.set_output(0, dst, c.shape(0));
    })
    .grad([](GradCtx& g) {
      if (is_floating(g.dtype(g.input(0))) && is_floating(g.node().out_dtypes[0]))
        g.set_grad(0, g.cast(g.grad(0), g.dtype(g.input(0))));
    })
    .cpu([](KernelCtx& ctx) {
      const Tensor& x = ctx.input(0);
      DType dst = ctx.attr<DType>("DstT");
      if (dst == x.dtype()) {
        ctx.set_output(0, x);
        return;
      }
      Tensor& o = ctx.allocate_output(0, dst, x.dims());
      int64_t n = x.num_elements();
      NESTOR_DISPATCH_POD(x.dtype(), "cast", [&] {
        using S = scalar_t;
        const S* px = x.data<S>();
        NESTOR_DISPATCH_POD(dst, "cast", [&] {
          scalar_t* po = o.data<scalar_t>();
          for (int64_t i = 0; i < n; ++i) po[i] = convert<S, scalar_t>(px[i]);
        });
      });
    });

// indexed_slices_to_dense(indices, values, dense_shape): zeros of dense_shape with
// values[i] added into row indices[i]. Turns a sparse gradient dense when it must be.
NESTOR_OP("indexed_slices_to_dense")
    .shape([](ShapeCtx& c) {
      c.expect_inputs(3);
      const Tensor* t = c.constant(2);
      const Node& src = c.graph().node(c.node().inputs[2].node);
      if (t) c.set_output(0, c.dtype(1), PartialShape(t->to_int_vector()));
      else if (src.op == "shape") c.set_output(0, c.dtype(1), c.graph().shape(src.inputs[0]));
      else c.set_output(0, c.dtype(1), PartialShape());
    })
    .no_grad()
    .cpu([](KernelCtx& ctx) {
      const Tensor& idx = ctx.input(0);
      const Tensor& val = ctx.input(1);
      Dims shape = ctx.input(2).to_int_vector();
      Tensor& o = ctx.allocate_output(0, val.dtype(), shape);
      sparse_util::DenseSlices d = sparse_util::dense_slices(ctx, idx, val, shape);  // checks, shared with CUDA
      const int64_t row = d.row;
      NESTOR_DISPATCH_FLOAT(val.dtype(), "indexed_slices_to_dense", [&] {
        scalar_t* po = o.data<scalar_t>();
        std::fill(po, po + o.num_elements(), scalar_t(0));
        const scalar_t* pv = val.data<scalar_t>();
        for (size_t i = 0; i < d.idx.size(); ++i) {
          const int64_t r = d.idx[i];
          for (int64_t j = 0; j < row; ++j) po[r * row + j] += pv[static_cast<int64_t>(i) * row + j];
        }
      });
    });

}  // namespace
}  // namespace nestor
