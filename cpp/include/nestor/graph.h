// nestor/graph.h: the dataflow graph.
//
// A Graph is append-only: a node may only consume outputs of nodes added before it,
// so node ids are a topological order (autodiff relies on this). Every add_node runs
// the op's shape function, so dtype and shape mismatches fail when the op is built.
// Node pointers stay valid for the Graph's lifetime. Building is single-threaded;
// sessions may run compiled plans concurrently with further building.
#pragma once

#include <memory>
#include <string>
#include <unordered_map>
#include <utility>
#include <variant>
#include <vector>

#include "nestor/tensor.h"

namespace nestor {

class OpDef;

struct Output {
  int node = -1;
  int index = 0;
  bool valid() const { return node >= 0; }
  bool operator==(const Output& o) const { return node == o.node && index == o.index; }
  bool operator!=(const Output& o) const { return !(*this == o); }
};

using AttrValue = std::variant<int64_t, double, bool, std::string, std::vector<int64_t>,
                               std::vector<double>, std::vector<std::string>, DType,
                               PartialShape, Tensor>;

// A small ordered attribute map (ops have a handful of attributes).
class Attrs {
 public:
  Attrs() = default;
  Attrs(std::initializer_list<std::pair<std::string, AttrValue>> items) {
    for (auto& kv : items) set(kv.first, kv.second);
  }
  void set(const std::string& name, AttrValue v);
  bool has(const std::string& name) const { return find(name) != nullptr; }
  const AttrValue* find(const std::string& name) const;
  template <typename T>
  const T& get(const std::string& name) const {
    const AttrValue* v = find(name);
    if (v == nullptr) fail(Code::kInvalidArgument, "missing attribute '", name, "'");
    const T* p = std::get_if<T>(v);
    if (p == nullptr) fail(Code::kInvalidArgument, "attribute '", name, "' has the wrong type");
    return *p;
  }
  template <typename T>
  T get_or(const std::string& name, T dflt) const {
    const AttrValue* v = find(name);
    if (v == nullptr) return dflt;
    const T* p = std::get_if<T>(v);
    return p ? *p : dflt;
  }
  const std::vector<std::pair<std::string, AttrValue>>& items() const { return items_; }

 private:
  std::vector<std::pair<std::string, AttrValue>> items_;
};

struct Node {
  int id = -1;
  std::string name;
  std::string op;
  const OpDef* def = nullptr;
  std::vector<Output> inputs;
  std::vector<int> control_inputs;
  Attrs attrs;
  std::string device;  // requested placement; "" = the session's device
  std::vector<DType> out_dtypes;
  std::vector<PartialShape> out_shapes;
  int num_outputs() const { return static_cast<int>(out_dtypes.size()); }
  template <typename T>
  const T& attr(const std::string& n) const { return attrs.get<T>(n); }
};

class Graph {
 public:
  Graph() = default;
  Graph(const Graph&) = delete;
  Graph& operator=(const Graph&) = delete;

  // Adds a node and infers its outputs. `name` is made unique if taken ("" = op name).
  // Throws InvalidArgument naming the node on unknown ops, bad inputs, shape or dtype mismatch.
  int add_node(const std::string& op, const std::vector<Output>& inputs, Attrs attrs = {},
               const std::string& name = "", const std::vector<int>& control_inputs = {},
               const std::string& device = "");
  // add_node returning output 0.
  Output add(const std::string& op, const std::vector<Output>& inputs, Attrs attrs = {},
             const std::string& name = "");

  int num_nodes() const { return static_cast<int>(nodes_.size()); }
  const Node& node(int id) const;
  int find(const std::string& name) const;  // -1 when absent
  std::string unique_name(const std::string& base) const;
  DType dtype(Output o) const { return node(o.node).out_dtypes.at(o.index); }
  const PartialShape& shape(Output o) const { return node(o.node).out_shapes.at(o.index); }
  std::string output_name(Output o) const;  // "node:0"
  // Tensor.set_shape: makes `o`'s static shape the most specific shape compatible with both
  // (InvalidArgument when they are not compatible). Consumers built later see it.
  void refine_shape(Output o, const PartialShape& shape);

  // Constant value of `o` if it is computable at build time (const nodes; `shape` of a
  // fully defined input). Returns nullptr otherwise. The pointer lives as long as the graph.
  const Tensor* constant_value(Output o) const;

  // Binary serialization (see serialize.cc for the layout); deserialize validates all sizes.
  std::string serialize() const;
  static std::shared_ptr<Graph> deserialize(const std::string& bytes);

 private:
  std::vector<std::unique_ptr<Node>> nodes_;
  std::unordered_map<std::string, int> by_name_;
  mutable std::unordered_map<int, Tensor> folded_;  // cache for constant_value of shape ops
};

// Autodiff: the gradient of sum(ys * grad_ys) with respect to each x, built as graph
// nodes. A gradient is dense, sparse (IndexedSlices from gather/embedding lookups: rows
// `indices` of a tensor of `dense_shape`) or absent (x does not affect ys).
struct GradValue {
  Output dense;
  Output indices, values, dense_shape;
  bool is_sparse() const { return indices.valid(); }
  bool valid() const { return dense.valid() || indices.valid(); }
};

// `stop` lists tensors treated as constants: no gradient flows back through them
// (TensorFlow's stop_gradients argument).
std::vector<GradValue> gradients(Graph& g, const std::vector<Output>& ys,
                                 const std::vector<Output>& xs,
                                 const std::vector<Output>& grad_ys = {},
                                 const std::string& scope = "gradients",
                                 const std::vector<Output>& stop = {});

}  // namespace nestor
