#include "nestor/session.h"

#include <algorithm>
#include <chrono>
#include <exception>
#include <map>

#include "placement.h"
#include "fold.h"
#include "fuse.h"
#include "nestor/backend.h"

namespace nestor {

namespace {

std::string shape_for_message(const PartialShape& s) { return s.str(); }

void check_feed(const Graph& g, const Output& o, const Tensor& t) {
  DType want = g.dtype(o);
  const PartialShape& shape = g.shape(o);
  if (t.dtype() != want)
    fail(Code::kInvalidArgument, "Cannot feed value of dtype ", dtype_name(t.dtype()), " for Tensor '",
         g.output_name(o), "', which has dtype ", dtype_name(want));
  if (!shape.is_compatible_with(t.dims()))
    fail(Code::kInvalidArgument, "Cannot feed value of shape ", dims_str(t.dims()), " for Tensor '",
         g.output_name(o), "', which has shape ", shape_for_message(shape));
}

}  // namespace

Session::Session(std::shared_ptr<Graph> graph, SessionOptions opts)
    : graph_(std::move(graph)), device_(Device::parse(opts.device)),
      fuse_kernels_(opts.fuse_kernels),
      constant_variables_(opts.constant_variables) {
  NESTOR_CHECK_ARG(graph_ != nullptr, "Session needs a graph");
  alloc_ = &backend_for(device_).allocator();  // fails early if the device is unavailable
  int threads = opts.intra_op_threads > 0 ? opts.intra_op_threads : default_num_threads();
  pool_ = std::make_unique<ThreadPool>(threads);
}

Session::~Session() = default;

Variable& Session::variable(const std::string& name, DType dt, const PartialShape& shape) {
  std::lock_guard<std::mutex> l(mu_);
  auto& v = vars_[name];
  if (!v) {
    v = std::make_unique<Variable>();
    v->name = name;
    v->dtype = dt;
    v->shape = shape;
  }
  return *v;
}

Variable* Session::find_variable(const std::string& name) {
  std::lock_guard<std::mutex> l(mu_);
  auto it = vars_.find(name);
  return it == vars_.end() ? nullptr : it->second.get();
}

std::vector<std::string> Session::variable_names() {
  std::lock_guard<std::mutex> l(mu_);
  std::vector<std::string> v;
  for (auto& kv : vars_) v.push_back(kv.first);
  return v;
}

void Session::set_variable(const std::string& name, const Tensor& value) {
  Variable* v = find_variable(name);
  if (v == nullptr) v = &variable(name, value.dtype(), PartialShape(value.dims()));
  Device home = device_.type == DeviceType::kCpu ? device_ : variable_home(v);  // device: placement.h
  std::lock_guard<std::mutex> l(v->mu);
  NESTOR_CHECK_ARG(v->dtype == value.dtype(), "variable '", name, "' has dtype ", dtype_name(v->dtype),
                   ", cannot assign a ", dtype_name(value.dtype()), " value");
  NESTOR_CHECK_ARG(v->shape.is_compatible_with(value.dims()), "variable '", name, "' has shape ",
                   v->shape.str(), ", cannot assign a value of shape ", dims_str(value.dims()));
  v->value = home.type == DeviceType::kCpu ? value.clone() : backend_for(home).copy_from(value);
  v->initialized = true;
}

std::map<std::string, std::pair<double, int64_t>> Session::profile() {
  std::lock_guard<std::mutex> l(profile_mu_);
  return profile_;
}

std::atomic<uint64_t>& Session::rng_state(int node_id) {
  std::lock_guard<std::mutex> l(mu_);
  auto& p = rng_[node_id];
  if (!p) p = std::make_unique<std::atomic<uint64_t>>(0);
  return *p;
}

std::shared_ptr<Plan> Session::compile(const std::vector<Output>& feeds, const std::vector<Output>& fetches,
                                       const std::vector<int>& targets, bool fetches_on_device) {
  const Graph& g = *graph_;
  auto plan = std::make_shared<Plan>();
  plan->fetches_on_device = fetches_on_device;
  std::map<std::pair<int, int>, int> slot_of;
  auto key = [](Output o) { return std::make_pair(o.node, o.index); };

  for (auto& f : feeds) {
    g.node(f.node);
    NESTOR_CHECK_ARG(f.index >= 0 && f.index < g.node(f.node).num_outputs(), "feed ", f.node, ":", f.index,
                     " is not an output of the graph");
    if (slot_of.count(key(f))) fail(Code::kInvalidArgument, "Tensor '", g.output_name(f), "' is fed twice");
    int s = plan->num_slots++;
    slot_of[key(f)] = s;
    plan->feed_slots.push_back(s);
    plan->feed_nodes.push_back(&g.node(f.node));
  }
  plan->feeds = feeds;

  // Which nodes must run: walk back from fetches and targets, stopping at fed values.
  std::vector<char> needed(static_cast<size_t>(g.num_nodes()), 0);
  std::vector<int> stack;
  for (auto& f : fetches) {
    g.node(f.node);
    NESTOR_CHECK_ARG(f.index >= 0 && f.index < g.node(f.node).num_outputs(), "fetch ", f.node, ":", f.index,
                     " is not an output of the graph");
    if (!slot_of.count(key(f))) stack.push_back(f.node);
  }
  for (int t : targets) {
    g.node(t);
    stack.push_back(t);
  }
  while (!stack.empty()) {
    int id = stack.back();
    stack.pop_back();
    if (needed[static_cast<size_t>(id)]) continue;
    needed[static_cast<size_t>(id)] = 1;
    const Node& n = g.node(id);
    for (size_t i = 0; i < n.inputs.size(); ++i) {
      const Output& in = n.inputs[i];
      if (slot_of.count(key(in))) continue;
      if (n.def->is_ref_input(static_cast<int>(i)) && g.node(in.node).op == "variable") continue;
      stack.push_back(in.node);
    }
    for (int c : n.control_inputs) stack.push_back(c);
  }

  // Ascending ids are a topological order that also follows creation order.
  std::map<int, int> last_use;  // slot -> step index
  for (int id = 0; id < g.num_nodes(); ++id) {
    if (!needed[static_cast<size_t>(id)]) continue;
    const Node& n = g.node(id);
    PlanStep st;
    st.node = &n;
    const KernelFn* k = n.def->kernel(device_.type);
    if (k == nullptr) k = n.def->kernel(DeviceType::kCpu);
    if (k == nullptr)
      fail(Code::kUnimplemented, "op '", n.name, "' (", n.op, ") has no kernel for ", device_.str());
    st.kernel = k;
    st.refs.assign(n.inputs.size(), nullptr);
    int step_index = static_cast<int>(plan->steps.size());
    for (size_t i = 0; i < n.inputs.size(); ++i) {
      const Output& in = n.inputs[i];
      const Node& src = g.node(in.node);
      if (n.def->is_ref_input(static_cast<int>(i))) {
        NESTOR_CHECK_ARG(src.op == "variable", "op '", n.name, "' (", n.op, "): input ", i,
                         " must be a variable, got '", src.name, "' (", src.op, ")");
        st.refs[i] = &variable(src.attrs.get_or<std::string>("shared_name", src.name), src.out_dtypes[0],
                               src.out_shapes[0]);
        st.in_slots.push_back(-1);
        continue;
      }
      auto it = slot_of.find(key(in));
      if (it == slot_of.end())
        fail(Code::kInternal, "plan: value ", g.output_name(in), " needed by '", n.name, "' has no producer");
      st.in_slots.push_back(it->second);
      last_use[it->second] = step_index;
    }
    if (n.op == "variable")
      st.refs.push_back(&variable(n.attrs.get_or<std::string>("shared_name", n.name), n.out_dtypes[0],
                                  n.out_shapes[0]));
    st.out_base = plan->num_slots;
    for (int o = 0; o < n.num_outputs(); ++o) {
      int s = plan->num_slots++;
      slot_of[{id, o}] = s;
      last_use[s] = step_index;  // dead right away unless consumed later
    }
    if (n.def->stateful) st.rng = &rng_state(n.id);
    plan->steps.push_back(std::move(st));
  }
  for (auto& f : fetches) plan->fetch_slots.push_back(slot_of.at(key(f)));
  for (int s : plan->fetch_slots) last_use.erase(s);
  for (int s : plan->feed_slots)
    if (!last_use.count(s)) last_use[s] = -1;  // fed but unused: drop before the first step
  for (auto& kv : last_use)
    if (kv.second >= 0) plan->steps[static_cast<size_t>(kv.second)].release.push_back(kv.first);
  // Device sessions: per-node device, copies between devices (exec/placement.h).
  if (device_.type != DeviceType::kCpu) place_plan(*this, g, *plan);
  // ---- compile-time folding (exec/fold.h); device sessions keep their const steps for placement.
  if (device_.type == DeviceType::kCpu) fold_plan(*this, *plan);
  // ---- end folding
  if (fuse_kernels_) {  // exec/fuse.h: per step, on the device the chain runs on
    fuse_plan(*plan, device_);
    if (device_.type == DeviceType::kCpu && constant_variables_) {
      std::lock_guard<std::mutex> l(mu_);
      pack_constant_weights(*plan, packed_weights_);
    }
  }
  return plan;
}

void Session::execute(const Plan& plan, std::vector<Tensor>& slots) {
  Allocator& alloc = *alloc_;
  std::vector<const Tensor*> in_ptrs;
  KernelCtx ctx;
  ctx.alloc_ = &alloc;
  ctx.pool_ = pool_.get();
  ctx.session_ = this;
  for (const auto& c : plan.constants) slots[static_cast<size_t>(c.first)] = c.second;  // exec/fold.h
  for (const PlanStep& st : plan.steps) {
    in_ptrs.resize(st.in_slots.size());
    for (size_t i = 0; i < st.in_slots.size(); ++i)
      in_ptrs[i] = st.in_slots[i] >= 0 ? &slots[static_cast<size_t>(st.in_slots[i])] : nullptr;
    ctx.node_ = st.node;
    ctx.inputs_ = in_ptrs.data();
    ctx.num_inputs_ = in_ptrs.size();
    ctx.refs_ = st.refs.empty() ? nullptr : st.refs.data();
    ctx.outputs_ = slots.data() + st.out_base;
    ctx.rng_ = st.rng;
    ctx.alloc_ = st.alloc ? st.alloc : &alloc;  // set by placement.h on device sessions
    try {
      if (profiling_) {
        auto t0 = std::chrono::steady_clock::now();
        (*st.kernel)(ctx);
        double dt = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        std::lock_guard<std::mutex> l(profile_mu_);
        auto& e = profile_[st.node->op];
        e.first += dt;
        e.second += 1;
      } else {
        (*st.kernel)(ctx);
      }
    } catch (const Error&) {
      throw;
    } catch (const std::exception& e) {
      fail(Code::kInternal, "op '", st.node->name, "' (", st.node->op, "): ", e.what());
    }
    for (int s : st.release) slots[static_cast<size_t>(s)] = Tensor();
  }
}

Tensor Session::on_host_if_cpu_session(const Tensor& t) const {
  // Device sessions take feeds anywhere (placement's copy steps); CPU kernels need host memory.
  if (device_.type != DeviceType::kCpu || t.device().type == DeviceType::kCpu) return t;
  return copy_to_device(t, device_);
}

std::vector<Tensor> Session::run(const Plan& plan, const std::vector<Tensor>& feed_values) {
  NESTOR_CHECK_ARG(feed_values.size() == plan.feed_slots.size(), "run: expected ", plan.feed_slots.size(),
                   " feed values, got ", feed_values.size());
  std::vector<Tensor> slots(static_cast<size_t>(plan.num_slots));
  for (size_t i = 0; i < feed_values.size(); ++i) {
    check_feed(*graph_, plan.feeds[i], feed_values[i]);
    slots[static_cast<size_t>(plan.feed_slots[i])] = on_host_if_cpu_session(feed_values[i]);
  }
  execute(plan, slots);
  std::vector<Tensor> out;
  out.reserve(plan.fetch_slots.size());
  for (int s : plan.fetch_slots) out.push_back(slots[static_cast<size_t>(s)]);
  return out;
}

std::vector<Tensor> Session::run_steps(const Plan& plan, const std::vector<Tensor>& stacked, int64_t steps) {
  NESTOR_CHECK_ARG(stacked.size() == plan.feed_slots.size(), "run_steps: expected ", plan.feed_slots.size(),
                   " feed values, got ", stacked.size());
  NESTOR_CHECK_ARG(steps >= 1, "run_steps: steps must be >= 1, got ", steps);
  for (size_t i = 0; i < stacked.size(); ++i)
    NESTOR_CHECK_ARG(stacked[i].rank() >= 1 && stacked[i].dim(0) == steps, "run_steps: feed for '",
                     graph_->output_name(plan.feeds[i]), "' must have leading dimension ", steps, ", got shape ",
                     dims_str(stacked[i].dims()));
  std::vector<Tensor> slots(static_cast<size_t>(plan.num_slots));
  std::vector<Tensor> out;
  std::vector<Tensor> fed;
  for (const Tensor& t : stacked) fed.push_back(on_host_if_cpu_session(t));
  for (int64_t k = 0; k < steps; ++k) {
    for (size_t i = 0; i < fed.size(); ++i) {
      Dims d(fed[i].dims().begin() + 1, fed[i].dims().end());
      Tensor t = fed[i].slice_rows(k, k + 1).reshaped(d);
      if (k == 0) check_feed(*graph_, plan.feeds[i], t);
      slots[static_cast<size_t>(plan.feed_slots[i])] = std::move(t);
    }
    execute(plan, slots);
    if (k + 1 == steps) {
      for (int s : plan.fetch_slots) out.push_back(slots[static_cast<size_t>(s)]);
    }
    for (auto& t : slots) t = Tensor();
  }
  return out;
}

}  // namespace nestor
