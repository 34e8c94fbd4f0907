// Run-time argument rules of top_k, top_k_grad and in_top_k, shared by the CPU kernels
// (cpp/src/ops/top_k.cc) and the CUDA kernels (cuda/kernels/top_k.cu) so that both devices
// accept the same inputs and fail with the same (TensorFlow's) messages.
#pragma once

#include <algorithm>
#include <cstdint>

#include "nestor/op.h"

namespace nestor {
namespace top_k {

// x viewed as [rows, n] over its last axis, and k.
struct Layout {
  int64_t rows = 0, n = 0, k = 0;
};

inline int64_t scalar_k(const KernelCtx& ctx, const Tensor& k_t) {
  if (k_t.rank() != 0) ctx.fail(Code::kInvalidArgument, "k must be a scalar, got shape ", dims_str(k_t.dims()));
  return k_t.scalar_as_int();
}

// top_k(x, k): x at least 1-D, 0 <= k <= x.shape[-1].
inline Layout layout(const KernelCtx& ctx, const Tensor& x, const Tensor& k_t) {
  if (x.rank() == 0) ctx.fail(Code::kInvalidArgument, "input must be >= 1-D, got shape ", dims_str(x.dims()));
  Layout l;
  l.k = scalar_k(ctx, k_t);
  if (l.k < 0) ctx.fail(Code::kInvalidArgument, "Need k >= 0, got ", l.k);
  l.n = x.dims().back();
  if (l.n > INT32_MAX)
    ctx.fail(Code::kInvalidArgument, "input's last dimension ", l.n, " is too large for int32 indices");
  if (l.n < l.k)
    ctx.fail(Code::kInvalidArgument, "input must have at least k columns. Had ", l.n, ", needed ", l.k);
  l.rows = 1;
  for (int i = 0; i + 1 < x.rank(); ++i) l.rows *= x.dim(i);
  return l;
}

// The output dims of top_k: x's with the last replaced by k.
inline Dims out_dims(const Tensor& x, int64_t k) {
  Dims d = x.dims();
  d.back() = k;
  return d;
}

// top_k_grad(dy, indices, x): dy and indices both of top_k's output shape for x.
inline Layout grad_layout(const KernelCtx& ctx, const Tensor& dy, const Tensor& idx, const Tensor& x) {
  if (x.rank() == 0 || dy.dims() != idx.dims() || dy.rank() != x.rank() ||
      !std::equal(x.dims().begin(), x.dims().end() - 1, dy.dims().begin()))
    ctx.fail(Code::kInvalidArgument, "dy of shape ", dims_str(dy.dims()), " and indices of shape ",
             dims_str(idx.dims()), " do not match top_k of an input of shape ", dims_str(x.dims()));
  Layout l;
  l.n = x.dims().back();
  l.k = dy.dims().back();
  l.rows = 1;
  for (int i = 0; i + 1 < x.rank(); ++i) l.rows *= x.dim(i);
  return l;
}

// in_top_k(predictions [batch, classes], targets [batch], k): the checks; returns k.
inline int64_t in_top_k_args(const KernelCtx& ctx, const Tensor& pred, const Tensor& targets, const Tensor& k_t) {
  if (pred.rank() != 2)
    ctx.fail(Code::kInvalidArgument, "predictions must be 2-dimensional, got shape ", dims_str(pred.dims()));
  if (targets.rank() != 1)
    ctx.fail(Code::kInvalidArgument, "targets must be 1-dimensional, got shape ", dims_str(targets.dims()));
  if (pred.dim(0) != targets.dim(0))
    ctx.fail(Code::kInvalidArgument, "First dimension of predictions ", pred.dim(0),
             " must match length of targets ", targets.dim(0));
  return scalar_k(ctx, k_t);
}

}  // namespace top_k
}  // namespace nestor
