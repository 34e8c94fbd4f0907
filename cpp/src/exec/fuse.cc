#include "fuse.h"

#include <algorithm>
#include <memory>
#include <set>
#include <string>

#include "../core/direct_gemm.h"
#include "nestor/backend.h"
#include "nestor/op.h"

namespace nestor {

namespace {

bool is_float32_2d(const Node& n) {
  return n.num_outputs() == 1 && n.out_dtypes[0] == DType::kFloat32 && n.out_shapes[0].known_rank() &&
         n.out_shapes[0].rank() == 2;
}

// The device a step runs on: its allocator's (placement gives every step of a device
// session one), else the session's.
Device step_device(const PlanStep& st, Device session) { return st.alloc != nullptr ? st.alloc->device() : session; }

// The kernel of `op` for device d when it can run `node` there: d has a kernel, the kernel's
// placement declaration (backend.h) keeps every input and output in d's memory (the fused
// step reads the slots its unfused steps read on d) and accepts the node. Else null.
const KernelFn* fused_kernel_for(const OpDef* def, const Node& node, Device d) {
  const KernelFn* k = def != nullptr ? def->kernel(d.type) : nullptr;
  if (k == nullptr || d.type == DeviceType::kCpu) return k;
  const KernelPlacement& kp = kernel_placement(def->name, d.type);
  if (!kp.host_inputs.empty() || !kp.host_outputs.empty() || (kp.supports && !kp.supports(node))) return nullptr;
  return k;
}

// What both fusions read off the plan before changing it.
struct Scan {
  std::vector<int> readers, reader, producer;  // per slot: how many steps read it, the last one, its step
  std::set<int> controlling;                   // nodes some node waits for

  Device session;  // the device of steps without an allocator of their own

  Scan(const Plan& plan, Device session_device) : session(session_device) {
    const size_t n_slots = static_cast<size_t>(plan.num_slots);
    readers.assign(n_slots, 0);
    reader.assign(n_slots, -1);
    producer.assign(n_slots, -1);
    for (size_t i = 0; i < plan.steps.size(); ++i) {
      const PlanStep& st = plan.steps[i];
      for (int s : st.in_slots)
        if (s >= 0) {
          ++readers[static_cast<size_t>(s)];
          reader[static_cast<size_t>(s)] = static_cast<int>(i);
        }
      for (int o = 0; o < st.node->num_outputs(); ++o) producer[static_cast<size_t>(st.out_base + o)] = static_cast<int>(i);
      controlling.insert(st.node->control_inputs.begin(), st.node->control_inputs.end());
    }
    for (int s : plan.fetch_slots) readers[static_cast<size_t>(s)] += 2;  // a fetched value must exist
  }
  // The step reading `slot` when it is its only reader and the value is not fetched, else -1.
  int only_reader(int slot) const {
    return readers[static_cast<size_t>(slot)] == 1 ? reader[static_cast<size_t>(slot)] : -1;
  }
  Device device(const PlanStep& st) const { return step_device(st, session); }
  // A graph node of this op with one float32 output, without ref inputs, that no node waits
  // for: a candidate for either fusion (whose steps must also share one device).
  bool candidate(const PlanStep& st, const char* op) const {
    const Node& n = *st.node;
    return n.op == op && n.num_outputs() == 1 && n.out_dtypes[0] == DType::kFloat32 && !controlling.count(n.id) &&
           std::all_of(st.refs.begin(), st.refs.end(), [](Variable* v) { return v == nullptr; });
  }
};

// relu_grad -> bias_add_grad (the backward pass of a dense relu layer): one step that writes
// dz and db. dz keeps its other readers (the two products of the layer's backward pass), so
// the fused step gets two fresh adjacent slots, and every reader and fetch of the old slots
// is pointed at them. The step sits where relu_grad was: bias_add_grad reads only dz.
bool fuse_relu_bias_grads(Plan& plan, const Scan& scan, std::vector<char>& gone) {
  const OpDef* def = OpRegistry::global().find("_fused_relu_bias_grad");
  if (def == nullptr) return false;
  std::vector<int> remap(static_cast<size_t>(plan.num_slots));
  for (size_t s = 0; s < remap.size(); ++s) remap[s] = static_cast<int>(s);
  bool any = false;
  for (size_t bi = 0; bi < plan.steps.size(); ++bi) {
    const PlanStep& bg = plan.steps[bi];
    if (gone[bi] || !scan.candidate(bg, "bias_add_grad") || bg.in_slots.size() != 1 || bg.in_slots[0] < 0) continue;
    int ri = scan.producer[static_cast<size_t>(bg.in_slots[0])];
    if (ri < 0 || gone[static_cast<size_t>(ri)]) continue;
    PlanStep& rg = plan.steps[static_cast<size_t>(ri)];
    if (!scan.candidate(rg, "relu_grad") || !is_float32_2d(*rg.node) || rg.in_slots.size() != 2) continue;
    const Device dev = scan.device(rg);
    if (scan.device(bg) != dev) continue;
    const Node& rn = *rg.node;
    auto node = std::make_unique<Node>();
    node->id = rn.id;
    node->name = rn.name;
    node->op = "_fused_relu_bias_grad";
    node->def = def;
    node->inputs = rn.inputs;
    node->device = rn.device;
    node->out_dtypes = {DType::kFloat32, DType::kFloat32};
    node->out_shapes = {rn.out_shapes[0], bg.node->out_shapes[0]};
    const KernelFn* kernel = fused_kernel_for(def, *node, dev);
    if (kernel == nullptr) continue;
    PlanStep st;
    st.node = node.get();
    st.kernel = kernel;
    st.alloc = rg.alloc;
    st.in_slots = rg.in_slots;
    st.refs.assign(2, nullptr);
    st.out_base = plan.num_slots;
    remap[static_cast<size_t>(rg.out_base)] = st.out_base;
    remap[static_cast<size_t>(bg.out_base)] = st.out_base + 1;
    plan.num_slots += 2;
    plan.plan_nodes.push_back(std::move(node));
    rg = std::move(st);
    gone[bi] = 1;
    any = true;
  }
  if (!any) return false;
  for (PlanStep& st : plan.steps)  // every slot read here existed before the new ones
    for (int& s : st.in_slots)
      if (s >= 0) s = remap[static_cast<size_t>(s)];
  for (int& s : plan.fetch_slots) s = remap[static_cast<size_t>(s)];
  return true;
}

}  // namespace

std::vector<char> recompute_releases(Plan& plan) {
  std::vector<int> last_use(static_cast<size_t>(plan.num_slots), -1);
  std::vector<char> read(static_cast<size_t>(plan.num_slots), 0);
  for (size_t i = 0; i < plan.steps.size(); ++i) {
    PlanStep& st = plan.steps[i];
    st.release.clear();
    for (int s : st.in_slots)
      if (s >= 0) {
        last_use[static_cast<size_t>(s)] = static_cast<int>(i);
        read[static_cast<size_t>(s)] = 1;
      }
    for (int o = 0; o < st.node->num_outputs(); ++o) last_use[static_cast<size_t>(st.out_base + o)] = static_cast<int>(i);
  }
  for (int s : plan.fetch_slots) last_use[static_cast<size_t>(s)] = -1;
  for (int s = 0; s < plan.num_slots; ++s)
    if (last_use[static_cast<size_t>(s)] >= 0) plan.steps[static_cast<size_t>(last_use[static_cast<size_t>(s)])].release.push_back(s);
  return read;
}

void fuse_plan(Plan& plan, Device session_device) {
  const OpDef* fused_def = OpRegistry::global().find("_fused_matmul");
  if (fused_def == nullptr) return;
  const Scan scan(plan, session_device);

  auto fusable = [&](const PlanStep& st, const char* op) { return scan.candidate(st, op) && is_float32_2d(*st.node); };
  std::vector<char> gone(plan.steps.size(), 0);
  bool any = false;
  for (size_t bi = 0; bi < plan.steps.size(); ++bi) {
    PlanStep& badd = plan.steps[bi];
    if (!fusable(badd, "bias_add") || badd.in_slots.size() != 2) continue;
    int mi = scan.producer[static_cast<size_t>(badd.in_slots[0])];
    if (mi < 0 || gone[static_cast<size_t>(mi)] || scan.only_reader(badd.in_slots[0]) != static_cast<int>(bi)) continue;
    PlanStep& mm = plan.steps[static_cast<size_t>(mi)];
    if (!fusable(mm, "matmul") || mm.in_slots.size() != 2) continue;
    const Device dev = scan.device(mm);
    if (scan.device(badd) != dev) continue;
    const Node& mn = *mm.node;  // its output is 2-D, so are both inputs (batched products are >= 3-D)
    int ri = scan.only_reader(badd.out_base);
    size_t last = bi;
    std::string act;
    if (ri >= 0 && fusable(plan.steps[static_cast<size_t>(ri)], "relu") &&
        scan.device(plan.steps[static_cast<size_t>(ri)]) == dev) {
      last = static_cast<size_t>(ri);
      act = "relu";
    }
    auto node = std::make_unique<Node>();
    const Node& tail = *plan.steps[last].node;
    node->id = tail.id;
    node->name = tail.name;
    node->op = "_fused_matmul";
    node->def = fused_def;
    node->inputs = {mn.inputs[0], mn.inputs[1], badd.node->inputs[1]};
    node->attrs = mn.attrs;
    node->attrs.set("activation", act);
    node->device = tail.device;
    node->out_dtypes = tail.out_dtypes;
    node->out_shapes = tail.out_shapes;
    const KernelFn* kernel = fused_kernel_for(fused_def, *node, dev);
    if (kernel == nullptr) continue;
    PlanStep st;
    st.node = node.get();
    st.kernel = kernel;
    st.alloc = mm.alloc;
    st.in_slots = {mm.in_slots[0], mm.in_slots[1], badd.in_slots[1]};
    st.refs.assign(3, nullptr);
    st.out_base = plan.steps[last].out_base;
    plan.plan_nodes.push_back(std::move(node));
    gone[static_cast<size_t>(mi)] = 1;
    if (last != bi) gone[bi] = 1;
    plan.steps[last] = std::move(st);
    any = true;
  }
  any = fuse_relu_bias_grads(plan, scan, gone) || any;
  if (!any) return;
  std::vector<PlanStep> kept;
  kept.reserve(plan.steps.size());
  for (size_t i = 0; i < plan.steps.size(); ++i)
    if (!gone[i]) kept.push_back(std::move(plan.steps[i]));
  plan.steps = std::move(kept);
  recompute_releases(plan);
}

void pack_constant_weights(Plan& plan, std::map<const void*, std::pair<Tensor, Tensor>>& cache) {
  if (!blas::direct_sgemm_available()) return;
  const Scan scan(plan, Device{});
  std::map<int, const Tensor*> constant;  // folded values by slot
  for (const auto& c : plan.constants) constant[c.first] = &c.second;
  // The value a slot always holds, when it is a variable read (through identities) or a constant.
  auto fixed_value = [&](int slot) -> const Tensor* {
    for (int hops = 0; slot >= 0 && hops < 8; ++hops) {
      auto c = constant.find(slot);
      if (c != constant.end()) return c->second;
      int p = scan.producer[static_cast<size_t>(slot)];
      if (p < 0) return nullptr;
      const PlanStep& st = plan.steps[static_cast<size_t>(p)];
      if (st.node->op == "variable") {
        const Variable* v = st.refs.empty() ? nullptr : st.refs.back();
        return v != nullptr && v->initialized && v->value.device().type == DeviceType::kCpu ? &v->value : nullptr;
      }
      if (st.node->op != "identity" || st.in_slots.size() != 1) return nullptr;
      slot = st.in_slots[0];
    }
    return nullptr;
  };
  bool any = false;
  for (PlanStep& st : plan.steps) {
    // Only CPU steps: the panels are host memory read by the CPU kernel alone.
    if (st.node->op != "_fused_matmul" || st.in_slots.size() != 3 || scan.device(st).type != DeviceType::kCpu) continue;
    const Tensor* w = fixed_value(st.in_slots[1]);
    if (w == nullptr || !w->defined() || w->dtype() != DType::kFloat32 || w->rank() != 2) continue;
    const bool tb = st.node->attrs.get_or<bool>("transpose_b", false);
    const int64_t k = w->dim(tb ? 1 : 0), n = w->dim(tb ? 0 : 1);
    auto it = cache.find(w->raw());
    if (it == cache.end()) {
      Tensor panels = Tensor::empty(DType::kFloat32, {blas::b_panels_size(k, n)});
      blas::pack_b_panels(tb, k, n, w->data<float>(), w->dim(1), panels.data<float>());
      it = cache.emplace(w->raw(), std::make_pair(*w, std::move(panels))).first;
    }
    const int slot = plan.num_slots++;
    plan.constants.emplace_back(slot, it->second.second);
    st.in_slots.push_back(slot);
    any = true;
  }
  if (any) recompute_releases(plan);
}

}  // namespace nestor
