// assert(condition, data...): fails with InvalidArgument when `condition` (any shape:
// all elements must hold) is false, printing attr `message` and up to `summarize`
// values of each data input. Produces nothing; used through control dependencies.
// check_range(x; lower, upper, message): x itself, after checking lower <= x <= upper (one
// kernel where a comparison chain and an assert would take five).
#include <sstream>

#include "common.h"

namespace nestor {
namespace {

void print_values(std::ostringstream& s, const Tensor& t, int64_t summarize) {
  int64_t n = t.num_elements();
  int64_t shown = summarize < 0 ? n : std::min(n, summarize);
  s << "[";
  for (int64_t i = 0; i < shown; ++i) {
    if (i) s << " ";
    if (t.dtype() == DType::kString) s << t.data<std::string>()[i];
    else if (t.dtype() == DType::kBool) s << (t.data<bool>()[i] ? "True" : "False");
    else s << t.scalar_as_double(i);
  }
  if (shown < n) s << "...";
  s << "]";
}

NESTOR_OP("assert")
    .stateful()
    .no_grad()
    .shape([](ShapeCtx& c) {
      if (c.num_inputs() < 1) c.fail("needs a condition input");
      c.expect_dtype(0, DType::kBool);
    })
    .cpu([](KernelCtx& ctx) {
      const Tensor& cond = ctx.input(0);
      const bool* p = cond.data<bool>();
      for (int64_t i = 0; i < cond.num_elements(); ++i) {
        if (p[i]) continue;
        std::ostringstream s;
        s << "assertion failed: " << ctx.attr_or<std::string>("message", "");
        int64_t summarize = ctx.attr_or<int64_t>("summarize", 3);
        for (int j = 1; j < ctx.num_inputs(); ++j) {
          s << " ";
          print_values(s, ctx.input(j), summarize);
        }
        fail(Code::kInvalidArgument, s.str());
      }
    });

NESTOR_OP("check_range")
    .stateful()
    .no_grad()
    .shape([](ShapeCtx& c) {
      c.expect_inputs(1);
      if (!is_numeric(c.dtype(0))) c.fail("check_range needs a numeric input, got ", dtype_name(c.dtype(0)));
      c.set_output(0, c.dtype(0), c.shape(0));
    })
    .cpu([](KernelCtx& ctx) {
      const Tensor& x = ctx.input(0);
      double lo = ctx.attr<double>("lower"), hi = ctx.attr<double>("upper");
      NESTOR_DISPATCH_NUMERIC(x.dtype(), "check_range", [&] {
        const scalar_t* p = x.data<scalar_t>();
        for (int64_t i = 0, n = x.num_elements(); i < n; ++i) {
          double v = static_cast<double>(p[i]);
          if (v >= lo && v <= hi) continue;
          ctx.fail(Code::kInvalidArgument, ctx.attr_or<std::string>("message", "value out of range"), ": value ", v,
                   " at flat index ", i, " is not in [", lo, ", ", hi, "]");
        }
      });
      ctx.set_output(0, x);
    });

}  // namespace
}  // namespace nestor
