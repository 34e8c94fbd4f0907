// host_callback(inputs...; token, Tout): outputs of the embedding program's function `token`
// (nestor/host_callback.h). Stateful (never folded, pruned only when unused), no gradient, CPU
// only: the planner copies device inputs to the host. Output shapes are unknown when the graph
// is built; each output's dtype is Tout's and is checked when the function returns.
#include <memory>
#include <mutex>

#include "common.h"
#include "nestor/host_callback.h"

namespace nestor {
namespace {

std::mutex callback_mu;
std::shared_ptr<const HostCallback> callback;  // swapped whole under callback_mu

std::shared_ptr<const HostCallback> current_callback() {
  std::lock_guard<std::mutex> lock(callback_mu);
  return callback;
}

std::vector<DType> out_dtypes(const std::vector<std::string>& names) {
  std::vector<DType> r;
  r.reserve(names.size());
  for (const std::string& n : names) r.push_back(dtype_from_name(n));
  return r;
}

NESTOR_OP("host_callback")
    .shape([](ShapeCtx& c) {
      c.attr<int64_t>("token");
      std::vector<DType> dts = out_dtypes(c.attr<std::vector<std::string>>("Tout"));
      for (size_t i = 0; i < dts.size(); ++i) c.set_output(static_cast<int>(i), dts[i], PartialShape::unknown());
    })
    .stateful()
    .no_grad()
    .cpu([](KernelCtx& ctx) {
      std::shared_ptr<const HostCallback> cb = current_callback();
      if (!cb || !*cb)
        ctx.fail(Code::kFailedPrecondition,
                 "calls a Python function (tf.py_function / tf.numpy_function), which runs only in the Python "
                 "process that built the graph");
      std::vector<Tensor> inputs;
      inputs.reserve(static_cast<size_t>(ctx.num_inputs()));
      for (int i = 0; i < ctx.num_inputs(); ++i) inputs.push_back(ctx.input(i));
      std::vector<Tensor> outs = (*cb)(ctx.attr<int64_t>("token"), ctx.node().name, inputs);
      std::vector<DType> want = out_dtypes(ctx.attr<std::vector<std::string>>("Tout"));
      if (outs.size() != want.size())
        ctx.fail(Code::kInvalidArgument, "the function returned ", outs.size(), " values, expected ", want.size(),
                 " (Tout)");
      for (size_t i = 0; i < outs.size(); ++i) {
        if (outs[i].dtype() != want[i])
          ctx.fail(Code::kInvalidArgument, "output ", i, " of the function is ", dtype_name(outs[i].dtype()),
                   ", expected ", dtype_name(want[i]), " (Tout)");
        ctx.set_output(static_cast<int>(i), std::move(outs[i]));
      }
    });

}  // namespace

void set_host_callback(HostCallback cb) {
  auto next = cb ? std::make_shared<const HostCallback>(std::move(cb)) : nullptr;
  std::lock_guard<std::mutex> lock(callback_mu);
  callback = std::move(next);
}

}  // namespace nestor
