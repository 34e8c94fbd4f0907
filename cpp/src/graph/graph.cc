#include "nestor/graph.h"

#include <string>

#include "nestor/op.h"

namespace nestor {

void Attrs::set(const std::string& name, AttrValue v) {
  for (auto& kv : items_)
    if (kv.first == name) {
      kv.second = std::move(v);
      return;
    }
  items_.emplace_back(name, std::move(v));
}

const AttrValue* Attrs::find(const std::string& name) const {
  for (auto& kv : items_)
    if (kv.first == name) return &kv.second;
  return nullptr;
}

const Node& Graph::node(int id) const {
  if (id < 0 || id >= num_nodes()) fail(Code::kInvalidArgument, "node id ", id, " is not in the graph");
  return *nodes_[static_cast<size_t>(id)];
}

void Graph::refine_shape(Output o, const PartialShape& shape) {
  const Node& n = node(o.node);
  if (o.index < 0 || o.index >= n.num_outputs())
    fail(Code::kInvalidArgument, "node '", n.name, "' has no output ", o.index);
  PartialShape& s = nodes_[static_cast<size_t>(o.node)]->out_shapes[static_cast<size_t>(o.index)];
  if (!s.is_compatible_with(shape))
    fail(Code::kInvalidArgument, "Tensor ", output_name(o), " has shape ", s.str(), ", incompatible with ", shape.str());
  s = s.merge(shape);
}

int Graph::find(const std::string& name) const {
  auto it = by_name_.find(name);
  return it == by_name_.end() ? -1 : it->second;
}

std::string Graph::unique_name(const std::string& base) const {
  if (by_name_.find(base) == by_name_.end()) return base;
  for (int i = 1;; ++i) {
    std::string n = str_cat(base, "_", i);
    if (by_name_.find(n) == by_name_.end()) return n;
  }
}

std::string Graph::output_name(Output o) const { return str_cat(node(o.node).name, ":", o.index); }

int Graph::add_node(const std::string& op, const std::vector<Output>& inputs, Attrs attrs,
                    const std::string& name, const std::vector<int>& control_inputs,
                    const std::string& device) {
  const OpDef* def = OpRegistry::global().find(op);
  std::string nm = unique_name(name.empty() ? op : name);
  if (def == nullptr || !def->declared)
    fail(Code::kInvalidArgument, "op '", nm, "': unknown op type '", op, "'");
  auto n = std::make_unique<Node>();
  n->id = num_nodes();
  n->name = nm;
  n->op = op;
  n->def = def;
  n->attrs = std::move(attrs);
  n->device = device;
  for (size_t i = 0; i < inputs.size(); ++i) {
    const Output& in = inputs[i];
    if (in.node < 0 || in.node >= num_nodes() || in.index < 0 ||
        in.index >= nodes_[static_cast<size_t>(in.node)]->num_outputs())
      fail(Code::kInvalidArgument, "op '", nm, "' (", op, "): input ", i, " refers to a missing output (",
           in.node, ":", in.index, ")");
  }
  for (int c : control_inputs)
    if (c < 0 || c >= num_nodes())
      fail(Code::kInvalidArgument, "op '", nm, "': control input ", c, " is not in the graph");
  n->inputs = inputs;
  n->control_inputs = control_inputs;
  ShapeCtx ctx(*this, *n);
  if (!def->shape) fail(Code::kInternal, "op type '", op, "' has no shape function");
  def->shape(ctx);
  for (size_t i = 0; i < n->out_dtypes.size(); ++i)
    if (n->out_dtypes[i] == DType::kInvalid)
      fail(Code::kInternal, "op '", nm, "' (", op, "): shape function left output ", i, " unset");
  int id = n->id;
  by_name_.emplace(nm, id);
  nodes_.push_back(std::move(n));
  return id;
}

Output Graph::add(const std::string& op, const std::vector<Output>& inputs, Attrs attrs, const std::string& name) {
  return Output{add_node(op, inputs, std::move(attrs), name), 0};
}

const Tensor* Graph::constant_value(Output o) const {
  const Node& n = node(o.node);
  if (n.op == "const") return &n.attrs.get<Tensor>("value");
  if (n.op == "shape") {
    auto it = folded_.find(n.id);
    if (it != folded_.end()) return &it->second;
    const PartialShape& s = shape(n.inputs[0]);
    if (!s.fully_defined()) return nullptr;
    DType dt = n.out_dtypes[0];
    Tensor t = Tensor::empty(dt, {static_cast<int64_t>(s.rank())});
    for (int i = 0; i < s.rank(); ++i) {
      if (dt == DType::kInt32) t.data<int32_t>()[i] = static_cast<int32_t>(s.dim(i));
      else t.data<int64_t>()[i] = s.dim(i);
    }
    return &folded_.emplace(n.id, t).first->second;
  }
  return nullptr;
}

}  // namespace nestor
