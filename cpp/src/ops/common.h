// Helpers shared by the CPU kernels and shape functions in cpp/src/ops/.
#pragma once

#include <algorithm>
#include <cstring>

#include "axis_util.h"  // normalize_axis, shared with the CUDA kernels
#include "nestor/op.h"
#include "nestor/threadpool.h"
#include "shape_util.h"

namespace nestor {
namespace ops {

// Runs fn(begin, end) over [0, n), on the pool when the range is large.
template <typename F>
void parallel_elems(KernelCtx& ctx, int64_t n, F&& fn, int64_t grain = 32768) {
  if (n <= grain || ctx.pool().num_threads() == 1) {
    fn(int64_t{0}, n);
    return;
  }
  ctx.pool().parallel_for(n, grain, [&](int64_t b, int64_t e) { fn(b, e); });
}

// numpy broadcasting of two build-time shapes; fails naming the op and both shapes.
PartialShape broadcast_shapes(const ShapeCtx& c, const PartialShape& a, const PartialShape& b);
// numpy broadcasting of two runtime shapes.
using nestor::broadcast_dims;  // shape_util.h

// Maps output linear indices to input linear indices for one broadcast operand.
// Iteration is by rows of the last output dimension: `inner_stride` is 0 or 1.
struct BroadcastIndex {
  BroadcastIndex(const Dims& out, const Dims& in);
  int64_t row_offset(int64_t row) const;  // input offset of output row `row` (last dim = columns)
  int64_t inner_stride = 1;
  Dims out_dims, strides;  // strides of `in` aligned to out, 0 where broadcast
};

template <typename T, typename R, typename F>
void binary_kernel(KernelCtx& ctx, F f) {
  const Tensor& a = ctx.input(0);
  const Tensor& b = ctx.input(1);
  Dims od = a.dims() == b.dims() ? a.dims() : broadcast_dims(ctx, a.dims(), b.dims());
  Tensor& o = ctx.allocate_output(0, DTypeOf<R>::value, od);
  const T* pa = a.data<T>();
  const T* pb = b.data<T>();
  R* po = o.data<R>();
  int64_t n = o.num_elements();
  if (n == 0) return;
  if (a.dims() == b.dims()) {
    parallel_elems(ctx, n, [&](int64_t s, int64_t e) { for (int64_t i = s; i < e; ++i) po[i] = f(pa[i], pb[i]); });
  } else if (b.num_elements() == 1) {
    T bv = pb[0];
    parallel_elems(ctx, n, [&](int64_t s, int64_t e) { for (int64_t i = s; i < e; ++i) po[i] = f(pa[i], bv); });
  } else if (a.num_elements() == 1) {
    T av = pa[0];
    parallel_elems(ctx, n, [&](int64_t s, int64_t e) { for (int64_t i = s; i < e; ++i) po[i] = f(av, pb[i]); });
  } else {
    BroadcastIndex ia(od, a.dims()), ib(od, b.dims());
    int64_t cols = od.empty() ? 1 : od.back();
    int64_t rows = cols ? n / cols : 0;
    int64_t sa = ia.inner_stride, sb = ib.inner_stride;
    parallel_elems(ctx, rows, [&](int64_t s, int64_t e) {
      for (int64_t r = s; r < e; ++r) {
        const T* ra = pa + ia.row_offset(r);
        const T* rb = pb + ib.row_offset(r);
        R* ro = po + r * cols;
        for (int64_t c = 0; c < cols; ++c) ro[c] = f(ra[c * sa], rb[c * sb]);
      }
    }, std::max<int64_t>(1, 32768 / std::max<int64_t>(cols, 1)));
  }
}

template <typename T, typename R, typename F>
void unary_kernel(KernelCtx& ctx, F f) {
  const Tensor& a = ctx.input(0);
  Tensor& o = ctx.allocate_output(0, DTypeOf<R>::value, a.dims());
  const T* pa = a.data<T>();
  R* po = o.data<R>();
  parallel_elems(ctx, a.num_elements(), [&](int64_t s, int64_t e) { for (int64_t i = s; i < e; ++i) po[i] = f(pa[i]); });
}

// Shape function for binary elementwise ops whose output dtype equals the inputs'.
void binary_same_dtype(ShapeCtx& c);
// Shape function for comparisons: broadcasting, output bool.
void binary_to_bool(ShapeCtx& c);

}  // namespace ops
}  // namespace nestor
