// Comparisons (-> bool, broadcasting), logical ops, where (three-way numpy broadcasting,
// TF2's where_v2) and where_indices (coordinates of true elements).
#include "common.h"

namespace nestor {
namespace {

using ops::binary_kernel;

// ---------------------------------------------------------------- comparisons
void compare_numeric(ShapeCtx& c) {
  ops::binary_to_bool(c);
  if (!is_numeric(c.dtype(0)))
    c.fail("inputs must be float32, float64, int32 or int64, got ", dtype_name(c.dtype(0)));
}

template <typename F>
void compare_kernel(KernelCtx& ctx, const char* name, F f) {
  NESTOR_DISPATCH_NUMERIC(ctx.input(0).dtype(), name, [&] {
    binary_kernel<scalar_t, bool>(ctx, [&](scalar_t a, scalar_t b) { return f(a, b); });
  });
}

template <typename F>
void equality_kernel(KernelCtx& ctx, const char* name, F f) {
  NESTOR_DISPATCH_ALL(ctx.input(0).dtype(), name, [&] {
    binary_kernel<scalar_t, bool>(ctx, [&](const scalar_t& a, const scalar_t& b) { return f(a, b); });
  });
}

NESTOR_OP("equal")
    .shape(ops::binary_to_bool)
    .no_grad()
    .cpu([](KernelCtx& ctx) { equality_kernel(ctx, "equal", [](const auto& a, const auto& b) { return a == b; }); });

NESTOR_OP("not_equal")
    .shape(ops::binary_to_bool)
    .no_grad()
    .cpu([](KernelCtx& ctx) {
      equality_kernel(ctx, "not_equal", [](const auto& a, const auto& b) { return a != b; });
    });

NESTOR_OP("less")
    .shape(compare_numeric)
    .no_grad()
    .cpu([](KernelCtx& ctx) { compare_kernel(ctx, "less", [](auto a, auto b) { return a < b; }); });

NESTOR_OP("less_equal")
    .shape(compare_numeric)
    .no_grad()
    .cpu([](KernelCtx& ctx) { compare_kernel(ctx, "less_equal", [](auto a, auto b) { return a <= b; }); });

NESTOR_OP("greater")
    .shape(compare_numeric)
    .no_grad()
    .cpu([](KernelCtx& ctx) { compare_kernel(ctx, "greater", [](auto a, auto b) { return a > b; }); });

NESTOR_OP("greater_equal")
    .shape(compare_numeric)
    .no_grad()
    .cpu([](KernelCtx& ctx) { compare_kernel(ctx, "greater_equal", [](auto a, auto b) { return a >= b; }); });

// ---------------------------------------------------------------- logical
void binary_logical(ShapeCtx& c) {
  c.expect_inputs(2);
  c.expect_dtype(0, DType::kBool);
  c.expect_dtype(1, DType::kBool);
  c.set_output(0, DType::kBool, ops::broadcast_shapes(c, c.shape(0), c.shape(1)));
}

NESTOR_OP("logical_and")
    .shape(binary_logical)
    .no_grad()
    .cpu([](KernelCtx& ctx) { binary_kernel<bool, bool>(ctx, [](bool a, bool b) { return a && b; }); });

NESTOR_OP("logical_or")
    .shape(binary_logical)
    .no_grad()
    .cpu([](KernelCtx& ctx) { binary_kernel<bool, bool>(ctx, [](bool a, bool b) { return a || b; }); });

NESTOR_OP("logical_xor")
    .shape(binary_logical)
    .no_grad()
    .cpu([](KernelCtx& ctx) { binary_kernel<bool, bool>(ctx, [](bool a, bool b) { return a != b; }); });

NESTOR_OP("logical_not")
    .shape([](ShapeCtx& c) {
      c.expect_inputs(1);
      c.expect_dtype(0, DType::kBool);
      c.set_output(0, DType::kBool, c.shape(0));
    })
    .no_grad()
    .cpu([](KernelCtx& ctx) { ops::unary_kernel<bool, bool>(ctx, [](bool a) { return !a; }); });

// ---------------------------------------------------------------- where
template <typename T>
void where_kernel(KernelCtx& ctx) {
  const Tensor& c = ctx.input(0);
  const Tensor& x = ctx.input(1);
  const Tensor& y = ctx.input(2);
  Dims od = ops::broadcast_dims(ctx, ops::broadcast_dims(ctx, c.dims(), x.dims()), y.dims());
  Tensor& o = ctx.allocate_output(0, x.dtype(), od);
  const bool* pc = c.data<bool>();
  const T* px = x.data<T>();
  const T* py = y.data<T>();
  T* po = o.data<T>();
  int64_t n = o.num_elements();
  if (n == 0) return;
  if (c.dims() == od && x.dims() == od && y.dims() == od) {
    ops::parallel_elems(ctx, n, [&](int64_t s, int64_t e) {
      for (int64_t i = s; i < e; ++i) po[i] = pc[i] ? px[i] : py[i];
    });
    return;
  }
  ops::BroadcastIndex ic(od, c.dims()), ix(od, x.dims()), iy(od, y.dims());
  int64_t cols = od.empty() ? 1 : od.back();
  int64_t rows = n / cols;
  int64_t sc = ic.inner_stride, sx = ix.inner_stride, sy = iy.inner_stride;
  ops::parallel_elems(ctx, rows, [&](int64_t s, int64_t e) {
    for (int64_t r = s; r < e; ++r) {
      const bool* rc = pc + ic.row_offset(r);
      const T* rx = px + ix.row_offset(r);
      const T* ry = py + iy.row_offset(r);
      T* ro = po + r * cols;
      for (int64_t k = 0; k < cols; ++k) ro[k] = rc[k * sc] ? rx[k * sx] : ry[k * sy];
    }
  }, std::max<int64_t>(1, 32768 / cols));
}

NESTOR_OP("where")
    .shape([](ShapeCtx& c) {
      c.expect_inputs(3);
      if (c.dtype(0) != DType::kBool) c.fail("condition (input 0) must be bool, got ", dtype_name(c.dtype(0)));
      c.expect_same_dtype(1, 2);
      PartialShape s = ops::broadcast_shapes(c, c.shape(0), c.shape(1));
      c.set_output(0, c.dtype(1), ops::broadcast_shapes(c, s, c.shape(2)));
    })
    .grad([](GradCtx& g) {
      Output d = g.grad(0), cond = g.input(0);
      Output zeros = g.zeros_like(d);
      g.set_grad(1, g.sum_to(g.select(cond, d, zeros), g.input(1)));
      g.set_grad(2, g.sum_to(g.select(cond, zeros, d), g.input(2)));
    })
    .cpu([](KernelCtx& ctx) {
      NESTOR_DISPATCH_ALL(ctx.input(1).dtype(), "where", [&] { where_kernel<scalar_t>(ctx); });
    });

// where_indices(cond): int64 [N, rank] coordinates of the true (nonzero) elements, row-major.
NESTOR_OP("where_indices")
    .shape([](ShapeCtx& c) {
      c.expect_inputs(1);
      if (c.dtype(0) == DType::kString) c.fail("input 0 must be bool or numeric, got string");
      int64_t rank = c.shape(0).known_rank() ? c.shape(0).rank() : -1;
      c.set_output(0, DType::kInt64, PartialShape(Dims{-1, rank}));
    })
    .no_grad()
    .cpu([](KernelCtx& ctx) {
      const Tensor& c = ctx.input(0);
      const Dims& d = c.dims();
      int64_t n = c.num_elements();
      NESTOR_DISPATCH_POD(c.dtype(), "where_indices", [&] {
        const scalar_t* pc = c.data<scalar_t>();
        int64_t count = 0;
        for (int64_t i = 0; i < n; ++i) count += pc[i] != scalar_t(0);
        int64_t rank = static_cast<int64_t>(d.size());
        Tensor& o = ctx.allocate_output(0, DType::kInt64, {count, rank});
        int64_t* po = o.data<int64_t>();
        for (int64_t i = 0, row = 0; i < n; ++i) {
          if (pc[i] == scalar_t(0)) continue;
          int64_t rem = i;
          for (int64_t k = rank; k-- > 0;) {
            po[row * rank + k] = rem % d[static_cast<size_t>(k)];
            rem /= d[static_cast<size_t>(k)];
          }
          ++row;
        }
      });
    });

}  // namespace
}  // namespace nestor
