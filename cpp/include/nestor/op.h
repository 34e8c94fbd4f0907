// nestor/op.h: the op registry. One op, one place: a file in cpp/src/ops/ declares the
// op once with its shape function, gradient (built from other graph ops, so it works
// on every device) and CPU kernel:
//
//   NESTOR_OP("relu")
//       .shape(same_as_input)
//       .grad([](GradCtx& g) { g.set_grad(0, g.op("relu_grad", {g.grad(0), g.output(0)})); })
//       .cpu(relu_cpu);
//
// Other backends add kernels with NESTOR_REGISTER_KERNEL(op, DeviceType::kCuda, fn)
// from their own files; static registrars, no central list.
#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "nestor/graph.h"

namespace nestor {

class ThreadPool;
class Session;

// ---------------------------------------------------------------- shape inference
class ShapeCtx {
 public:
  ShapeCtx(const Graph& g, Node& n) : graph_(g), node_(n) {}
  const Node& node() const { return node_; }
  const Graph& graph() const { return graph_; }
  int num_inputs() const { return static_cast<int>(node_.inputs.size()); }
  DType dtype(int i) const { return graph_.dtype(node_.inputs.at(i)); }
  const PartialShape& shape(int i) const { return graph_.shape(node_.inputs.at(i)); }
  const Tensor* constant(int i) const { return graph_.constant_value(node_.inputs.at(i)); }
  template <typename T>
  const T& attr(const std::string& n) const { return node_.attrs.get<T>(n); }
  template <typename T>
  T attr_or(const std::string& n, T d) const { return node_.attrs.get_or<T>(n, d); }
  void set_output(int i, DType dt, PartialShape s);
  void expect_inputs(int n) const;        // exactly n inputs
  void expect_inputs(int lo, int hi) const;
  void expect_dtype(int i, DType dt) const;
  void expect_same_dtype(int i, int j) const;
  void expect_float(int i) const;
  void expect_rank(int i, int rank) const;
  template <typename... A>
  [[noreturn]] void fail(const A&... a) const {
    nestor::fail(Code::kInvalidArgument, "op '", node_.name, "' (", node_.op, "): ", a...);
  }

 private:
  const Graph& graph_;
  Node& node_;
};

// ---------------------------------------------------------------- graph building helpers
// Adds nodes under a name prefix; GradCtx is one. Shapes of the results are inferred.
class Builder {
 public:
  Builder(Graph& g, std::string prefix) : g_(g), prefix_(std::move(prefix)) {}
  Graph& graph() { return g_; }
  Output op(const std::string& type, const std::vector<Output>& in, Attrs a = {});
  int op_node(const std::string& type, const std::vector<Output>& in, Attrs a = {});
  DType dtype(Output o) const { return g_.dtype(o); }
  const PartialShape& shape(Output o) const { return g_.shape(o); }

  Output scalar(double v, DType dt);
  Output const_ints(const std::vector<int64_t>& v);  // int64 vector
  Output add(Output a, Output b) { return op("add", {a, b}); }
  Output sub(Output a, Output b) { return op("subtract", {a, b}); }
  Output mul(Output a, Output b) { return op("multiply", {a, b}); }
  Output div(Output a, Output b) { return op("divide", {a, b}); }
  Output neg(Output a) { return op("negative", {a}); }
  Output square(Output a) { return op("square", {a}); }
  Output cast(Output a, DType dt);
  Output shape_of(Output a) { return op("shape", {a}); }
  Output reshape(Output a, Output shape) { return op("reshape", {a, shape}); }
  Output zeros_like(Output a) { return op("zeros_like", {a}); }
  Output ones_like(Output a) { return op("ones_like", {a}); }
  Output matmul(Output a, Output b, bool ta = false, bool tb = false);
  Output sum(Output a, const std::vector<int64_t>& axes, bool keepdims);
  // Sums `grad` down to the shape of `like` (the inverse of numpy broadcasting).
  Output sum_to(Output grad, Output like);
  Output add_n(const std::vector<Output>& xs);
  Output select(Output cond, Output a, Output b) { return op("where", {cond, a, b}); }

 protected:
  Graph& g_;
  std::string prefix_;
};

// ---------------------------------------------------------------- gradients
class GradCtx : public Builder {
 public:
  GradCtx(Graph& g, const Node& n, std::string prefix, const std::vector<Output>& grad_outputs)
      : Builder(g, std::move(prefix)), node_(n), grad_outputs_(grad_outputs),
        grads_(n.inputs.size()) {}
  const Node& node() const { return node_; }
  Output input(int i) const { return node_.inputs.at(i); }
  Output output(int i) const { return Output{node_.id, i}; }
  // Gradient flowing into output i (zeros of the output's shape if none flows).
  Output grad(int i = 0);
  bool has_grad(int i) const { return grad_outputs_.at(i).valid(); }
  template <typename T>
  const T& attr(const std::string& n) const { return node_.attrs.get<T>(n); }
  template <typename T>
  T attr_or(const std::string& n, T d) const { return node_.attrs.get_or<T>(n, d); }
  void set_grad(int i, Output g) { grads_.at(i).dense = g; }
  void set_sparse_grad(int i, Output indices, Output values, Output dense_shape) {
    grads_.at(i) = GradValue{Output{}, indices, values, dense_shape};
  }
  const std::vector<GradValue>& input_grads() const { return grads_; }

 private:
  const Node& node_;
  const std::vector<Output>& grad_outputs_;
  std::vector<GradValue> grads_;
};

// ---------------------------------------------------------------- kernels
struct Variable {
  std::string name;
  DType dtype = DType::kInvalid;
  PartialShape shape;
  Tensor value;
  bool initialized = false;
  std::mutex mu;  // held by update kernels (use_locking semantics)
};

class KernelCtx {
 public:
  const Node& node() const { return *node_; }
  int num_inputs() const { return static_cast<int>(num_inputs_); }
  const Tensor& input(int i) const { return *inputs_[i]; }
  // The variable behind ref input i (ops declared with .ref_input(i)).
  Variable& ref(int i) const {
    Variable* v = refs_ ? refs_[i] : nullptr;
    if (v == nullptr) fail(Code::kInvalidArgument, "input ", i, " must be a variable");
    return *v;
  }
  Tensor& allocate_output(int i, DType dt, const Dims& dims) {
    outputs_[i] = Tensor::empty(dt, dims, *alloc_);
    return outputs_[i];
  }
  void set_output(int i, Tensor t) { outputs_[i] = std::move(t); }
  Tensor& output(int i) { return outputs_[i]; }
  Allocator& allocator() const { return *alloc_; }
  ThreadPool& pool() const { return *pool_; }
  Session& session() const { return *session_; }
  // Reserves `n` counter values of this node's random stream (Philox-style counters).
  uint64_t rng_advance(uint64_t n) { return rng_->fetch_add(n); }
  template <typename T>
  const T& attr(const std::string& n) const { return node_->attrs.get<T>(n); }
  template <typename T>
  T attr_or(const std::string& n, T d) const { return node_->attrs.get_or<T>(n, d); }
  template <typename... A>
  [[noreturn]] void fail(Code c, const A&... a) const {
    nestor::fail(c, "op '", node_->name, "' (", node_->op, "): ", a...);
  }

  // Set by the executor.
  const Node* node_ = nullptr;
  const Tensor* const* inputs_ = nullptr;
  size_t num_inputs_ = 0;
  Variable* const* refs_ = nullptr;
  Tensor* outputs_ = nullptr;
  Allocator* alloc_ = nullptr;
  ThreadPool* pool_ = nullptr;
  Session* session_ = nullptr;
  std::atomic<uint64_t>* rng_ = nullptr;
};

using ShapeFn = std::function<void(ShapeCtx&)>;
using GradFn = std::function<void(GradCtx&)>;
using KernelFn = std::function<void(KernelCtx&)>;

class OpDef {
 public:
  std::string name;
  ShapeFn shape;
  GradFn grad;              // empty: not differentiable (see no_grad)
  bool declared = false;    // declared by NESTOR_OP (not only by a kernel registration)
  bool explicit_no_grad = false;
  bool stateful = false;    // never pruned or folded; has an rng stream
  std::vector<int> ref_inputs;
  std::map<DeviceType, KernelFn> kernels;
  const KernelFn* kernel(DeviceType d) const {
    auto it = kernels.find(d);
    return it == kernels.end() ? nullptr : &it->second;
  }
  bool is_ref_input(int i) const;
};

class OpRegistry {
 public:
  static OpRegistry& global();
  OpDef& get_or_create(const std::string& name);
  const OpDef* find(const std::string& name) const;
  std::vector<std::string> names() const;
  // Problems: ops without a CPU kernel, kernels naming undeclared ops.
  std::vector<std::string> self_test() const;

 private:
  std::map<std::string, std::unique_ptr<OpDef>> ops_;
  mutable std::mutex mu_;
};

class OpDefBuilder {
 public:
  explicit OpDefBuilder(const std::string& name);
  OpDefBuilder& shape(ShapeFn f);
  OpDefBuilder& grad(GradFn f);
  OpDefBuilder& no_grad();
  OpDefBuilder& stateful();
  OpDefBuilder& ref_input(int i);
  OpDefBuilder& cpu(KernelFn f);
  OpDefBuilder& kernel(DeviceType d, KernelFn f);

 private:
  OpDef* def_;
};

struct OpRegistrar {
  OpRegistrar(const OpDefBuilder&) {}
};
struct KernelRegistrar {
  KernelRegistrar(const std::string& op, DeviceType d, KernelFn f);
};

// Shape function shared by unary elementwise ops: output = input 0.
void same_as_input(ShapeCtx& c);

}  // namespace nestor

#define NESTOR_CONCAT_(a, b) a##b
#define NESTOR_CONCAT(a, b) NESTOR_CONCAT_(a, b)
#define NESTOR_OP(name) \
  static const ::nestor::OpRegistrar NESTOR_CONCAT(nestor_op_, __COUNTER__) = ::nestor::OpDefBuilder(name)
#define NESTOR_REGISTER_KERNEL(name, device, fn) \
  static const ::nestor::KernelRegistrar NESTOR_CONCAT(nestor_kernel_, __COUNTER__)(name, device, fn)
