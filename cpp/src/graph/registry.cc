#include <algorithm>

#include "nestor/op.h"

namespace nestor {

bool OpDef::is_ref_input(int i) const {
  return std::find(ref_inputs.begin(), ref_inputs.end(), i) != ref_inputs.end();
}

OpRegistry& OpRegistry::global() {
  static OpRegistry* r = new OpRegistry();
  return *r;
}

OpDef& OpRegistry::get_or_create(const std::string& name) {
  std::lock_guard<std::mutex> l(mu_);
  auto& p = ops_[name];
  if (!p) {
    p = std::make_unique<OpDef>();
    p->name = name;
  }
  return *p;
}

const OpDef* OpRegistry::find(const std::string& name) const {
  std::lock_guard<std::mutex> l(mu_);
  auto it = ops_.find(name);
  return it == ops_.end() ? nullptr : it->second.get();
}

std::vector<std::string> OpRegistry::names() const {
  std::lock_guard<std::mutex> l(mu_);
  std::vector<std::string> v;
  for (auto& kv : ops_)
    if (kv.second->declared) v.push_back(kv.first);
  return v;
}

std::vector<std::string> OpRegistry::self_test() const {
  std::lock_guard<std::mutex> l(mu_);
  std::vector<std::string> problems;
  for (auto& kv : ops_) {
    const OpDef& d = *kv.second;
    if (!d.declared) {
      problems.push_back("a kernel is registered for undeclared op '" + kv.first + "'");
      continue;
    }
    if (!d.kernel(DeviceType::kCpu)) problems.push_back("op '" + kv.first + "' has no CPU kernel");
    if (!d.shape) problems.push_back("op '" + kv.first + "' has no shape function");
  }
  return problems;
}

OpDefBuilder::OpDefBuilder(const std::string& name) : def_(&OpRegistry::global().get_or_create(name)) {
  def_->declared = true;
}
OpDefBuilder& OpDefBuilder::shape(ShapeFn f) { def_->shape = std::move(f); return *this; }
OpDefBuilder& OpDefBuilder::grad(GradFn f) { def_->grad = std::move(f); return *this; }
OpDefBuilder& OpDefBuilder::no_grad() { def_->explicit_no_grad = true; return *this; }
OpDefBuilder& OpDefBuilder::stateful() { def_->stateful = true; return *this; }
OpDefBuilder& OpDefBuilder::ref_input(int i) { def_->ref_inputs.push_back(i); return *this; }
OpDefBuilder& OpDefBuilder::cpu(KernelFn f) { return kernel(DeviceType::kCpu, std::move(f)); }
OpDefBuilder& OpDefBuilder::kernel(DeviceType d, KernelFn f) {
  def_->kernels[d] = std::move(f);
  return *this;
}

KernelRegistrar::KernelRegistrar(const std::string& op, DeviceType d, KernelFn f) {
  OpRegistry::global().get_or_create(op).kernels[d] = std::move(f);
}

// ---------------------------------------------------------------- ShapeCtx
void ShapeCtx::set_output(int i, DType dt, PartialShape s) {
  if (static_cast<int>(node_.out_dtypes.size()) <= i) {
    node_.out_dtypes.resize(static_cast<size_t>(i) + 1, DType::kInvalid);
    node_.out_shapes.resize(static_cast<size_t>(i) + 1);
  }
  node_.out_dtypes[static_cast<size_t>(i)] = dt;
  node_.out_shapes[static_cast<size_t>(i)] = std::move(s);
}

void ShapeCtx::expect_inputs(int n) const {
  if (num_inputs() != n) fail("expected ", n, " inputs, got ", num_inputs());
}
void ShapeCtx::expect_inputs(int lo, int hi) const {
  if (num_inputs() < lo || num_inputs() > hi) fail("expected ", lo, " to ", hi, " inputs, got ", num_inputs());
}
void ShapeCtx::expect_dtype(int i, DType dt) const {
  if (dtype(i) != dt) fail("input ", i, " must be ", dtype_name(dt), ", got ", dtype_name(dtype(i)));
}
void ShapeCtx::expect_same_dtype(int i, int j) const {
  if (dtype(i) != dtype(j))
    fail("inputs ", i, " and ", j, " must have the same dtype, got ", dtype_name(dtype(i)), " and ",
         dtype_name(dtype(j)));
}
void ShapeCtx::expect_float(int i) const {
  if (!is_floating(dtype(i))) fail("input ", i, " must be float32 or float64, got ", dtype_name(dtype(i)));
}
void ShapeCtx::expect_rank(int i, int rank) const {
  if (shape(i).known_rank() && shape(i).rank() != rank)
    fail("input ", i, " must have rank ", rank, ", got shape ", shape(i).str());
}

void same_as_input(ShapeCtx& c) {
  c.expect_inputs(1);
  c.set_output(0, c.dtype(0), c.shape(0));
}

// ---------------------------------------------------------------- Builder
int Builder::op_node(const std::string& type, const std::vector<Output>& in, Attrs a) {
  return g_.add_node(type, in, std::move(a), prefix_.empty() ? type : prefix_ + "/" + type);
}
Output Builder::op(const std::string& type, const std::vector<Output>& in, Attrs a) {
  return Output{op_node(type, in, std::move(a)), 0};
}

Output Builder::scalar(double v, DType dt) {
  Tensor t = Tensor::empty(dt, {});
  NESTOR_DISPATCH_NUMERIC(dt, "scalar", [&] { *t.data<scalar_t>() = static_cast<scalar_t>(v); });
  return op("const", {}, Attrs{{"value", t}, {"dtype", dt}});
}

Output Builder::const_ints(const std::vector<int64_t>& v) {
  Tensor t = Tensor::vector<int64_t>(v);
  return op("const", {}, Attrs{{"value", t}, {"dtype", DType::kInt64}});
}

Output Builder::cast(Output a, DType dt) {
  if (dtype(a) == dt) return a;
  return op("cast", {a}, Attrs{{"DstT", dt}});
}

Output Builder::matmul(Output a, Output b, bool ta, bool tb) {
  return op("matmul", {a, b}, Attrs{{"transpose_a", ta}, {"transpose_b", tb}});
}

Output Builder::sum(Output a, const std::vector<int64_t>& axes, bool keepdims) {
  return op("sum", {a, const_ints(axes)}, Attrs{{"keepdims", keepdims}});
}

Output Builder::sum_to(Output grad, Output like) {
  const PartialShape& gs = shape(grad);
  const PartialShape& ls = shape(like);
  if (gs.fully_defined() && gs == ls) return grad;
  return op("sum_to", {grad, shape_of(like)});
}

Output Builder::add_n(const std::vector<Output>& xs) {
  if (xs.size() == 1) return xs[0];
  if (xs.size() == 2) return add(xs[0], xs[1]);
  return op("add_n", xs);
}

// ---------------------------------------------------------------- GradCtx
Output GradCtx::grad(int i) {
  const Output& g = grad_outputs_.at(static_cast<size_t>(i));
  if (g.valid()) return g;
  return zeros_like(output(i));
}

}  // namespace nestor
