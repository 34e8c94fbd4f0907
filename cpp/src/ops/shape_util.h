// Shape arithmetic that the kernels of every device share (CPU kernels in cpp/src/ops,
// CUDA kernels in cuda/kernels): one definition, so the devices accept the same inputs
// and fail with the same messages. `Ctx` is anything with fail(Code, ...) (KernelCtx, or
// a shape-function adapter).
#pragma once

#include <algorithm>
#include <cstdint>

#include "nestor/error.h"
#include "nestor/tensor.h"

namespace nestor {

// Row-major element strides of `d`.
inline Dims strides_of(const Dims& d) {
  Dims s(d.size());
  int64_t v = 1;
  for (size_t i = d.size(); i-- > 0;) {
    s[i] = v;
    v *= d[i];
  }
  return s;
}

// Resolves one -1 in `spec` against `n` elements; fails naming the shapes.
template <typename Ctx>
Dims resolve_reshape(const Ctx& c, const Dims& from, Dims spec, int64_t n) {
  int unknown = -1;
  int64_t known = 1;
  for (size_t i = 0; i < spec.size(); ++i) {
    if (spec[i] == -1) {
      if (unknown >= 0) c.fail(Code::kInvalidArgument, "only one dimension of the new shape may be -1, got ", dims_str(spec));
      unknown = static_cast<int>(i);
    } else if (spec[i] < 0) {
      c.fail(Code::kInvalidArgument, "invalid dimension ", spec[i], " in new shape ", dims_str(spec));
    } else {
      known *= spec[i];
    }
  }
  if (unknown >= 0) {
    if (known == 0 || n % known != 0)
      c.fail(Code::kInvalidArgument, "Input to reshape is a tensor with ", n, " values (shape ", dims_str(from),
             "), which cannot be reshaped to ", dims_str(spec));
    spec[static_cast<size_t>(unknown)] = n / known;
  } else if (known != n) {
    c.fail(Code::kInvalidArgument, "Input to reshape is a tensor with ", n, " values (shape ", dims_str(from),
           "), but the requested shape ", dims_str(spec), " has ", known);
  }
  return spec;
}

// The GEMM problem of matmul(a, b; ta, tb): `batch` products of op(A)[m, k] x op(B)[k, n],
// output dims `out`. When b is 2-D and a has rank > 2, a's leading dims fold into m (fold).
struct MatmulDims {
  int64_t m = 0, n = 0, k = 0, batch = 1;
  bool fold = false;
  Dims out;
};

template <typename Ctx>
MatmulDims matmul_dims(const Ctx& ctx, const Tensor& a, const Tensor& b, bool ta, bool tb) {
  int ra = a.rank(), rb = b.rank();
  if (ra < 2 || rb < 2)
    ctx.fail(Code::kInvalidArgument, "inputs must have rank >= 2, got ", dims_str(a.dims()), " and ",
             dims_str(b.dims()));
  MatmulDims d;
  d.m = ta ? a.dim(ra - 1) : a.dim(ra - 2);
  d.k = ta ? a.dim(ra - 2) : a.dim(ra - 1);
  int64_t kb = tb ? b.dim(rb - 1) : b.dim(rb - 2);
  d.n = tb ? b.dim(rb - 2) : b.dim(rb - 1);
  if (d.k != kb)
    ctx.fail(Code::kInvalidArgument, "Matrix size-incompatible: In[0]: ", dims_str(a.dims()), ", In[1]: ",
             dims_str(b.dims()));
  d.out.assign(a.dims().begin(), a.dims().end() - 2);
  for (auto x : d.out) d.batch *= x;
  d.fold = rb == 2 && ra > 2;
  if (rb > 2) {
    if (ra != rb) ctx.fail(Code::kInvalidArgument, "batched inputs must have the same rank");
    for (int i = 0; i < ra - 2; ++i)
      if (a.dim(i) != b.dim(i))
        ctx.fail(Code::kInvalidArgument, "batch dimensions differ: ", dims_str(a.dims()), " vs ",
                 dims_str(b.dims()));
  }
  if (d.fold && ta) ctx.fail(Code::kInvalidArgument, "transpose_a needs b of the same rank as a");
  d.out.push_back(d.m);
  d.out.push_back(d.n);
  return d;
}

// numpy broadcasting of two runtime shapes; fails naming both.
template <typename Ctx>
Dims broadcast_dims(const Ctx& c, const Dims& a, const Dims& b) {
  size_t r = std::max(a.size(), b.size());
  Dims out(r);
  for (size_t i = 0; i < r; ++i) {
    int64_t da = i < r - a.size() ? 1 : a[i - (r - a.size())];
    int64_t db = i < r - b.size() ? 1 : b[i - (r - b.size())];
    if (da == db || db == 1) out[i] = da;
    else if (da == 1) out[i] = db;
    else c.fail(Code::kInvalidArgument, "Incompatible shapes: ", dims_str(a), " vs. ", dims_str(b));
  }
  return out;
}

// sum_to(x, target): `target` left-padded with 1s to x's rank; fails unless every target
// dimension is 1 or x's.
template <typename Ctx>
Dims sum_to_dims(const Ctx& c, const Dims& x, const Dims& target) {
  if (target.size() > x.size())
    c.fail(Code::kInvalidArgument, "cannot sum shape ", dims_str(x), " to ", dims_str(target));
  Dims full(x.size() - target.size(), 1);
  full.insert(full.end(), target.begin(), target.end());
  for (size_t i = 0; i < full.size(); ++i)
    if (full[i] != 1 && full[i] != x[i])
      c.fail(Code::kInvalidArgument, "cannot sum shape ", dims_str(x), " to ", dims_str(target));
  return full;
}

// sparse_softmax_cross_entropy_with_logits: labels z of logits x's leading shape, each in
// [0, classes). Labels are read on the host on every device.
template <typename Ctx>
void check_sparse_labels(const Ctx& c, const Tensor& x, const Tensor& z) {
  if (x.rank() < 1 || z.rank() != x.rank() - 1 || !std::equal(z.dims().begin(), z.dims().end(), x.dims().begin()))
    c.fail(Code::kInvalidArgument, "logits and labels must have the same leading dimensions, got logits shape ",
           dims_str(x.dims()), " and labels shape ", dims_str(z.dims()));
  const int64_t classes = x.dims().back(), n = z.num_elements();
  auto check = [&](const auto* p) {
    bool ok = true;  // one branch-free pass; the position is searched for only on failure
    for (int64_t i = 0; i < n; ++i) ok &= p[i] >= 0 && p[i] < classes;
    if (ok) return;
    for (int64_t i = 0; i < n; ++i)
      if (p[i] < 0 || p[i] >= classes)
        c.fail(Code::kInvalidArgument, "Received a label value of ", static_cast<int64_t>(p[i]), " at position ", i,
               " which is outside the valid range of [0, ", classes, ")");
  };
  if (z.dtype() == DType::kInt32) check(z.data<int32_t>());
  else if (z.dtype() == DType::kInt64) check(z.data<int64_t>());
  else c.fail(Code::kInvalidArgument, "labels must be int32 or int64, got ", dtype_name(z.dtype()));
}

}  // namespace nestor
