#include "placement.h"

#include <algorithm>
#include <map>
#include <mutex>
#include <utility>

#include "nestor/backend.h"

namespace nestor {

// ---------------------------------------------------------------- copies between devices
Tensor copy_to_device(const Tensor& t, Device d) {
  if (t.device() == d) return t;
  NESTOR_CHECK_ARG(t.dtype() != DType::kString, "string tensors live on the host; cannot copy one to ", d.str());
  if (d.type == DeviceType::kCpu) return backend_for(t.device()).copy_to_host(t);
  return backend_for(d).copy_from(t);
}

Tensor host_copy(const Tensor& t) {
  if (t.device().type == DeviceType::kCpu) return t.clone();
  return backend_for(t.device()).copy_to_host(t);
}

// ---------------------------------------------------------------- kernel placement declarations
namespace {

struct PlacementRegistry {
  std::mutex mu;
  std::map<std::pair<std::string, DeviceType>, KernelPlacement> decls;
};

PlacementRegistry& placement_registry() {
  static PlacementRegistry* r = new PlacementRegistry();  // filled by plugins' static registrars
  return *r;
}

}  // namespace

void register_kernel_placement(const std::string& op, DeviceType d, KernelPlacement m) {
  auto& r = placement_registry();
  std::lock_guard<std::mutex> l(r.mu);
  r.decls[{op, d}] = std::move(m);
}

const KernelPlacement& kernel_placement(const std::string& op, DeviceType d) {
  static const KernelPlacement kNone;
  auto& r = placement_registry();
  std::lock_guard<std::mutex> l(r.mu);
  auto it = r.decls.find({op, d});
  return it == r.decls.end() ? kNone : it->second;  // entries are never erased
}

// ---------------------------------------------------------------- variable homes
Device Session::variable_home(const Variable* v) {
  std::lock_guard<std::mutex> l(mu_);
  auto it = var_home_.find(v);
  return it == var_home_.end() ? device_ : it->second;
}

void Session::set_variable_home(const Variable* v, Device d) {
  std::lock_guard<std::mutex> l(mu_);
  var_home_[v] = d;
}

// ---------------------------------------------------------------- the placement pass
namespace {

bool contains(const std::vector<int>& v, int x) { return std::find(v.begin(), v.end(), x) != v.end(); }

std::string var_key(const Node& variable_node) {
  return variable_node.attrs.get_or<std::string>("shared_name", variable_node.name);
}

class Placer {
 public:
  Placer(Session& s, const Graph& g, Plan& p)
      : s_(s), g_(g), plan_(p), dev_(s.device()), dev_alloc_(&backend_for(dev_).allocator()) {}

  void run() {
    decide_variable_homes();
    std::vector<PlanStep> old = std::move(plan_.steps);
    plan_.steps.clear();
    on_dev_.assign(static_cast<size_t>(plan_.num_slots), 0);
    producer_.assign(static_cast<size_t>(plan_.num_slots), nullptr);
    slot_dtype_.assign(static_cast<size_t>(plan_.num_slots), DType::kFloat32);
    for (size_t i = 0; i < plan_.feed_slots.size(); ++i)
      slot_dtype_[static_cast<size_t>(plan_.feed_slots[i])] = g_.dtype(plan_.feeds[i]);
    for (size_t i = 0; i < plan_.feed_slots.size(); ++i) feed_node_[plan_.feed_slots[i]] = plan_.feed_nodes[i];
    for (PlanStep& st : old) place_step(std::move(st));
    if (!plan_.fetches_on_device)
      for (int& f : plan_.fetch_slots)
        if (on_dev_[static_cast<size_t>(f)]) f = copy_slot(f, false);
    recompute_releases();
  }

 private:
  // Can node n run on the session's device (ignoring where its variables live)?
  bool device_capable(const Node& n) const {
    if (n.def->kernel(dev_.type) == nullptr) return false;
    const KernelPlacement& kp = kernel_placement(n.op, dev_.type);
    if (kp.supports && !kp.supports(n)) return false;
    if (!n.device.empty() && Device::parse(n.device).type == DeviceType::kCpu) return false;
    for (const Output& in : n.inputs)
      if (g_.dtype(in) == DType::kString) return false;
    for (DType t : n.out_dtypes)
      if (t == DType::kString) return false;
    return true;
  }

  void decide_variable_homes() {
    std::map<std::string, bool> capable;  // variable key -> all its updaters can run on the device
    for (int id = 0; id < g_.num_nodes(); ++id) {
      const Node& n = g_.node(id);
      for (size_t i = 0; i < n.inputs.size(); ++i) {
        const Node& src = g_.node(n.inputs[i].node);
        if (!n.def->is_ref_input(static_cast<int>(i)) || src.op != "variable") continue;
        auto it = capable.emplace(var_key(src), true).first;
        it->second = it->second && device_capable(n);
      }
    }
    for (const PlanStep& st : plan_.steps) {
      for (size_t i = 0; i < st.refs.size(); ++i) {
        Variable* v = st.refs[i];
        if (v == nullptr || homes_.count(v)) continue;
        auto it = capable.find(v->name);
        Device home = (it == capable.end() || it->second) ? dev_ : Device{};
        s_.set_variable_home(v, home);
        homes_[v] = home;
        std::lock_guard<std::mutex> l(v->mu);  // values set before this compile move home
        if (v->initialized && v->value.device() != home) v->value = copy_to_device(v->value, home);
      }
    }
  }

  void place_step(PlanStep st) {
    const Node& n = *st.node;
    bool on_dev = device_capable(n);
    const Variable* first_var = nullptr;
    for (Variable* v : st.refs) {
      if (v == nullptr) continue;
      Device home = homes_.at(v);
      if (first_var != nullptr && homes_.at(first_var) != home)
        fail(Code::kUnimplemented, "op '", n.name, "' (", n.op, ") updates variables on different devices: ",
             first_var->name, " on ", homes_.at(first_var).str(), " and ", v->name, " on ", home.str());
      first_var = v;
      on_dev = home != Device{};
    }
    if (on_dev && n.def->kernel(dev_.type) == nullptr)
      fail(Code::kInternal, "placement: op '", n.name, "' (", n.op, ") has no kernel for ", dev_.str());
    st.kernel = n.def->kernel(on_dev ? dev_.type : DeviceType::kCpu);
    if (st.kernel == nullptr)
      fail(Code::kUnimplemented, "op '", n.name, "' (", n.op, ") has no kernel for ", dev_.str(), " or the CPU");
    st.alloc = on_dev ? dev_alloc_ : &cpu_allocator();
    const KernelPlacement& hm = on_dev ? kernel_placement(n.op, dev_.type) : kHostOnly;
    for (size_t i = 0; i < st.in_slots.size(); ++i) {
      int s = st.in_slots[i];
      if (s < 0) continue;
      bool want_dev = on_dev && !contains(hm.host_inputs, static_cast<int>(i));
      // A feed may arrive on the host or on a device: its readers on either side go through
      // a copy step, which hands the value on as it is when it is already there.
      if (feed_node_.count(s) || static_cast<bool>(on_dev_[static_cast<size_t>(s)]) != want_dev)
        st.in_slots[i] = copy_slot(s, want_dev);
    }
    for (int o = 0; o < n.num_outputs(); ++o) {
      size_t s = static_cast<size_t>(st.out_base + o);
      on_dev_[s] = on_dev && !contains(hm.host_outputs, o);
      producer_[s] = &n;
      slot_dtype_[s] = n.out_dtypes[static_cast<size_t>(o)];
    }
    nouts_.push_back(n.num_outputs());
    plan_.steps.push_back(std::move(st));
  }

  // The slot holding `s` moved to the device (to_dev) or the host; adds the copy step.
  int copy_slot(int s, bool to_dev) {
    auto key = std::make_pair(s, to_dev);
    auto found = copies_.find(key);
    if (found != copies_.end()) return found->second;
    const Node* src = producer_[static_cast<size_t>(s)];
    auto fed = feed_node_.find(s);
    auto node = std::make_unique<Node>();
    node->name = (src ? src->name : fed != feed_node_.end() ? fed->second->name : std::string("feed")) +
                 (to_dev ? "/_to_" + dev_.str() : "/_to_host");
    node->op = to_dev ? "_copy_to_device" : "_copy_to_host";
    // One output, so that passes after placement (exec/fuse.h) see the slot it writes.
    node->out_dtypes = {slot_dtype_[static_cast<size_t>(s)]};
    node->out_shapes = {PartialShape()};
    PlanStep st;
    st.node = node.get();
    st.alloc = to_dev ? dev_alloc_ : &cpu_allocator();
    if (to_dev && src != nullptr && src->op == "const") {
      // Constants are copied once, now; the step hands out the device copy.
      Tensor cached = copy_to_device(src->attrs.get<Tensor>("value"), dev_);
      plan_.copy_kernels.push_back(
          std::make_unique<KernelFn>([cached](KernelCtx& ctx) { ctx.set_output(0, cached); }));
      st.kernel = plan_.copy_kernels.back().get();
    } else {
      st.kernel = &copy_kernel();
      st.in_slots = {s};
      st.refs = {nullptr};
    }
    st.out_base = plan_.num_slots++;
    on_dev_.push_back(to_dev);
    producer_.push_back(src);
    slot_dtype_.push_back(slot_dtype_[static_cast<size_t>(s)]);
    copies_[key] = st.out_base;
    plan_.plan_nodes.push_back(std::move(node));
    nouts_.push_back(1);
    plan_.steps.push_back(std::move(st));
    return plan_.steps.back().out_base;
  }

  static const KernelFn& copy_kernel() {
    static const KernelFn k = [](KernelCtx& ctx) {
      ctx.set_output(0, copy_to_device(ctx.input(0), ctx.allocator().device()));
    };
    return k;
  }

  // Each slot is released after its last reader (or its producer when nothing reads it);
  // fetched slots are kept, fed slots nobody reads are never released.
  void recompute_releases() {
    std::map<int, int> last_use;
    for (size_t k = 0; k < plan_.steps.size(); ++k) {
      PlanStep& st = plan_.steps[k];
      st.release.clear();
      for (int s : st.in_slots)
        if (s >= 0) last_use[s] = static_cast<int>(k);
      for (int o = 0; o < nouts_[k]; ++o) last_use[st.out_base + o] = static_cast<int>(k);
    }
    for (int s : plan_.fetch_slots) last_use.erase(s);
    for (auto& kv : last_use) plan_.steps[static_cast<size_t>(kv.second)].release.push_back(kv.first);
  }

  static const KernelPlacement kHostOnly;
  Session& s_;
  const Graph& g_;
  Plan& plan_;
  Device dev_;
  Allocator* dev_alloc_;
  std::map<const Variable*, Device> homes_;
  std::vector<char> on_dev_;            // per slot: the value is on the device
  std::vector<const Node*> producer_;   // per slot: the node that produced it (null: feed)
  std::vector<DType> slot_dtype_;       // per slot: the dtype of its value
  std::map<int, const Node*> feed_node_;  // fed slot -> the node whose output it replaces
  std::vector<int> nouts_;              // per new step: number of output slots
  std::map<std::pair<int, bool>, int> copies_;
};

const KernelPlacement Placer::kHostOnly;

}  // namespace

void place_plan(Session& s, const Graph& g, Plan& plan) { Placer(s, g, plan).run(); }

}  // namespace nestor
