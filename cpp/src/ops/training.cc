// Fused optimizer updates (TensorFlow's training ops): apply_* update their variable
// inputs in place, element by element; sparse_apply_* take gradient rows `grad` [n, ...]
// and `indices` [n] and touch only those rows of the variables.
//
// Every op is stateful, has no gradient, takes its variables (var and the optimizer's
// slots) as ref inputs, locks them, and outputs the updated var. Scalar hyperparameters
// have the var's dtype. Sparse ops first sum the rows of duplicate indices (as TF1's
// Optimizer does with _deduplicate_indexed_slices) and then update each row once.
//
// sparse_apply_adam follows TF1's AdamOptimizer._apply_sparse: m and v are decayed densely
// (m *= beta1, v *= beta2 on every row), the gradient rows are added (m[i] += (1-beta1) g,
// v[i] += (1-beta2) g^2), and then the whole var is updated with
// var -= lr_t * m / (sqrt(v) + epsilon). So every row of var moves, as in TF1.
#include <cmath>
#include <unordered_map>

#include "common.h"
#include "training_util.h"

namespace nestor {
namespace {

constexpr int kMaxScalars = 6;

template <typename T>
struct Hyper {
  T s[kMaxScalars] = {};  // scalar inputs, in the op's input order
  T lr_t = T(0);          // derived (Adam's bias-corrected step size)
  bool nesterov = false;
  bool half_power = false;  // Ftrl: lr_power == -0.5
};

// An update kind lists the dense op's input names (variables first, `grad` once) and
// defines step(): one element's update. kDenseSparse: the sparse op has its own dense form.
struct Kind {
  static constexpr bool kDenseSparse = false;
  template <typename T>
  static void prepare(const KernelCtx&, Hyper<T>&) {}
};

struct GradientDescent : Kind {
  static constexpr int kVars = 1;
  static constexpr const char* kInputs[] = {"var", "alpha", "delta"};
  template <typename T>
  static void step(T* const* v, int64_t i, T g, const Hyper<T>& h) {
    v[0][i] -= h.s[0] * g;
  }
};

struct Momentum : Kind {
  static constexpr int kVars = 2;
  static constexpr const char* kInputs[] = {"var", "accum", "lr", "grad", "momentum"};
  template <typename T>
  static void step(T* const* v, int64_t i, T g, const Hyper<T>& h) {
    const T lr = h.s[0], mu = h.s[1];
    T a = v[1][i] * mu + g;
    v[1][i] = a;
    if (h.nesterov) v[0][i] -= g * lr + a * mu * lr;
    else v[0][i] -= a * lr;
  }
};

struct Adagrad : Kind {
  static constexpr int kVars = 2;
  static constexpr const char* kInputs[] = {"var", "accum", "lr", "grad"};
  template <typename T>
  static void step(T* const* v, int64_t i, T g, const Hyper<T>& h) {
    T a = v[1][i] + g * g;
    v[1][i] = a;
    v[0][i] -= g * h.s[0] / std::sqrt(a);
  }
};

struct Adam : Kind {
  static constexpr bool kDenseSparse = true;
  static constexpr int kVars = 3;
  static constexpr const char* kInputs[] = {"var", "m", "v", "beta1_power", "beta2_power",
                                            "lr", "beta1", "beta2", "epsilon", "grad"};
  template <typename T>
  static void prepare(const KernelCtx&, Hyper<T>& h) {
    h.lr_t = h.s[2] * std::sqrt(T(1) - h.s[1]) / (T(1) - h.s[0]);
  }
  template <typename T>
  static void step(T* const* v, int64_t i, T g, const Hyper<T>& h) {
    const T b1 = h.s[3], b2 = h.s[4], eps = h.s[5];
    T m = v[1][i] + (g - v[1][i]) * (T(1) - b1);
    T s = v[2][i] + (g * g - v[2][i]) * (T(1) - b2);
    v[1][i] = m;
    v[2][i] = s;
    if (h.nesterov) v[0][i] -= ((g * (T(1) - b1) + b1 * m) * h.lr_t) / (std::sqrt(s) + eps);
    else v[0][i] -= (m * h.lr_t) / (std::sqrt(s) + eps);
  }
};

struct Ftrl : Kind {
  static constexpr int kVars = 3;
  static constexpr const char* kInputs[] = {"var", "accum", "linear", "grad", "lr",
                                            "l1", "l2", "l2_shrinkage", "lr_power"};
  template <typename T>
  static void prepare(const KernelCtx& ctx, Hyper<T>& h) {
    h.half_power = training_util::check_ftrl_hypers(ctx, h.s);
  }
  template <typename T>
  static void step(T* const* v, int64_t i, T g, const Hyper<T>& h) {
    const T lr = h.s[0], l1 = h.s[1], l2 = h.s[2], shrink = h.s[3], p = -h.s[4];
    T var = v[0][i], accum = v[1][i];
    T g_shrunk = g + T(2) * shrink * var;
    T new_accum = accum + g * g;
    T new_pow = h.half_power ? std::sqrt(new_accum) : std::pow(new_accum, p);
    T old_pow = h.half_power ? std::sqrt(accum) : std::pow(accum, p);
    T linear = v[2][i] + g_shrunk - (new_pow - old_pow) / lr * var;
    T y = new_pow / lr + T(2) * l2;
    T sign = linear > T(0) ? T(1) : (linear < T(0) ? T(-1) : T(0));
    v[0][i] = std::abs(linear) > l1 ? (l1 * sign - linear) / y : T(0);
    v[1][i] = new_accum;
    v[2][i] = linear;
  }
};

struct RMSProp : Kind {
  static constexpr int kVars = 3;
  static constexpr const char* kInputs[] = {"var", "ms", "mom", "lr", "rho", "momentum", "epsilon", "grad"};
  template <typename T>
  static void step(T* const* v, int64_t i, T g, const Hyper<T>& h) {
    const T lr = h.s[0], rho = h.s[1], mu = h.s[2], eps = h.s[3];
    T ms = v[1][i] + (g * g - v[1][i]) * (T(1) - rho);
    T mom = v[2][i] * mu + (g * lr) / std::sqrt(ms + eps);
    v[1][i] = ms;
    v[2][i] = mom;
    v[0][i] -= mom;
  }
};

struct CenteredRMSProp : Kind {
  static constexpr int kVars = 4;
  static constexpr const char* kInputs[] = {"var", "mg", "ms", "mom", "lr", "rho", "momentum", "epsilon", "grad"};
  template <typename T>
  static void step(T* const* v, int64_t i, T g, const Hyper<T>& h) {
    const T lr = h.s[0], rho = h.s[1], mu = h.s[2], eps = h.s[3];
    T ms = v[2][i] + (g * g - v[2][i]) * (T(1) - rho);
    T mg = v[1][i] + (g - v[1][i]) * (T(1) - rho);
    T denom = (ms - mg * mg) + eps;
    T mom = v[3][i] * mu + (g * lr) / std::sqrt(denom);
    v[1][i] = mg;
    v[2][i] = ms;
    v[3][i] = mom;
    v[0][i] -= mom;
  }
};

// ---------------------------------------------------------------- input layout
template <class K>
struct Layout {
  static constexpr int kDenseInputs = static_cast<int>(sizeof(K::kInputs) / sizeof(K::kInputs[0]));
  static int grad_index() {
    static const int gi = [] {
      for (int j = 0; j < kDenseInputs; ++j)
        if (std::string(K::kInputs[j]) == "grad" || std::string(K::kInputs[j]) == "delta") return j;
      return -1;
    }();
    return gi;
  }
  // Position in the op's inputs of dense input j; sparse ops put `indices` right after grad.
  static int pos(int j, bool sparse) { return sparse && j > grad_index() ? j + 1 : j; }
  static const std::vector<int>& scalars() {  // built once per optimizer kind
    static const std::vector<int> s = [] {
      std::vector<int> v;
      for (int j = K::kVars; j < kDenseInputs; ++j)
        if (j != grad_index()) v.push_back(j);
      return v;
    }();
    return s;
  }
};

PartialShape tail(const PartialShape& s) {
  return PartialShape(Dims(s.dims().begin() + 1, s.dims().end()));
}

template <class K, bool kSparse>
void apply_shape(ShapeCtx& c) {
  using L = Layout<K>;
  const int gi = L::grad_index();
  c.expect_inputs(L::kDenseInputs + (kSparse ? 1 : 0));
  DType dt = c.dtype(0);
  if (!is_floating(dt)) c.fail("var must be float32 or float64, got ", dtype_name(dt));
  const PartialShape& vs = c.shape(0);
  for (int j = 1; j < L::kDenseInputs; ++j) {
    int p = L::pos(j, kSparse);
    if (c.dtype(p) != dt)
      c.fail(K::kInputs[j], " has dtype ", dtype_name(c.dtype(p)), " but var has dtype ", dtype_name(dt));
    if (j < K::kVars && !c.shape(p).is_compatible_with(vs))
      c.fail(K::kInputs[j], " has shape ", c.shape(p).str(), " but var has shape ", vs.str());
  }
  for (int j : L::scalars()) {
    const PartialShape& s = c.shape(L::pos(j, kSparse));
    if (s.known_rank() && s.rank() != 0) c.fail(K::kInputs[j], " must be a scalar, got shape ", s.str());
  }
  const PartialShape& gs = c.shape(gi);
  if (!kSparse) {
    if (!gs.is_compatible_with(vs)) c.fail("grad has shape ", gs.str(), " but var has shape ", vs.str());
  } else {
    DType it = c.dtype(gi + 1);
    if (it != DType::kInt32 && it != DType::kInt64)
      c.fail("indices must be int32 or int64, got ", dtype_name(it));
    const PartialShape& is = c.shape(gi + 1);
    if (is.known_rank() && is.rank() != 1) c.fail("indices must be a vector, got shape ", is.str());
    if (vs.known_rank() && vs.rank() < 1) c.fail("var must have rank >= 1 for a sparse update, got shape ", vs.str());
    if (vs.known_rank() && gs.known_rank()) {
      if (gs.rank() != vs.rank() || !tail(gs).is_compatible_with(tail(vs)))
        c.fail("grad rows of shape ", gs.str(), " do not match var of shape ", vs.str(),
               " (expected (n, ", tail(vs).str(), ")");
    }
    if (gs.known_rank() && gs.rank() >= 1 && is.known_rank() && is.rank() == 1 && gs.dim(0) >= 0 &&
        is.dim(0) >= 0 && gs.dim(0) != is.dim(0))
      c.fail("grad has ", gs.dim(0), " rows but indices has ", is.dim(0), " entries");
  }
  c.set_output(0, dt, vs);
}

// Sums the gradient rows of duplicate indices: rows[k] is the k-th distinct var row (in
// order of first occurrence), sums[k * row_size ...] its summed gradient.
template <typename T, typename I>
void dedup_rows(KernelCtx& ctx, const Tensor& grad, const Tensor& indices, const Variable& var, int64_t row_size,
                std::vector<int64_t>& rows, std::vector<T>& sums) {
  const I* idx = indices.data<I>();
  const T* g = grad.data<T>();
  const int64_t n = indices.num_elements();
  std::unordered_map<int64_t, int64_t> group;
  group.reserve(static_cast<size_t>(n));
  rows.reserve(static_cast<size_t>(n));
  sums.reserve(static_cast<size_t>(n * row_size));
  for (int64_t k = 0; k < n; ++k) {
    int64_t r = static_cast<int64_t>(idx[k]);
    training_util::check_row(ctx, k, r, var);
    auto ins = group.emplace(r, static_cast<int64_t>(rows.size()));
    const T* src = g + k * row_size;
    if (ins.second) {
      rows.push_back(r);
      sums.insert(sums.end(), src, src + row_size);
    } else {
      T* dst = sums.data() + ins.first->second * row_size;
      for (int64_t j = 0; j < row_size; ++j) dst[j] += src[j];
    }
  }
}

template <class K, typename T>
void sparse_update(KernelCtx& ctx, T* const* p, const std::vector<int64_t>& rows, const std::vector<T>& sums,
                   int64_t row_size, int64_t total, const Hyper<T>& h) {
  const int64_t grain = std::max<int64_t>(1, 32768 / std::max<int64_t>(row_size, 1));
  if constexpr (K::kDenseSparse) {
    // TF1 AdamOptimizer._apply_sparse: dense decay, scatter-add of the rows, dense var update.
    const T b1 = h.s[3], b2 = h.s[4], eps = h.s[5];
    ops::parallel_elems(ctx, total, [&](int64_t s, int64_t e) {
      for (int64_t i = s; i < e; ++i) {
        p[1][i] *= b1;
        p[2][i] *= b2;
      }
    });
    ops::parallel_elems(ctx, static_cast<int64_t>(rows.size()), [&](int64_t s, int64_t e) {
      for (int64_t k = s; k < e; ++k) {
        const T* g = sums.data() + k * row_size;
        const int64_t base = rows[static_cast<size_t>(k)] * row_size;
        for (int64_t j = 0; j < row_size; ++j) {
          p[1][base + j] += g[j] * (T(1) - b1);
          p[2][base + j] += (g[j] * g[j]) * (T(1) - b2);
        }
      }
    }, grain);
    ops::parallel_elems(ctx, total, [&](int64_t s, int64_t e) {
      for (int64_t i = s; i < e; ++i) p[0][i] -= h.lr_t * p[1][i] / (std::sqrt(p[2][i]) + eps);
    });
  } else {
    ops::parallel_elems(ctx, static_cast<int64_t>(rows.size()), [&](int64_t s, int64_t e) {
      for (int64_t k = s; k < e; ++k) {
        const T* g = sums.data() + k * row_size;
        const int64_t base = rows[static_cast<size_t>(k)] * row_size;
        for (int64_t j = 0; j < row_size; ++j) K::step(p, base + j, g[j], h);
      }
    }, grain);
  }
}

template <class K, bool kSparse>
void apply_kernel(KernelCtx& ctx) {
  using L = Layout<K>;
  constexpr int NV = K::kVars;
  const int gi = L::grad_index();
  Variable* vars[NV];
  for (int i = 0; i < NV; ++i) vars[i] = &ctx.ref(i);
  const auto locks = training_util::lock_variables(ctx, vars, NV, K::kInputs);
  const Tensor& var = vars[0]->value;
  for (int j : L::scalars()) training_util::check_scalar(ctx, ctx.input(L::pos(j, kSparse)), K::kInputs[j]);
  const Tensor& grad = ctx.input(gi);
  NESTOR_DISPATCH_FLOAT(var.dtype(), ctx.node().op, [&] {
    using T = scalar_t;
    Hyper<T> h;
    const std::vector<int>& sc = L::scalars();
    for (size_t k = 0; k < sc.size(); ++k) h.s[k] = ctx.input(L::pos(sc[k], kSparse)).template data<T>()[0];
    h.nesterov = ctx.attr_or<bool>("use_nesterov", false);
    K::prepare(ctx, h);
    T* p[NV];
    for (int i = 0; i < NV; ++i) p[i] = vars[i]->value.template data<T>();
    const T* g = grad.data<T>();
    if constexpr (!kSparse) {
      training_util::check_dense_grad(ctx, grad, *vars[0]);
      ops::parallel_elems(ctx, var.num_elements(), [&](int64_t s, int64_t e) {
        for (int64_t i = s; i < e; ++i) K::step(p, i, g[i], h);
      });
    } else {
      const Tensor& indices = ctx.input(gi + 1);
      const int64_t row_size = training_util::check_sparse_grad(ctx, grad, indices, *vars[0]);
      std::vector<int64_t> rows;
      std::vector<T> sums;
      NESTOR_DISPATCH_INDEX(indices.dtype(), ctx.node().op, [&] {
        dedup_rows<T, scalar_t>(ctx, grad, indices, *vars[0], row_size, rows, sums);
      });
      sparse_update<K, T>(ctx, p, rows, sums, row_size, var.num_elements(), h);
    }
  });
  ctx.set_output(0, vars[0]->value);
}

NESTOR_OP("apply_gradient_descent").ref_input(0).stateful().no_grad()
    .shape(apply_shape<GradientDescent, false>).cpu(apply_kernel<GradientDescent, false>);

NESTOR_OP("sparse_apply_gradient_descent").ref_input(0).stateful().no_grad()
    .shape(apply_shape<GradientDescent, true>).cpu(apply_kernel<GradientDescent, true>);

NESTOR_OP("apply_momentum").ref_input(0).ref_input(1).stateful().no_grad()
    .shape(apply_shape<Momentum, false>).cpu(apply_kernel<Momentum, false>);

NESTOR_OP("sparse_apply_momentum").ref_input(0).ref_input(1).stateful().no_grad()
    .shape(apply_shape<Momentum, true>).cpu(apply_kernel<Momentum, true>);

NESTOR_OP("apply_adagrad").ref_input(0).ref_input(1).stateful().no_grad()
    .shape(apply_shape<Adagrad, false>).cpu(apply_kernel<Adagrad, false>);

NESTOR_OP("sparse_apply_adagrad").ref_input(0).ref_input(1).stateful().no_grad()
    .shape(apply_shape<Adagrad, true>).cpu(apply_kernel<Adagrad, true>);

NESTOR_OP("apply_adam").ref_input(0).ref_input(1).ref_input(2).stateful().no_grad()
    .shape(apply_shape<Adam, false>).cpu(apply_kernel<Adam, false>);

NESTOR_OP("sparse_apply_adam").ref_input(0).ref_input(1).ref_input(2).stateful().no_grad()
    .shape(apply_shape<Adam, true>).cpu(apply_kernel<Adam, true>);

NESTOR_OP("apply_ftrl").ref_input(0).ref_input(1).ref_input(2).stateful().no_grad()
    .shape(apply_shape<Ftrl, false>).cpu(apply_kernel<Ftrl, false>);

NESTOR_OP("sparse_apply_ftrl").ref_input(0).ref_input(1).ref_input(2).stateful().no_grad()
    .shape(apply_shape<Ftrl, true>).cpu(apply_kernel<Ftrl, true>);

NESTOR_OP("apply_rms_prop").ref_input(0).ref_input(1).ref_input(2).stateful().no_grad()
    .shape(apply_shape<RMSProp, false>).cpu(apply_kernel<RMSProp, false>);

NESTOR_OP("sparse_apply_rms_prop").ref_input(0).ref_input(1).ref_input(2).stateful().no_grad()
    .shape(apply_shape<RMSProp, true>).cpu(apply_kernel<RMSProp, true>);

NESTOR_OP("apply_centered_rms_prop").ref_input(0).ref_input(1).ref_input(2).ref_input(3).stateful().no_grad()
    .shape(apply_shape<CenteredRMSProp, false>).cpu(apply_kernel<CenteredRMSProp, false>);

NESTOR_OP("sparse_apply_centered_rms_prop").ref_input(0).ref_input(1).ref_input(2).ref_input(3).stateful().no_grad()
    .shape(apply_shape<CenteredRMSProp, true>).cpu(apply_kernel<CenteredRMSProp, true>);

}  // namespace
}  // namespace nestor
