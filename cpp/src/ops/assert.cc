// assert(condition, data...): fails with InvalidArgument when `condition` (any shape:
// all elements must hold) is false, printing attr `message` and up to `summarize`
// values of each data input. Produces nothing; used through control dependencies.
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

}  // namespace
}  // namespace nestor
