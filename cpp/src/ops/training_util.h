// Host-side rules of the optimizer updates, shared by the CPU kernels (training.cc) and the
// CUDA kernels (cuda/kernels/training.cu) so that both lock, check and fail the same way:
// the variables of one update, its scalar hyperparameters, the dense and sparse gradient
// shapes, the sparse indices, and Ftrl's hyperparameter ranges.
#pragma once

#include <algorithm>
#include <cstdint>
#include <mutex>
#include <vector>

#include "nestor/op.h"

namespace nestor {
namespace training_util {

// Locks each distinct variable of an update once, in address order (no lock-order
// inversions), then checks that every one is initialized and has the shape and dtype of
// vars[0]. names[i] is the op's name for the i-th variable input ("var", "accum", ...).
inline std::vector<std::unique_lock<std::mutex>> lock_variables(const KernelCtx& ctx, Variable* const* vars, int n,
                                                                const char* const* names) {
  std::vector<Variable*> order(vars, vars + n);
  std::sort(order.begin(), order.end());
  order.erase(std::unique(order.begin(), order.end()), order.end());
  std::vector<std::unique_lock<std::mutex>> locks;
  locks.reserve(order.size());
  for (Variable* v : order) locks.emplace_back(v->mu);
  for (int i = 0; i < n; ++i)
    if (!vars[i]->initialized)
      ctx.fail(Code::kFailedPrecondition, "Attempting to use uninitialized value ", vars[i]->name);
  const Tensor& var = vars[0]->value;
  for (int i = 1; i < n; ++i)
    if (vars[i]->value.dims() != var.dims() || vars[i]->value.dtype() != var.dtype())
      ctx.fail(Code::kInvalidArgument, names[i], " (", vars[i]->name, ") has shape ", dims_str(vars[i]->value.dims()),
               " and dtype ", dtype_name(vars[i]->value.dtype()), " but var (", vars[0]->name, ") has shape ",
               dims_str(var.dims()), " and dtype ", dtype_name(var.dtype()));
  return locks;
}

inline void check_scalar(const KernelCtx& ctx, const Tensor& s, const char* name) {
  if (s.rank() != 0) ctx.fail(Code::kInvalidArgument, name, " must be a scalar, got shape ", dims_str(s.dims()));
}

inline void check_dense_grad(const KernelCtx& ctx, const Tensor& grad, const Variable& var) {
  if (grad.dims() != var.value.dims())
    ctx.fail(Code::kInvalidArgument, "grad has shape ", dims_str(grad.dims()), " but var (", var.name,
             ") has shape ", dims_str(var.value.dims()));
}

// A sparse update's indices (a vector) and gradient rows (n, var.dims[1:]) against var;
// returns the number of elements in one row of var.
inline int64_t check_sparse_grad(const KernelCtx& ctx, const Tensor& grad, const Tensor& indices, const Variable& var) {
  const Tensor& v = var.value;
  if (indices.rank() != 1)
    ctx.fail(Code::kInvalidArgument, "indices must be a vector, got shape ", dims_str(indices.dims()));
  if (v.rank() < 1) ctx.fail(Code::kInvalidArgument, "var (", var.name, ") must have rank >= 1 for a sparse update");
  Dims want = v.dims();
  want[0] = indices.dim(0);
  if (grad.dims() != want)
    ctx.fail(Code::kInvalidArgument, "grad has shape ", dims_str(grad.dims()), ", expected ", dims_str(want), " for ",
             indices.dim(0), " indices into var (", var.name, ") of shape ", dims_str(v.dims()));
  return v.dim(0) ? v.num_elements() / v.dim(0) : 0;
}

// indices[k] = r must address a row of var.
inline void check_row(const KernelCtx& ctx, int64_t k, int64_t r, const Variable& var) {
  const int64_t first = var.value.dim(0);
  if (r < 0 || r >= first)
    ctx.fail(Code::kInvalidArgument, "indices[", k, "] = ", r, " is not in [0, ", first,
             "): the first dimension of variable ", var.name, " is ", first);
}

// Ftrl's scalars s = {lr, l1, l2, l2_shrinkage, lr_power}, checked before anything is
// updated. Returns whether lr_power is -0.5 (square roots instead of pow).
template <typename T>
bool check_ftrl_hypers(const KernelCtx& ctx, const T* s) {
  const char* what[] = {"lr", "l1", "l2", "l2_shrinkage", "lr_power"};
  if (!(s[0] > T(0))) ctx.fail(Code::kInvalidArgument, "lr must be a positive scalar, got ", s[0]);
  for (int k = 1; k <= 3; ++k)
    if (!(s[k] >= T(0))) ctx.fail(Code::kInvalidArgument, what[k], " must be a non-negative scalar, got ", s[k]);
  if (!(s[4] <= T(0))) ctx.fail(Code::kInvalidArgument, "lr_power must be a non-positive scalar, got ", s[4]);
  return s[4] == T(-0.5);
}

}  // namespace training_util
}  // namespace nestor
