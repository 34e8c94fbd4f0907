// CUDA kernels for the dense optimizer updates of cpp/src/ops/training.cc:
// apply_gradient_descent, apply_momentum, apply_adagrad, apply_adam (same formulas,
// checks and input order). Scalar hyperparameters are read by the kernel from device
// memory (they are often variables, e.g. Adam's beta powers), so nothing waits on the host.
#include <algorithm>
#include <vector>

#include "kernels/common.cuh"

namespace nestor {
namespace cuda {
namespace {

constexpr int kMaxScalars = 6;

template <typename T>
struct Args {
  T* v[3] = {};
  const T* s[kMaxScalars] = {};  // scalar inputs in the op's input order (device pointers)
  const T* g = nullptr;
  bool nesterov = false;
};

struct GradientDescent {
  static constexpr int kVars = 1;
  static constexpr int kInputs = 3;  // var, alpha, delta
  static constexpr int kGrad = 2;
  template <typename T>
  __device__ static void step(const Args<T>& a, int64_t i) {
    a.v[0][i] -= *a.s[0] * a.g[i];
  }
};

struct Momentum {
  static constexpr int kVars = 2;
  static constexpr int kInputs = 5;  // var, accum, lr, grad, momentum
  static constexpr int kGrad = 3;
  template <typename T>
  __device__ static void step(const Args<T>& a, int64_t i) {
    const T lr = *a.s[0], mu = *a.s[1], g = a.g[i];
    T acc = a.v[1][i] * mu + g;
    a.v[1][i] = acc;
    if (a.nesterov) a.v[0][i] -= g * lr + acc * mu * lr;
    else a.v[0][i] -= acc * lr;
  }
};

struct Adagrad {
  static constexpr int kVars = 2;
  static constexpr int kInputs = 4;  // var, accum, lr, grad
  static constexpr int kGrad = 3;
  template <typename T>
  __device__ static void step(const Args<T>& a, int64_t i) {
    const T g = a.g[i];
    T acc = a.v[1][i] + g * g;
    a.v[1][i] = acc;
    a.v[0][i] -= g * *a.s[0] / sqrt(acc);
  }
};

struct Adam {
  static constexpr int kVars = 3;
  static constexpr int kInputs = 10;  // var, m, v, beta1_power, beta2_power, lr, beta1, beta2, epsilon, grad
  static constexpr int kGrad = 9;
  template <typename T>
  __device__ static void step(const Args<T>& a, int64_t i) {
    const T b1p = *a.s[0], b2p = *a.s[1], lr = *a.s[2], b1 = *a.s[3], b2 = *a.s[4], eps = *a.s[5];
    const T lr_t = lr * sqrt(T(1) - b2p) / (T(1) - b1p);
    const T g = a.g[i];
    T m = a.v[1][i] + (g - a.v[1][i]) * (T(1) - b1);
    T s = a.v[2][i] + (g * g - a.v[2][i]) * (T(1) - b2);
    a.v[1][i] = m;
    a.v[2][i] = s;
    if (a.nesterov) a.v[0][i] -= ((g * (T(1) - b1) + b1 * m) * lr_t) / (sqrt(s) + eps);
    else a.v[0][i] -= (m * lr_t) / (sqrt(s) + eps);
  }
};

template <class K, typename T>
__global__ void apply_kernel(Args<T> a, int64_t n) {
  NESTOR_GRID_STRIDE(i, n) K::step(a, i);
}

template <class K>
void apply_host(KernelCtx& ctx) {
  constexpr int NV = K::kVars;
  Variable* vars[NV];
  for (int i = 0; i < NV; ++i) vars[i] = &ctx.ref(i);
  // Lock each distinct variable once, in address order (no lock-order inversions).
  std::vector<Variable*> order(vars, vars + NV);
  std::sort(order.begin(), order.end());
  order.erase(std::unique(order.begin(), order.end()), order.end());
  std::vector<std::unique_lock<std::mutex>> locks;
  for (Variable* v : order) locks.emplace_back(v->mu);
  for (int i = 0; i < NV; ++i)
    if (!vars[i]->initialized)
      ctx.fail(Code::kFailedPrecondition, "Attempting to use uninitialized value ", vars[i]->name);
  const Tensor& var = vars[0]->value;
  for (int i = 1; i < NV; ++i)
    if (vars[i]->value.dims() != var.dims() || vars[i]->value.dtype() != var.dtype())
      ctx.fail(Code::kInvalidArgument, "slot ", i, " (", vars[i]->name, ") has shape ", dims_str(vars[i]->value.dims()),
               " and dtype ", dtype_name(vars[i]->value.dtype()), " but var (", vars[0]->name, ") has shape ",
               dims_str(var.dims()), " and dtype ", dtype_name(var.dtype()));
  std::vector<int> scalars;
  for (int j = NV; j < K::kInputs; ++j)
    if (j != K::kGrad) scalars.push_back(j);
  for (int j : scalars)
    if (ctx.input(j).rank() != 0)
      ctx.fail(Code::kInvalidArgument, "input ", j, " must be a scalar, got shape ", dims_str(ctx.input(j).dims()));
  const Tensor& grad = ctx.input(K::kGrad);
  if (grad.dims() != var.dims())
    ctx.fail(Code::kInvalidArgument, "grad has shape ", dims_str(grad.dims()), " but var (", vars[0]->name,
             ") has shape ", dims_str(var.dims()));
  CudaBackend& be = CudaBackend::of(ctx);
  for (int i = 0; i < NV; ++i)
    if (vars[i]->value.device() != be.device())
      ctx.fail(Code::kInternal, "variable ", vars[i]->name, " lives on ", vars[i]->value.device().str(), ", not ",
               be.device().str());
  NESTOR_DISPATCH_FLOAT(var.dtype(), ctx.node().op, [&] {
    using T = scalar_t;
    Args<T> a;
    for (int i = 0; i < NV; ++i) a.v[i] = vars[i]->value.template data<T>();
    for (size_t k = 0; k < scalars.size(); ++k) a.s[k] = ctx.input(scalars[k]).template data<T>();
    a.g = grad.data<T>();
    a.nesterov = ctx.attr_or<bool>("use_nesterov", false);
    int64_t n = var.num_elements();
    if (n > 0) {
      apply_kernel<K, T><<<blocks_for(n), kThreads, 0, be.stream()>>>(a, n);
      NESTOR_CUDA_CHECK_LAUNCH();
    }
  });
  ctx.set_output(0, vars[0]->value);
}

NESTOR_REGISTER_KERNEL("apply_gradient_descent", DeviceType::kCuda, apply_host<GradientDescent>);
NESTOR_REGISTER_KERNEL("apply_momentum", DeviceType::kCuda, apply_host<Momentum>);
NESTOR_REGISTER_KERNEL("apply_adagrad", DeviceType::kCuda, apply_host<Adagrad>);
NESTOR_REGISTER_KERNEL("apply_adam", DeviceType::kCuda, apply_host<Adam>);

}  // namespace
}  // namespace cuda
}  // namespace nestor
