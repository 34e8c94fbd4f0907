// C++ unit tests of plan fusion per device (exec/fuse.h) without a GPU: the steps of an
// unfused CPU plan are given allocators of the CPU or of a fake "cuda:0" device, as
// placement does on device sessions, and fuse_plan must fuse a chain only when all its
// steps share a device that has a kernel for the fused op (and whose placement declaration
// keeps the inputs on the device), giving the fused step that device's kernel and allocator.
#include <gtest/gtest.h>

#include <algorithm>
#include <stdexcept>
#include <string>
#include <vector>

#include "exec/fuse.h"
#include "nestor/backend.h"
#include "nestor/graph.h"
#include "nestor/op.h"
#include "nestor/session.h"

using namespace nestor;

namespace {

// An allocator that claims to be cuda:0; fusion only reads its device.
class FakeGpuAllocator : public Allocator {
 public:
  std::shared_ptr<Buffer> allocate(size_t) override { fail(Code::kInternal, "the fake GPU allocates nothing"); }
  Device device() const override { return Device{DeviceType::kCuda, 0}; }
};
FakeGpuAllocator fake_gpu;

// Stand-ins for the CUDA plugin's kernels (never run): `_fused_matmul` has a "CUDA" kernel;
// `_fused_relu_bias_grad` has one whose placement keeps input 0 on the host, which a fused
// step cannot honour (it reads the device slots of the unfused steps).
void never_run(KernelCtx& ctx) { ctx.fail(Code::kInternal, "the fake CUDA kernel ran"); }
NESTOR_REGISTER_KERNEL("_fused_matmul", DeviceType::kCuda, never_run);
NESTOR_REGISTER_KERNEL("_fused_relu_bias_grad", DeviceType::kCuda, never_run);
const KernelPlacementRegistrar fake_place("_fused_relu_bias_grad", DeviceType::kCuda, KernelPlacement{{0}, {}, nullptr});

Output placeholder(Graph& g, const std::string& name, Dims dims) {
  return g.add("placeholder", {}, Attrs{{"dtype", DType::kFloat32}, {"shape", PartialShape(dims)}}, name);
}

Tensor filled(Dims dims, float start) {
  Tensor t = Tensor::empty(DType::kFloat32, dims);
  for (int64_t i = 0; i < t.num_elements(); ++i) t.data<float>()[i] = start + 0.37f * static_cast<float>(i % 11) - 1.5f;
  return t;
}

struct Dense {
  std::shared_ptr<Graph> g = std::make_shared<Graph>();
  Output x, w, b, y;
  Dense() {
    x = placeholder(*g, "x", {6, 5});
    w = placeholder(*g, "w", {5, 4});
    b = placeholder(*g, "b", {4});
    y = g->add("relu", {g->add("bias_add", {g->add("matmul", {x, w}), b})});
  }
  std::vector<Tensor> feeds() const { return {filled({6, 5}, 0.1f), filled({5, 4}, -0.2f), filled({4}, 0.3f)}; }
};

SessionOptions unfused() {
  SessionOptions o;
  o.fuse_kernels = false;
  return o;
}

// Gives each step the allocator `place(op)` returns (null: leave it).
template <typename F>
void place(Plan& plan, F alloc_for) {
  for (PlanStep& st : plan.steps) st.alloc = alloc_for(st.node->op);
}

std::vector<std::string> ops(const Plan& plan) {
  std::vector<std::string> v;
  for (const PlanStep& st : plan.steps)
    if (st.node->op != "placeholder") v.push_back(st.node->op);
  return v;
}

const PlanStep& step_of(const Plan& plan, const std::string& op) {
  for (const PlanStep& st : plan.steps)
    if (st.node->op == op) return st;
  throw std::runtime_error("no step " + op);
}

const KernelFn* kernel_of(const std::string& op, DeviceType d) { return OpRegistry::global().find(op)->kernel(d); }

}  // namespace

TEST(Fuse, CpuSessionPlanFusesAndComputesTheSame) {
  Dense m;
  Session s(m.g, unfused());
  auto plan = s.compile({m.x, m.w, m.b}, {m.y}, {});
  Tensor want = s.run(*plan, m.feeds())[0];
  fuse_plan(*plan, Device{});
  EXPECT_EQ(ops(*plan), std::vector<std::string>{"_fused_matmul"});
  const PlanStep& st = step_of(*plan, "_fused_matmul");
  EXPECT_EQ(st.kernel, kernel_of("_fused_matmul", DeviceType::kCpu));
  EXPECT_EQ(st.alloc, nullptr);
  EXPECT_EQ(st.node->attrs.get<std::string>("activation"), "relu");
  Tensor got = s.run(*plan, m.feeds())[0];
  ASSERT_EQ(got.dims(), want.dims());
  for (int64_t i = 0; i < got.num_elements(); ++i) EXPECT_NEAR(got.data<float>()[i], want.data<float>()[i], 1e-5);
}

TEST(Fuse, PlacedCpuStepsOfADeviceSessionFuseWithTheCpuKernel) {
  Dense m;
  Session s(m.g, unfused());
  auto plan = s.compile({m.x, m.w, m.b}, {m.y}, {});
  Tensor want = s.run(*plan, m.feeds())[0];
  place(*plan, [](const std::string&) { return &cpu_allocator(); });
  fuse_plan(*plan, Device{DeviceType::kCuda, 0});  // the session's device does not matter: the steps say CPU
  const PlanStep& st = step_of(*plan, "_fused_matmul");
  EXPECT_EQ(st.kernel, kernel_of("_fused_matmul", DeviceType::kCpu));
  EXPECT_EQ(st.alloc, &cpu_allocator());
  Tensor got = s.run(*plan, m.feeds())[0];
  for (int64_t i = 0; i < got.num_elements(); ++i) EXPECT_NEAR(got.data<float>()[i], want.data<float>()[i], 1e-5);
}

TEST(Fuse, GpuChainGetsTheGpuKernelAndAllocator) {
  Dense m;
  Session s(m.g, unfused());
  auto plan = s.compile({m.x, m.w, m.b}, {m.y}, {});
  place(*plan, [](const std::string& op) -> Allocator* { return op == "placeholder" ? &cpu_allocator() : &fake_gpu; });
  fuse_plan(*plan, Device{DeviceType::kCuda, 0});
  EXPECT_EQ(ops(*plan), std::vector<std::string>{"_fused_matmul"});
  const PlanStep& st = step_of(*plan, "_fused_matmul");
  EXPECT_EQ(st.kernel, kernel_of("_fused_matmul", DeviceType::kCuda));
  EXPECT_EQ(st.alloc, &fake_gpu);
}

TEST(Fuse, ChainsAcrossDevicesDoNotFuseThroughTheBoundary) {
  Dense m;
  Session s(m.g, unfused());
  // matmul on the GPU, bias_add and relu on the CPU: nothing fuses.
  auto plan = s.compile({m.x, m.w, m.b}, {m.y}, {});
  place(*plan, [](const std::string& op) -> Allocator* { return op == "matmul" ? &fake_gpu : &cpu_allocator(); });
  fuse_plan(*plan, Device{DeviceType::kCuda, 0});
  EXPECT_EQ(ops(*plan), (std::vector<std::string>{"matmul", "bias_add", "relu"}));
  // matmul and bias_add on the GPU, relu on the CPU: the product and bias fuse, relu stays.
  plan = s.compile({m.x, m.w, m.b}, {m.y}, {});
  place(*plan, [](const std::string& op) -> Allocator* { return op == "relu" ? &cpu_allocator() : &fake_gpu; });
  fuse_plan(*plan, Device{DeviceType::kCuda, 0});
  EXPECT_EQ(ops(*plan), (std::vector<std::string>{"_fused_matmul", "relu"}));
  const PlanStep& st = step_of(*plan, "_fused_matmul");
  EXPECT_EQ(st.node->attrs.get<std::string>("activation"), "");
  EXPECT_EQ(st.alloc, &fake_gpu);
  EXPECT_EQ(step_of(*plan, "relu").alloc, &cpu_allocator());
}

TEST(Fuse, ReluBiasGradFusesOnlyWhereTheDeviceKernelCanTakeIt) {
  auto g = std::make_shared<Graph>();
  Output dy = placeholder(*g, "dy", {7, 3}), y = placeholder(*g, "y", {7, 3});
  Output dz = g->add("relu_grad", {dy, y});
  Output db = g->add("bias_add_grad", {dz});
  Session s(g, unfused());
  const std::vector<Tensor> feeds{filled({7, 3}, 0.5f), filled({7, 3}, -0.1f)};
  auto plan = s.compile({dy, y}, {dz, db}, {});
  std::vector<Tensor> want = s.run(*plan, feeds);
  // On the CPU (placed): fused, and the same values through the moved fetch slots.
  place(*plan, [](const std::string&) { return &cpu_allocator(); });
  fuse_plan(*plan, Device{DeviceType::kCuda, 0});
  EXPECT_EQ(ops(*plan), std::vector<std::string>{"_fused_relu_bias_grad"});
  EXPECT_EQ(step_of(*plan, "_fused_relu_bias_grad").kernel, kernel_of("_fused_relu_bias_grad", DeviceType::kCpu));
  std::vector<Tensor> got = s.run(*plan, feeds);
  ASSERT_EQ(got.size(), 2u);
  for (size_t k = 0; k < 2; ++k)
    for (int64_t i = 0; i < got[k].num_elements(); ++i)
      EXPECT_NEAR(got[k].data<float>()[i], want[k].data<float>()[i], 1e-6) << k << " " << i;
  // On the fake GPU, whose kernel wants input 0 on the host: left alone.
  plan = s.compile({dy, y}, {dz, db}, {});
  place(*plan, [](const std::string& op) -> Allocator* { return op == "placeholder" ? &cpu_allocator() : &fake_gpu; });
  fuse_plan(*plan, Device{DeviceType::kCuda, 0});
  EXPECT_EQ(ops(*plan), (std::vector<std::string>{"relu_grad", "bias_add_grad"}));
  // Split across devices: left alone.
  plan = s.compile({dy, y}, {dz, db}, {});
  place(*plan, [](const std::string& op) -> Allocator* { return op == "bias_add_grad" ? &fake_gpu : &cpu_allocator(); });
  fuse_plan(*plan, Device{DeviceType::kCuda, 0});
  EXPECT_EQ(ops(*plan), (std::vector<std::string>{"relu_grad", "bias_add_grad"}));
}
