#include "fold.h"

#include <algorithm>
#include <exception>
#include <map>
#include <utility>

#include "fuse.h"

namespace nestor {

namespace {

bool is_source(const std::string& op) {
  return op == "placeholder" || op == "placeholder_with_default" || op == "variable";
}

// Whether the step may be folded at all, whatever its inputs.
bool foldable_node(const PlanStep& st, const Plan& plan) {
  const Node& n = *st.node;
  if (n.def->stateful || is_source(n.op) || !n.control_inputs.empty()) return false;
  if (std::find(plan.feed_nodes.begin(), plan.feed_nodes.end(), &n) != plan.feed_nodes.end()) return false;
  for (Variable* v : st.refs)
    if (v != nullptr) return false;
  return true;
}

// `shape` of an input whose static shape is fully defined (a fed input is checked
// against that shape, so its value has the same dims).
bool static_shape(const Graph& g, const Node& n, Tensor* out) {
  if (n.op != "shape" || n.inputs.size() != 1) return false;
  const PartialShape& s = g.shape(n.inputs[0]);
  if (!s.fully_defined()) return false;
  DType dt = n.out_dtypes[0];
  Tensor t = Tensor::empty(dt, {static_cast<int64_t>(s.rank())});
  for (int i = 0; i < s.rank(); ++i) {
    if (dt == DType::kInt32) t.data<int32_t>()[i] = static_cast<int32_t>(s.dim(i));
    else t.data<int64_t>()[i] = s.dim(i);
  }
  *out = std::move(t);
  return true;
}

// Runs the step's kernel on constant inputs; false if it fails or an output is missing
// or too big (the step then stays in the plan and runs, and fails, as before).
bool evaluate(Session& session, const PlanStep& st, const std::map<int, Tensor>& known,
              std::vector<Tensor>* outs) {
  const Node& n = *st.node;
  std::vector<const Tensor*> ins;
  for (int s : st.in_slots) {
    auto it = known.find(s);
    if (it == known.end()) return false;
    ins.push_back(&it->second);
  }
  outs->assign(static_cast<size_t>(n.num_outputs()), Tensor());
  KernelCtx ctx;
  ctx.node_ = &n;
  ctx.inputs_ = ins.data();
  ctx.num_inputs_ = ins.size();
  ctx.outputs_ = outs->data();
  ctx.alloc_ = &cpu_allocator();
  ctx.pool_ = &session.pool();
  ctx.session_ = &session;
  try {
    (*st.kernel)(ctx);
  } catch (const std::exception&) {
    return false;
  }
  for (const Tensor& t : *outs) {
    if (t.dtype() == DType::kInvalid) return false;  // the kernel left an output unset
    if (n.op != "const" && t.nbytes() > kMaxFoldedBytes) return false;
  }
  return true;
}

}  // namespace

void fold_plan(Session& session, Plan& plan) {
  const Graph& g = session.graph();
  std::map<int, Tensor> known;  // slot -> compile-time value
  std::vector<PlanStep> kept;
  bool folded_any = false;
  for (PlanStep& st : plan.steps) {
    const Node& n = *st.node;
    std::vector<Tensor> outs(1);
    bool folded = false;
    if (foldable_node(st, plan)) {
      if (static_shape(g, n, &outs[0])) folded = true;
      else folded = evaluate(session, st, known, &outs);
    }
    if (!folded) {
      kept.push_back(std::move(st));
      continue;
    }
    folded_any = true;
    for (size_t o = 0; o < outs.size(); ++o) known[st.out_base + static_cast<int>(o)] = std::move(outs[o]);
  }
  plan.steps = std::move(kept);  // every step was moved into `kept`
  if (!folded_any) return;
  // Constants that no step reads and nobody fetches are not placed at all.
  std::vector<char> read = recompute_releases(plan);
  for (auto& kv : known)
    if (read[static_cast<size_t>(kv.first)] ||
        std::find(plan.fetch_slots.begin(), plan.fetch_slots.end(), kv.first) != plan.fetch_slots.end())
      plan.constants.emplace_back(kv.first, std::move(kv.second));
}

}  // namespace nestor
