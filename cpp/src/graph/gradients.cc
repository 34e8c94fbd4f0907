// Reverse-mode autodiff over the append-only graph: node ids are a topological order,
// so one descending sweep visits every node after all of its consumers.
#include <map>

#include "nestor/graph.h"
#include "nestor/op.h"

namespace nestor {
namespace {

// Sums the contributions to one output's gradient. Sparse + sparse stays sparse
// (rows concatenated; duplicates are summed by whoever consumes it), anything dense
// makes the result dense.
GradValue aggregate(Builder& b, std::vector<GradValue>& parts) {
  if (parts.empty()) return GradValue{};
  if (parts.size() == 1) return parts[0];
  bool all_sparse = true;
  for (auto& p : parts) all_sparse = all_sparse && p.is_sparse();
  if (all_sparse) {
    std::vector<Output> idx, val;
    for (auto& p : parts) {
      idx.push_back(b.cast(p.indices, DType::kInt64));
      val.push_back(p.values);
    }
    Output i = b.op("concat", idx, Attrs{{"axis", int64_t{0}}});
    Output v = b.op("concat", val, Attrs{{"axis", int64_t{0}}});
    return GradValue{Output{}, i, v, parts[0].dense_shape};
  }
  std::vector<Output> dense;
  for (auto& p : parts) {
    if (p.is_sparse()) dense.push_back(b.op("indexed_slices_to_dense", {p.indices, p.values, p.dense_shape}));
    else dense.push_back(p.dense);
  }
  return GradValue{b.add_n(dense), Output{}, Output{}, Output{}};
}

Output densify(Builder& b, const GradValue& g) {
  if (!g.valid()) return Output{};
  if (!g.is_sparse()) return g.dense;
  return b.op("indexed_slices_to_dense", {g.indices, g.values, g.dense_shape});
}

}  // namespace

std::vector<GradValue> gradients(Graph& g, const std::vector<Output>& ys, const std::vector<Output>& xs,
                                 const std::vector<Output>& grad_ys, const std::string& scope,
                                 const std::vector<Output>& stop) {
  NESTOR_CHECK_ARG(grad_ys.empty() || grad_ys.size() == ys.size(), "gradients: got ", grad_ys.size(),
                   " grad_ys for ", ys.size(), " ys");
  const int n = g.num_nodes();
  for (auto& o : ys) NESTOR_CHECK_ARG(o.node >= 0 && o.node < n, "gradients: y is not in the graph");
  for (auto& o : xs) NESTOR_CHECK_ARG(o.node >= 0 && o.node < n, "gradients: x is not in the graph");
  std::string prefix = g.unique_name(scope);
  Builder b(g, prefix);

  // Nodes on a path from some x to some y.
  std::vector<char> reach(static_cast<size_t>(n), 0), need(static_cast<size_t>(n), 0);
  int lo = n;
  for (auto& x : xs) {
    reach[static_cast<size_t>(x.node)] = 1;
    lo = std::min(lo, x.node);
  }
  for (int id = lo; id < n; ++id) {
    if (reach[static_cast<size_t>(id)]) continue;
    for (auto& in : g.node(id).inputs)
      if (reach[static_cast<size_t>(in.node)]) {
        reach[static_cast<size_t>(id)] = 1;
        break;
      }
  }
  int hi = -1;
  for (auto& y : ys) {
    need[static_cast<size_t>(y.node)] = 1;
    hi = std::max(hi, y.node);
  }
  for (int id = hi; id >= lo && id >= 0; --id) {
    if (!need[static_cast<size_t>(id)] || !reach[static_cast<size_t>(id)]) continue;
    for (auto& in : g.node(id).inputs) need[static_cast<size_t>(in.node)] = 1;
  }

  std::map<std::pair<int, int>, std::vector<GradValue>> contrib;
  for (size_t i = 0; i < ys.size(); ++i) {
    const Output& y = ys[i];
    if (!is_floating(g.dtype(y))) continue;
    Output gy = grad_ys.empty() || !grad_ys[i].valid() ? b.ones_like(y) : grad_ys[i];
    contrib[{y.node, y.index}].push_back(GradValue{gy, {}, {}, {}});
  }

  std::map<std::pair<int, int>, GradValue> final_grads;
  std::map<std::pair<int, int>, bool> is_x, is_stop;
  for (auto& x : xs) is_x[{x.node, x.index}] = true;
  for (auto& t : stop) is_stop[{t.node, t.index}] = true;

  for (int id = hi; id >= lo && id >= 0; --id) {
    if (!need[static_cast<size_t>(id)] || !reach[static_cast<size_t>(id)]) continue;
    const Node& node = g.node(id);
    std::vector<GradValue> out_grads(static_cast<size_t>(node.num_outputs()));
    bool any = false;
    for (int i = 0; i < node.num_outputs(); ++i) {
      auto it = contrib.find({id, i});
      if (it == contrib.end()) continue;
      out_grads[static_cast<size_t>(i)] = aggregate(b, it->second);
      contrib.erase(it);
      if (is_x.count({id, i})) final_grads[{id, i}] = out_grads[static_cast<size_t>(i)];
      if (is_stop.count({id, i})) out_grads[static_cast<size_t>(i)] = GradValue{};  // a constant from here on
      any = any || out_grads[static_cast<size_t>(i)].valid();
    }
    if (!any) continue;
    bool has_relevant_input = false;
    for (auto& in : node.inputs)
      if (reach[static_cast<size_t>(in.node)] && is_floating(g.dtype(in))) has_relevant_input = true;
    if (!has_relevant_input) continue;
    if (!node.def->grad) {
      if (node.def->explicit_no_grad) continue;
      fail(Code::kNotFound, "No gradient defined for operation '", node.name, "' (op type: ", node.op, ")");
    }
    std::vector<Output> dense(out_grads.size());
    for (size_t i = 0; i < out_grads.size(); ++i) dense[i] = densify(b, out_grads[i]);
    GradCtx ctx(g, node, prefix + "/" + node.name + "_grad", dense);
    node.def->grad(ctx);
    const auto& ig = ctx.input_grads();
    for (size_t i = 0; i < node.inputs.size() && i < ig.size(); ++i) {
      const Output& in = node.inputs[i];
      if (!ig[i].valid() || !reach[static_cast<size_t>(in.node)] || !is_floating(g.dtype(in))) continue;
      contrib[{in.node, in.index}].push_back(ig[i]);
    }
  }

  std::vector<GradValue> result;
  for (auto& x : xs) {
    auto it = final_grads.find({x.node, x.index});
    result.push_back(it == final_grads.end() ? GradValue{} : it->second);
  }
  return result;
}

}  // namespace nestor
