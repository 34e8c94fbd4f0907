// Axes and shape rules of the reductions, shared by the CPU kernels and shape functions
// (cpp/src/ops/reduce.cc) and the CUDA kernels (cuda/kernels/reduce.cu): one definition,
// so both devices accept the same axes and fail with the same messages.
#pragma once

#include <cstdint>
#include <type_traits>
#include <vector>

#include "axis_util.h"
#include "nestor/op.h"

namespace nestor {
namespace ops {

// mask[i] = 1 for every axis i of a rank-`rank` input named in `axes` (negative count from
// the end); fails on an axis out of range. `Ctx` is ShapeCtx or KernelCtx.
template <typename Ctx>
std::vector<char> axes_mask(const Ctx& c, const std::vector<int64_t>& axes, int64_t rank) {
  std::vector<char> m(static_cast<size_t>(rank), 0);
  for (int64_t a : axes) m[static_cast<size_t>(normalize_axis(c, a, rank))] = 1;
  return m;
}

// `in` with the masked axes dropped, or kept as 1s.
inline Dims reduced_dims(const Dims& in, const std::vector<char>& mask, bool keepdims) {
  Dims out;
  for (size_t i = 0; i < in.size(); ++i) {
    if (!mask[i]) out.push_back(in[i]);
    else if (keepdims) out.push_back(1);
  }
  return out;
}

// broadcast_reduced(g, shape, axes): the keepdims form of reducing `dims` (input 1) over
// input 2, checking `dims` and that g holds its elements.
inline Dims broadcast_reduced_kd(const KernelCtx& ctx, const Tensor& g, const Dims& dims) {
  for (int64_t d : dims)
    if (d < 0) ctx.fail(Code::kInvalidArgument, "invalid shape ", dims_str(dims));
  Dims kd = reduced_dims(dims, axes_mask(ctx, ctx.input(2).to_int_vector(), static_cast<int64_t>(dims.size())), true);
  if (g.num_elements() != num_elements(kd))
    ctx.fail(Code::kInvalidArgument, "gradient of shape ", dims_str(g.dims()), " does not match the reduction of ",
             dims_str(dims), " to ", dims_str(kd));
  return kd;
}

// broadcast_reduced(g, shape, axes; mean): the factor g is scaled by, 1 / the number of
// reduced elements for a mean (whose gradients need a float dtype T), else 1.
template <typename T>
T broadcast_reduced_scale(const KernelCtx& ctx, const Tensor& g, const Dims& dims, const Dims& kd) {
  int64_t count = num_elements(kd) ? num_elements(dims) / num_elements(kd) : 0;
  bool mean = ctx.attr_or<bool>("mean", false);
  T scale = mean && count ? T(1) / static_cast<T>(count) : T(1);
  if (mean && std::is_integral_v<T>)
    ctx.fail(Code::kInvalidArgument, "mean gradients need a float dtype, got ", dtype_name(g.dtype()));
  return scale;
}

// argmax/argmin(x, axis): the axis (a scalar host input) normalized against x's rank; fails
// when it is empty while the other dims are not (no index to return).
inline int64_t arg_axis(const KernelCtx& ctx, const Tensor& x, const Tensor& at) {
  if (at.num_elements() != 1) ctx.fail(Code::kInvalidArgument, "axis must be a scalar, got shape ", dims_str(at.dims()));
  int64_t axis = normalize_axis(ctx, at.scalar_as_int(0), x.rank());
  int64_t others = 1;
  for (int64_t i = 0; i < x.rank(); ++i)
    if (i != axis) others *= x.dim(static_cast<int>(i));
  if (x.dim(static_cast<int>(axis)) == 0 && others > 0)
    ctx.fail(Code::kInvalidArgument, "Reduction axis ", axis, " is empty in shape ", dims_str(x.dims()));
  return axis;
}

}  // namespace ops
}  // namespace nestor
