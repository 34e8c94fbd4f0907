// nestor/session.h: compile (feeds, fetches, targets) into a Plan once, run it many times.
//
// A Plan holds the pruned node order, each node's kernel, and for every value the step
// after which it is dead, so buffers go back to the caching allocator as early as
// possible and are reused across steps. Variables live in the Session and outlive plans.
// run() may be called from several threads at once on the same Session.
#pragma once

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "nestor/graph.h"
#include "nestor/backend.h"
#include "nestor/op.h"
#include "nestor/threadpool.h"

namespace nestor {

struct SessionOptions {
  int intra_op_threads = 0;  // 0 = default_num_threads()
  std::string device = "cpu";
  bool fuse_kernels = true;  // plans fuse matmul -> bias_add [-> relu] and relu_grad -> bias_add_grad (exec/fuse.h)
  // The caller never changes a variable once a plan reading it is compiled (an export being
  // served): CPU plans then lay the weights of fused dense layers out for the GEMM kernel
  // once, at compile time (exec/fuse.h, pack_constant_weights).
  bool constant_variables = false;
};

// A compiled step: nodes in order with their kernels and value slots. Built by
// Session::compile; immutable afterwards, so several threads may run it at once.
struct PlanStep {
  const Node* node = nullptr;
  const KernelFn* kernel = nullptr;
  std::vector<int> in_slots;          // -1 for ref inputs
  std::vector<Variable*> refs;        // per input; null unless a ref input
  int out_base = 0;
  std::vector<int> release;           // slots dead after this step
  std::atomic<uint64_t>* rng = nullptr;
  Allocator* alloc = nullptr;         // the allocator of the step's device; null: the session's
};

class Plan {
 public:
  std::vector<PlanStep> steps;
  int num_slots = 0;
  std::vector<int> feed_slots;
  std::vector<const Node*> feed_nodes;
  std::vector<Output> feeds;
  std::vector<int> fetch_slots;
  // Fetches stay where they were computed (device sessions; see Session::compile).
  bool fetches_on_device = false;
  // Nodes the plan made itself, owned here: placement's copy steps (exec/placement.h) and
  // fusion's fused steps (exec/fuse.h); copy_kernels are placement's constant-copy kernels.
  std::vector<std::unique_ptr<Node>> plan_nodes;
  std::vector<std::unique_ptr<KernelFn>> copy_kernels;
  // Values folded at compile time (exec/fold.h): slot -> tensor, placed before the first step.
  std::vector<std::pair<int, Tensor>> constants;
};


class Session {
 public:
  Session(std::shared_ptr<Graph> graph, SessionOptions opts = {});
  ~Session();

  // fetches_on_device: a device session leaves the fetched values on the device (no copy
  // back, no wait at the end of the step; the values are ordered on the device's stream,
  // see Backend::make_stream_wait). By default fetches are copied to the host.
  std::shared_ptr<Plan> compile(const std::vector<Output>& feeds, const std::vector<Output>& fetches,
                                const std::vector<int>& targets, bool fetches_on_device = false);
  // Runs one step: feed_values[i] is fed to feeds[i]; returns the fetched tensors.
  // Feeds may live on any device: a device session uses a feed already on its device
  // where it is (no copy), copies one on another device (host or GPU) where a kernel
  // needs it; a CPU session copies a device feed to the host first.
  std::vector<Tensor> run(const Plan& plan, const std::vector<Tensor>& feed_values);
  // Runs `steps` steps; feed i holds `steps` batches stacked on a new leading axis.
  // Returns the fetches of the last step.
  std::vector<Tensor> run_steps(const Plan& plan, const std::vector<Tensor>& stacked_feeds, int64_t steps);

  const Graph& graph() const { return *graph_; }
  std::shared_ptr<Graph> graph_ptr() const { return graph_; }
  Device device() const { return device_; }
  ThreadPool& pool() { return *pool_; }

  // Variable store: name -> value, shared by all plans of this session.
  Variable& variable(const std::string& name, DType dt, const PartialShape& shape);
  Variable* find_variable(const std::string& name);
  std::vector<std::string> variable_names();
  void set_variable(const std::string& name, const Tensor& value);  // creates if absent

  std::atomic<uint64_t>& rng_state(int node_id);

  // Where a variable's value lives: decided by placement (exec/placement.h) on the first
  // compile that touches it; the session's device until then.
  Device variable_home(const Variable* v);
  void set_variable_home(const Variable* v, Device d);

  // Per-op-type wall time, collected while profiling is on (off by default).
  void set_profiling(bool on) { profiling_ = on; }
  std::map<std::string, std::pair<double, int64_t>> profile();  // op type -> (seconds, calls)

 private:
  void execute(const Plan& plan, std::vector<Tensor>& slots);
  Tensor on_host_if_cpu_session(const Tensor& t) const;
  std::shared_ptr<Graph> graph_;
  Device device_;
  bool fuse_kernels_ = true;
  bool constant_variables_ = false;
  // weight buffer -> (the weights, kept so the address stays theirs; their GEMM panels)
  std::map<const void*, std::pair<Tensor, Tensor>> packed_weights_;
  Allocator* alloc_ = nullptr;  // the device's allocator, owned by its Backend
  std::unique_ptr<ThreadPool> pool_;
  std::mutex mu_;
  std::map<std::string, std::unique_ptr<Variable>> vars_;
  std::map<int, std::unique_ptr<std::atomic<uint64_t>>> rng_;
  std::map<const Variable*, Device> var_home_;
  std::atomic<bool> profiling_{false};
  std::mutex profile_mu_;
  std::map<std::string, std::pair<double, int64_t>> profile_;
};

}  // namespace nestor
