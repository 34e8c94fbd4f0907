// Kernels of cpp/src/ops/gather.cc that are pure shape work, shared with the CUDA plugin
// (cuda/kernels/gather.cu) so both devices give the same views and the same errors.
#pragma once

#include "nestor/op.h"
#include "shape_util.h"

namespace nestor {
namespace gather_util {

// collapse_dims_like(x, indices): x viewed as [indices.num_elements()] + x.dims[indices.rank:]
// (the leading dims of x must be those of indices); only the dims of indices are read.
inline void collapse_dims_like(KernelCtx& ctx) {
  const Tensor& x = ctx.input(0);
  const Tensor& ind = ctx.input(1);
  int k = ind.rank();
  if (x.rank() < k)
    ctx.fail(Code::kInvalidArgument, "x of shape ", dims_str(x.dims()), " has fewer dims than indices of shape ",
             dims_str(ind.dims()));
  for (int i = 0; i < k; ++i)
    if (x.dim(i) != ind.dim(i))
      ctx.fail(Code::kInvalidArgument, "leading dims of x ", dims_str(x.dims()), " do not match indices ",
               dims_str(ind.dims()));
  Dims out{ind.num_elements()};
  out.insert(out.end(), x.dims().begin() + k, x.dims().end());
  ctx.set_output(0, x.reshaped(out));
}

}  // namespace gather_util
}  // namespace nestor
