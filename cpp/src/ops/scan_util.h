// The scans (cumsum, cumprod and cumprod's gradient), shared by the CPU kernels
// (cpp/src/ops/scan.cc) and the CUDA kernels (cuda/kernels/scan.cu): the run-time axis
// check and the [outer, n, inner] layout, with the same messages on both devices, and the
// element operations (integer scans wrap around, as TensorFlow's, without signed overflow).
#pragma once

#include <cstdint>
#include <type_traits>

#include "nestor/op.h"

#ifndef NESTOR_HOST_DEVICE
#ifdef __CUDACC__
#define NESTOR_HOST_DEVICE __host__ __device__
#else
#define NESTOR_HOST_DEVICE
#endif
#endif

namespace nestor {
namespace scan {

// x viewed as [outer, n, inner] around the scanned axis.
struct Layout {
  int64_t outer = 1, n = 1, inner = 1;
};

// The layout of scanning x along the axis held by the scalar int tensor `axis_t` (host
// memory); fails naming a scalar x, a non-scalar axis or an axis out of range.
inline Layout layout(const KernelCtx& ctx, const Tensor& x, const Tensor& axis_t) {
  if (axis_t.num_elements() != 1 || axis_t.rank() != 0)
    ctx.fail(Code::kInvalidArgument, "axis must be a scalar, got shape ", dims_str(axis_t.dims()));
  if (x.rank() == 0) ctx.fail(Code::kInvalidArgument, "x must be at least 1-D, got a scalar");
  const int64_t rank = x.rank(), a = axis_t.scalar_as_int();
  if (a < -rank || a >= rank) ctx.fail(Code::kInvalidArgument, "axis ", a, " is out of range for rank ", rank);
  const int64_t axis = a < 0 ? a + rank : a;
  Layout l;
  for (int64_t k = 0; k < rank; ++k) {
    const int64_t d = x.dim(static_cast<int>(k));
    if (k < axis) l.outer *= d;
    else if (k == axis) l.n = d;
    else l.inner *= d;
  }
  return l;
}

// cumprod_grad's layout: as `layout`, after checking that dy has x's dims.
inline Layout grad_layout(const KernelCtx& ctx, const Tensor& x, const Tensor& dy, const Tensor& axis_t) {
  if (dy.dims() != x.dims())
    ctx.fail(Code::kInvalidArgument, "dy of shape ", dims_str(dy.dims()), " does not match x of shape ",
             dims_str(x.dims()));
  return layout(ctx, x, axis_t);
}

// a + b and a * b; integers in two's complement (wrapping), floats as they are.
template <typename T>
NESTOR_HOST_DEVICE inline T add(T a, T b) {
  if constexpr (std::is_integral<T>::value) {
    using U = typename std::make_unsigned<T>::type;
    return static_cast<T>(static_cast<U>(a) + static_cast<U>(b));
  } else {
    return a + b;
  }
}

template <typename T>
NESTOR_HOST_DEVICE inline T mul(T a, T b) {
  if constexpr (std::is_integral<T>::value) {
    using U = typename std::make_unsigned<T>::type;
    return static_cast<T>(static_cast<U>(a) * static_cast<U>(b));
  } else {
    return a * b;
  }
}

struct Sum {
  template <typename T>
  NESTOR_HOST_DEVICE T operator()(T a, T b) const { return add(a, b); }
  template <typename T>
  NESTOR_HOST_DEVICE static T identity() { return T(0); }
};

struct Prod {
  template <typename T>
  NESTOR_HOST_DEVICE T operator()(T a, T b) const { return mul(a, b); }
  template <typename T>
  NESTOR_HOST_DEVICE static T identity() { return T(1); }
};

}  // namespace scan
}  // namespace nestor
