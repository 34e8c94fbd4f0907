// Shape arithmetic that the kernels of every device share (CPU kernels in cpp/src/ops,
// CUDA kernels in cuda/kernels): one definition, so the devices accept the same inputs
// and fail with the same messages. `Ctx` is anything with fail(Code, ...) (KernelCtx, or
// a shape-function adapter).
#pragma once

#include <cstdint>

#include "nestor/error.h"
#include "nestor/tensor.h"

namespace nestor {

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

}  // namespace nestor
