// Axis normalization shared by the shape functions and kernels of every device (CPU
// kernels in cpp/src/ops, CUDA kernels in cuda/kernels): one definition, so the devices
// accept the same axes and fail with the same message.
#pragma once

#include <cstdint>

#include "nestor/op.h"

namespace nestor {
namespace ops {

// Normalizes `axis` against `rank` (negative counts from the end); fails naming the op.
inline int64_t normalize_axis(const ShapeCtx& c, int64_t axis, int64_t rank) {
  if (axis < -rank || axis >= rank) c.fail("axis ", axis, " is out of range for rank ", rank);
  return axis < 0 ? axis + rank : axis;
}

inline int64_t normalize_axis(const KernelCtx& c, int64_t axis, int64_t rank) {
  if (axis < -rank || axis >= rank) c.fail(Code::kInvalidArgument, "axis ", axis, " is out of range for rank ", rank);
  return axis < 0 ? axis + rank : axis;
}

}  // namespace ops
}  // namespace nestor
