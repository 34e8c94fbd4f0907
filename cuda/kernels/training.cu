// CUDA kernels for the optimizer updates of cpp/src/ops/training.cc: apply_* and
// sparse_apply_* for gradient descent, momentum, adagrad, adam, ftrl, rms_prop and
// centered_rms_prop (same formulas, checks, messages and input order).
//
// Scalar hyperparameters are read by the kernels from device memory (they are often
// variables, e.g. Adam's beta powers), so nothing waits on the host, except Ftrl's: the
// CPU kernel validates them (lr > 0, l1/l2/l2_shrinkage >= 0, lr_power <= 0) before
// updating anything, so they are host-memory inputs and passed to the kernel by value.
//
// Sparse updates: `indices` is a host-memory input. As on the CPU, every index is checked
// against the variable's first dimension (the error names the first bad one) and the
// gradient rows of duplicate indices are summed before a single update of the row (TF1's
// _deduplicate_indexed_slices). The host groups the positions by index (CSR, one copy to
// the device); one thread per (distinct row, column) adds its rows' gradients in index
// order, starting from the first, exactly as the CPU does, then applies the update.
// sparse_apply_adam follows TF1's _apply_sparse like the CPU: dense decay of m and v,
// scatter-add of the summed rows, dense update of var.
#include <algorithm>
#include <vector>

#include "kernels/index_util.cuh"
#include "ops/training_util.h"

namespace nestor {
namespace cuda {
namespace {

constexpr int kMaxScalars = 6;
constexpr int kMaxVars = 4;

template <typename T>
struct Args {
  T* v[kMaxVars] = {};
  const T* s[kMaxScalars] = {};  // scalar inputs in the op's input order (device pointers)
  T hs[kMaxScalars] = {};        // the same, by value (kinds with kHostScalars)
  const T* g = nullptr;
  bool nesterov = false;
  bool half_power = false;  // Ftrl: lr_power == -0.5
};

// An update kind: kVars variables first, then its dense inputs (kInputs of them, the
// gradient at kGrad; the sparse op puts `indices` right after it), and step(): one
// element's update with gradient value g.
struct Kind {
  static constexpr bool kHostScalars = false;
  static constexpr bool kDenseSparse = false;  // the sparse op has its own dense form (Adam)
  template <typename T>
  static void prepare(const KernelCtx&, Args<T>&) {}
};

struct GradientDescent : Kind {
  static constexpr int kVars = 1;
  static constexpr int kInputs = 3;
  static constexpr const char* kNames[] = {"var", "alpha", "delta"};
  static constexpr int kGrad = 2;
  template <typename T>
  __device__ static void step(const Args<T>& a, int64_t i, T g) {
    a.v[0][i] -= *a.s[0] * g;
  }
};

struct Momentum : Kind {
  static constexpr int kVars = 2;
  static constexpr int kInputs = 5;
  static constexpr const char* kNames[] = {"var", "accum", "lr", "grad", "momentum"};
  static constexpr int kGrad = 3;
  template <typename T>
  __device__ static void step(const Args<T>& a, int64_t i, T g) {
    const T lr = *a.s[0], mu = *a.s[1];
    T acc = a.v[1][i] * mu + g;
    a.v[1][i] = acc;
    if (a.nesterov) a.v[0][i] -= g * lr + acc * mu * lr;
    else a.v[0][i] -= acc * lr;
  }
};

struct Adagrad : Kind {
  static constexpr int kVars = 2;
  static constexpr int kInputs = 4;
  static constexpr const char* kNames[] = {"var", "accum", "lr", "grad"};
  static constexpr int kGrad = 3;
  template <typename T>
  __device__ static void step(const Args<T>& a, int64_t i, T g) {
    T acc = a.v[1][i] + g * g;
    a.v[1][i] = acc;
    a.v[0][i] -= g * *a.s[0] / sqrt(acc);
  }
};

struct Adam : Kind {
  static constexpr bool kDenseSparse = true;
  static constexpr int kVars = 3;
  static constexpr int kInputs = 10;
  static constexpr const char* kNames[] = {"var", "m", "v", "beta1_power", "beta2_power",
                                           "lr", "beta1", "beta2", "epsilon", "grad"};
  static constexpr int kGrad = 9;
  template <typename T>
  __device__ static T lr_t(const Args<T>& a) {
    return *a.s[2] * sqrt(T(1) - *a.s[1]) / (T(1) - *a.s[0]);
  }
  template <typename T>
  __device__ static void step(const Args<T>& a, int64_t i, T g) {
    const T b1 = *a.s[3], b2 = *a.s[4], eps = *a.s[5];
    const T lr = lr_t(a);
    T m = a.v[1][i] + (g - a.v[1][i]) * (T(1) - b1);
    T s = a.v[2][i] + (g * g - a.v[2][i]) * (T(1) - b2);
    a.v[1][i] = m;
    a.v[2][i] = s;
    if (a.nesterov) a.v[0][i] -= ((g * (T(1) - b1) + b1 * m) * lr) / (sqrt(s) + eps);
    else a.v[0][i] -= (m * lr) / (sqrt(s) + eps);
  }
};

struct Ftrl : Kind {
  static constexpr bool kHostScalars = true;
  static constexpr int kVars = 3;
  static constexpr int kInputs = 9;
  static constexpr const char* kNames[] = {"var", "accum", "linear", "grad", "lr",
                                           "l1", "l2", "l2_shrinkage", "lr_power"};
  static constexpr int kGrad = 3;
  template <typename T>
  static void prepare(const KernelCtx& ctx, Args<T>& a) {
    a.half_power = training_util::check_ftrl_hypers(ctx, a.hs);
  }
  template <typename T>
  __device__ static void step(const Args<T>& a, int64_t i, T g) {
    const T lr = a.hs[0], l1 = a.hs[1], l2 = a.hs[2], shrink = a.hs[3], p = -a.hs[4];
    T var = a.v[0][i], accum = a.v[1][i];
    T g_shrunk = g + T(2) * shrink * var;
    T new_accum = accum + g * g;
    T new_pow = a.half_power ? sqrt(new_accum) : pow(new_accum, p);
    T old_pow = a.half_power ? sqrt(accum) : pow(accum, p);
    T linear = a.v[2][i] + g_shrunk - (new_pow - old_pow) / lr * var;
    T y = new_pow / lr + T(2) * l2;
    T sign = linear > T(0) ? T(1) : (linear < T(0) ? T(-1) : T(0));
    a.v[0][i] = fabs(linear) > l1 ? (l1 * sign - linear) / y : T(0);
    a.v[1][i] = new_accum;
    a.v[2][i] = linear;
  }
};

struct RMSProp : Kind {
  static constexpr int kVars = 3;
  static constexpr int kInputs = 8;
  static constexpr const char* kNames[] = {"var", "ms", "mom", "lr", "rho", "momentum", "epsilon", "grad"};
  static constexpr int kGrad = 7;
  template <typename T>
  __device__ static void step(const Args<T>& a, int64_t i, T g) {
    const T lr = *a.s[0], rho = *a.s[1], mu = *a.s[2], eps = *a.s[3];
    T ms = a.v[1][i] + (g * g - a.v[1][i]) * (T(1) - rho);
    T mom = a.v[2][i] * mu + (g * lr) / sqrt(ms + eps);
    a.v[1][i] = ms;
    a.v[2][i] = mom;
    a.v[0][i] -= mom;
  }
};

struct CenteredRMSProp : Kind {
  static constexpr int kVars = 4;
  static constexpr int kInputs = 9;
  static constexpr const char* kNames[] = {"var", "mg", "ms", "mom", "lr", "rho", "momentum", "epsilon", "grad"};
  static constexpr int kGrad = 8;
  template <typename T>
  __device__ static void step(const Args<T>& a, int64_t i, T g) {
    const T lr = *a.s[0], rho = *a.s[1], mu = *a.s[2], eps = *a.s[3];
    T ms = a.v[2][i] + (g * g - a.v[2][i]) * (T(1) - rho);
    T mg = a.v[1][i] + (g - a.v[1][i]) * (T(1) - rho);
    T denom = (ms - mg * mg) + eps;
    T mom = a.v[3][i] * mu + (g * lr) / sqrt(denom);
    a.v[1][i] = mg;
    a.v[2][i] = ms;
    a.v[3][i] = mom;
    a.v[0][i] -= mom;
  }
};

// Position in the op's inputs of dense input j; sparse ops put `indices` right after grad.
template <class K>
constexpr int input_pos(int j, bool sparse) {
  return sparse && j > K::kGrad ? j + 1 : j;
}

// The op's inputs read on the host: Ftrl's scalars, the indices of sparse updates.
template <class K, bool kSparse>
KernelPlacement placement() {
  KernelPlacement p;
  if (kSparse) p.host_inputs.push_back(K::kGrad + 1);
  if (K::kHostScalars)
    for (int j = K::kVars; j < K::kInputs; ++j)
      if (j != K::kGrad) p.host_inputs.push_back(input_pos<K>(j, kSparse));
  return p;
}

template <class K, typename T>
__global__ void apply_kernel(Args<T> a, int64_t n) {
  NESTOR_GRID_STRIDE(i, n) K::step(a, i, a.g[i]);
}

// One thread per (distinct row u, column j): the sum of the gradient rows of row u's
// positions, in index order (the CPU's dedup order), then the update of that element.
template <class K, typename T>
__global__ void sparse_apply_kernel(Args<T> a, const int64_t* rows, const int64_t* offsets, const int64_t* pos,
                                    int64_t n, int64_t row_size) {
  NESTOR_GRID_STRIDE(e, n) {
    const int64_t u = e / row_size, j = e % row_size;
    const int64_t b = offsets[u], end = offsets[u + 1];
    T acc = a.g[pos[b] * row_size + j];
    for (int64_t k = b + 1; k < end; ++k) acc += a.g[pos[k] * row_size + j];
    K::step(a, rows[u] * row_size + j, acc);
  }
}

// TF1 AdamOptimizer._apply_sparse, in three passes as on the CPU.
template <typename T>
__global__ void adam_decay_kernel(Args<T> a, int64_t n) {
  NESTOR_GRID_STRIDE(i, n) {
    a.v[1][i] *= *a.s[3];
    a.v[2][i] *= *a.s[4];
  }
}

template <typename T>
__global__ void adam_scatter_kernel(Args<T> a, const int64_t* rows, const int64_t* offsets, const int64_t* pos,
                                    int64_t n, int64_t row_size) {
  NESTOR_GRID_STRIDE(e, n) {
    const int64_t u = e / row_size, j = e % row_size;
    const int64_t b = offsets[u], end = offsets[u + 1];
    T g = a.g[pos[b] * row_size + j];
    for (int64_t k = b + 1; k < end; ++k) g += a.g[pos[k] * row_size + j];
    const T b1 = *a.s[3], b2 = *a.s[4];
    const int64_t i = rows[u] * row_size + j;
    a.v[1][i] += g * (T(1) - b1);
    a.v[2][i] += (g * g) * (T(1) - b2);
  }
}

template <typename T>
__global__ void adam_update_kernel(Args<T> a, int64_t n) {
  NESTOR_GRID_STRIDE(i, n) {
    const T lr = Adam::lr_t(a), eps = *a.s[5];
    a.v[0][i] -= lr * a.v[1][i] / (sqrt(a.v[2][i]) + eps);
  }
}

template <class K, bool kSparse>
void apply_host(KernelCtx& ctx) {
  constexpr int NV = K::kVars;
  Variable* vars[NV];
  for (int i = 0; i < NV; ++i) vars[i] = &ctx.ref(i);
  const auto locks = training_util::lock_variables(ctx, vars, NV, K::kNames);
  const Tensor& var = vars[0]->value;
  std::vector<int> scalars;  // positions in the op's inputs
  for (int j = NV; j < K::kInputs; ++j) {
    if (j == K::kGrad) continue;
    const int p = input_pos<K>(j, kSparse);
    training_util::check_scalar(ctx, ctx.input(p), K::kNames[j]);
    scalars.push_back(p);
  }
  const Tensor& grad = ctx.input(K::kGrad);
  CudaBackend& be = CudaBackend::of(ctx);
  for (int i = 0; i < NV; ++i)
    if (vars[i]->value.device() != be.device())
      ctx.fail(Code::kInternal, "variable ", vars[i]->name, " lives on ", vars[i]->value.device().str(), ", not ",
               be.device().str());
  NESTOR_DISPATCH_FLOAT(var.dtype(), ctx.node().op, [&] {
    using T = scalar_t;
    Args<T> a;
    for (int i = 0; i < NV; ++i) a.v[i] = vars[i]->value.template data<T>();
    for (size_t k = 0; k < scalars.size(); ++k) {
      const Tensor& s = ctx.input(scalars[k]);
      if constexpr (K::kHostScalars) a.hs[k] = s.template data<T>()[0];  // a host-memory input
      else a.s[k] = s.template data<T>();
    }
    a.g = grad.data<T>();
    a.nesterov = ctx.attr_or<bool>("use_nesterov", false);
    K::prepare(ctx, a);
    const int64_t total = var.num_elements();
    if constexpr (!kSparse) {
      training_util::check_dense_grad(ctx, grad, *vars[0]);
      if (total > 0) {
        apply_kernel<K, T><<<blocks_for(total), kThreads, 0, be.stream()>>>(a, total);
        NESTOR_CUDA_CHECK_LAUNCH();
      }
    } else {
      const Tensor& indices = ctx.input(K::kGrad + 1);  // host memory
      const int64_t row_size = training_util::check_sparse_grad(ctx, grad, indices, *vars[0]), first = var.dim(0);
      std::vector<int64_t> idx = host_ints(indices, ctx.node().op.c_str());
      for (size_t k = 0; k < idx.size(); ++k) training_util::check_row(ctx, static_cast<int64_t>(k), idx[k], *vars[0]);
      Groups gr = group_by_key(idx, first, false);
      const int64_t n = gr.size() * row_size;
      DeviceInts dev(be, {&gr.keys, &gr.offsets, &gr.pos});
      if constexpr (K::kDenseSparse) {
        if (total > 0) {
          adam_decay_kernel<T><<<blocks_for(total), kThreads, 0, be.stream()>>>(a, total);
          NESTOR_CUDA_CHECK_LAUNCH();
        }
        if (n > 0) {
          adam_scatter_kernel<T><<<blocks_for(n), kThreads, 0, be.stream()>>>(a, dev.part(0), dev.part(1), dev.part(2),
                                                                            n, row_size);
          NESTOR_CUDA_CHECK_LAUNCH();
        }
        if (total > 0) {
          adam_update_kernel<T><<<blocks_for(total), kThreads, 0, be.stream()>>>(a, total);
          NESTOR_CUDA_CHECK_LAUNCH();
        }
      } else if (n > 0) {
        sparse_apply_kernel<K, T><<<blocks_for(n), kThreads, 0, be.stream()>>>(a, dev.part(0), dev.part(1),
                                                                              dev.part(2), n, row_size);
        NESTOR_CUDA_CHECK_LAUNCH();
      }
    }
  });
  ctx.set_output(0, vars[0]->value);
}

#define NESTOR_CUDA_APPLY(NAME, KIND)                                                                        \
  const KernelPlacementRegistrar NESTOR_CONCAT(place_dense_, KIND)(NAME, DeviceType::kCuda,                  \
                                                                   placement<KIND, false>());                \
  const KernelPlacementRegistrar NESTOR_CONCAT(place_sparse_, KIND)("sparse_" NAME, DeviceType::kCuda,       \
                                                                    placement<KIND, true>());                \
  NESTOR_REGISTER_KERNEL(NAME, DeviceType::kCuda, (apply_host<KIND, false>));                                \
  NESTOR_REGISTER_KERNEL("sparse_" NAME, DeviceType::kCuda, (apply_host<KIND, true>))

NESTOR_CUDA_APPLY("apply_gradient_descent", GradientDescent);
NESTOR_CUDA_APPLY("apply_momentum", Momentum);
NESTOR_CUDA_APPLY("apply_adagrad", Adagrad);
NESTOR_CUDA_APPLY("apply_adam", Adam);
NESTOR_CUDA_APPLY("apply_ftrl", Ftrl);
NESTOR_CUDA_APPLY("apply_rms_prop", RMSProp);
NESTOR_CUDA_APPLY("apply_centered_rms_prop", CenteredRMSProp);

#undef NESTOR_CUDA_APPLY

}  // namespace
}  // namespace cuda
}  // namespace nestor
