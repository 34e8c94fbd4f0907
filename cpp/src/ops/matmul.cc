// matmul(a, b; transpose_a, transpose_b): 2-D GEMM through the CPU BLAS; batched when
// both inputs have rank >= 3 with equal batch dims, or when b is 2-D (a's leading dims
// are folded into rows).

#include <string>
#include <variant>

#include "../core/blas.h"
#include "common.h"
#include "shape_util.h"

namespace nestor {
namespace {

// Products of at most kSmallGemm multiply-adds (a batch-1 prediction through a small DNN)
// skip the BLAS: its fixed cost per call (argument checks, blocking set-up) is ~1000
// instructions, more than the arithmetic. Above that OpenBLAS' vectorized kernels win, even
// on shapes like [256, 4] x [4, 30] (callgrind: ~2-6x fewer instructions than this loop).
constexpr int64_t kSmallGemm = 2048;

// Row-major C[m, n] = op(A) op(B), op(B) staged as [k, n] rows so the inner loop runs over n.
template <typename T>
void small_gemm(bool ta, bool tb, int64_t m, int64_t n, int64_t k, const T* a, const T* b, T* c) {
  T bt[kSmallGemm];
  if (tb) {
    for (int64_t p = 0; p < k; ++p)
      for (int64_t j = 0; j < n; ++j) bt[p * n + j] = b[j * k + p];
    b = bt;
  }
  std::fill(c, c + m * n, T(0));
  for (int64_t i = 0; i < m; ++i) {
    T* ci = c + i * n;
    for (int64_t p = 0; p < k; ++p) {
      T x = ta ? a[p * m + i] : a[i * k + p];
      const T* bp = b + p * n;
      for (int64_t j = 0; j < n; ++j) ci[j] += x * bp[j];
    }
  }
}

// op(A) op(B) of inputs 0 and 1, batched as the matmul op allows.
void matmul_shape(ShapeCtx& c) {
  c.expect_same_dtype(0, 1);
  if (!is_numeric(c.dtype(0))) c.fail("matmul needs a numeric dtype, got ", dtype_name(c.dtype(0)));
  const PartialShape& a = c.shape(0);
  const PartialShape& b = c.shape(1);
  bool ta = c.attr_or<bool>("transpose_a", false), tb = c.attr_or<bool>("transpose_b", false);
  if (!a.known_rank() || !b.known_rank()) {
    c.set_output(0, c.dtype(0), PartialShape());
    return;
  }
  if (a.rank() < 2 || b.rank() < 2)
    c.fail("inputs must have rank >= 2, got shapes ", a.str(), " and ", b.str());
  if (b.rank() > 2 && a.rank() != b.rank())
    c.fail("batched inputs must have the same rank, got shapes ", a.str(), " and ", b.str());
  if (ta && b.rank() == 2 && a.rank() > 2) c.fail("transpose_a needs b of the same rank as a");
  int ra = a.rank(), rb = b.rank();
  int64_t m = ta ? a.dim(ra - 1) : a.dim(ra - 2);
  int64_t ka = ta ? a.dim(ra - 2) : a.dim(ra - 1);
  int64_t kb = tb ? b.dim(rb - 1) : b.dim(rb - 2);
  int64_t n = tb ? b.dim(rb - 2) : b.dim(rb - 1);
  if (ka >= 0 && kb >= 0 && ka != kb)
    c.fail("Matrix size-incompatible: In[0]: ", a.str(), ", In[1]: ", b.str(),
           ta || tb ? " (after transposes)" : "");
  Dims out(a.dims().begin(), a.dims().end() - 2);
  if (rb > 2)
    for (int i = 0; i < ra - 2; ++i) {
      int64_t da = a.dim(i), db = b.dim(i);
      if (da >= 0 && db >= 0 && da != db) c.fail("batch dimensions differ: ", a.str(), " vs ", b.str());
      out[static_cast<size_t>(i)] = da >= 0 ? da : db;
    }
  out.push_back(m);
  out.push_back(n);
  c.set_output(0, c.dtype(0), PartialShape(out));
}

NESTOR_OP("matmul")
    .shape([](ShapeCtx& c) {
      c.expect_inputs(2);
      matmul_shape(c);
    })
    .grad([](GradCtx& g) {
      bool ta = g.attr_or<bool>("transpose_a", false), tb = g.attr_or<bool>("transpose_b", false);
      Output a = g.input(0), b = g.input(1), d = g.grad(0);
      int ra = g.shape(a).rank(), rb = g.shape(b).rank();
      if (ra > 2 && rb == 2) {  // folded batch: a is [..., k], b is [k, n]
        g.set_grad(0, g.matmul(d, b, false, !tb));
        Output a2 = g.reshape(a, g.const_ints({-1, g.shape(a).dim(ra - 1)}));
        int64_t n = g.shape(d).dim(g.shape(d).rank() - 1);
        Output d2 = g.reshape(d, g.const_ints({-1, n}));
        g.set_grad(1, tb ? g.matmul(d2, a2, true, false) : g.matmul(a2, d2, true, false));
        return;
      }
      if (!ta && !tb) {
        g.set_grad(0, g.matmul(d, b, false, true));
        g.set_grad(1, g.matmul(a, d, true, false));
      } else if (!ta && tb) {
        g.set_grad(0, g.matmul(d, b, false, false));
        g.set_grad(1, g.matmul(d, a, true, false));
      } else if (ta && !tb) {
        g.set_grad(0, g.matmul(b, d, false, true));
        g.set_grad(1, g.matmul(a, d, false, false));
      } else {
        g.set_grad(0, g.matmul(b, d, true, true));
        g.set_grad(1, g.matmul(d, a, true, true));
      }
    })
    .cpu([](KernelCtx& ctx) {
      const Tensor& a = ctx.input(0);
      const Tensor& b = ctx.input(1);
      bool ta = ctx.attr_or<bool>("transpose_a", false), tb = ctx.attr_or<bool>("transpose_b", false);
      MatmulDims md = matmul_dims(ctx, a, b, ta, tb);
      int64_t m = md.m, n = md.n, k = md.k, batch = md.batch;
      bool fold = md.fold;
      Tensor& o = ctx.allocate_output(0, a.dtype(), md.out);
      if (fold) {
        m *= batch;
        batch = 1;
      }
      auto run = [&](auto tag) {
        using T = decltype(tag);
        const T* pa = a.data<T>();
        const T* pb = b.data<T>();
        T* po = o.data<T>();
        if (k == 0) {
          std::fill(po, po + o.num_elements(), T(0));
          return;
        }
        int64_t sa = m * k, sb = fold ? 0 : k * n, so = m * n;
        if (m * n * k <= kSmallGemm) {
          for (int64_t i = 0; i < batch; ++i) small_gemm(ta, tb, m, n, k, pa + i * sa, pb + i * sb, po + i * so);
          return;
        }
        for (int64_t i = 0; i < batch; ++i) {
          if constexpr (std::is_floating_point_v<T>) {
            blas::gemm(&ctx.pool(), ta, tb, m, n, k, T(1), pa + i * sa, ta ? m : k, pb + i * sb, tb ? k : n, T(0), po + i * so, n);
          } else {
            for (int64_t r = 0; r < m; ++r)
              for (int64_t c = 0; c < n; ++c) {
                T acc = 0;
                for (int64_t j = 0; j < k; ++j) {
                  T x = ta ? pa[i * sa + j * m + r] : pa[i * sa + r * k + j];
                  T y = tb ? pb[i * sb + c * k + j] : pb[i * sb + j * n + c];
                  acc += x * y;
                }
                po[i * so + r * n + c] = acc;
              }
          }
        }
      };
      NESTOR_DISPATCH_NUMERIC(a.dtype(), "matmul", [&] { run(scalar_t{}); });
    });

// _fused_matmul(a, b, bias[, b_panels]; transpose_a, transpose_b, activation): act(op(a) op(b)
// + bias) in one kernel, float32, a and b 2-D. Not written by users: the CPU plan builder
// (exec/fuse.h) puts it in place of matmul -> bias_add [-> relu] chains. activation: "" or
// "relu". b_panels, given by the plan when b never changes (pack_constant_weights), is op(b)
// in the direct kernel's panel layout, used for batches of 1 to kPanelMaxRows rows.
// Above this many rows the BLAS (which packs B itself, once per call) is level with the panels.
constexpr int64_t kPanelMaxRows = 512;

NESTOR_OP("_fused_matmul")
    .shape([](ShapeCtx& c) {
      c.expect_inputs(3);
      if (c.dtype(0) != DType::kFloat32) c.fail("_fused_matmul is float32 only, got ", dtype_name(c.dtype(0)));
      c.expect_same_dtype(0, 2);
      c.expect_rank(2, 1);
      std::string act = c.attr_or<std::string>("activation", "");
      if (act != "" && act != "relu") c.fail("activation must be \"\" or \"relu\", got \"", act, "\"");
      matmul_shape(c);
    })
    .cpu([](KernelCtx& ctx) {
      const Tensor& a = ctx.input(0);
      const Tensor& b = ctx.input(1);
      const Tensor& bias = ctx.input(2);
      bool ta = ctx.attr_or<bool>("transpose_a", false), tb = ctx.attr_or<bool>("transpose_b", false);
      if (a.rank() != 2 || b.rank() != 2)
        ctx.fail(Code::kInvalidArgument, "inputs must be 2-D, got shapes ", dims_str(a.dims()), " and ",
                 dims_str(b.dims()));
      MatmulDims md = matmul_dims(ctx, a, b, ta, tb);
      if (bias.rank() != 1 || bias.dim(0) != md.n)
        ctx.fail(Code::kInvalidArgument, "bias of shape ", dims_str(bias.dims()), " does not match the ", md.n,
                 " columns of the product");
      Tensor& o = ctx.allocate_output(0, DType::kFloat32, md.out);
      // Read in place: this runs every step, and attr_or would copy the string.
      const std::string* name = std::get_if<std::string>(ctx.node().attrs.find("activation"));
      blas::Epilogue act = name != nullptr && *name == "relu" ? blas::Epilogue::kRelu : blas::Epilogue::kNone;
      if (ctx.num_inputs() == 4 && md.m >= 1 && md.m <= kPanelMaxRows) {
        const Tensor& panels = ctx.input(3);
        if (panels.num_elements() != blas::b_panels_size(md.k, md.n))
          ctx.fail(Code::kInternal, "weight panels of ", panels.num_elements(), " floats for a ", md.k, "x", md.n,
                   " operand");
        if (blas::direct_sgemm_panels(&ctx.pool(), ta, md.m, md.n, md.k, a.data<float>(), ta ? md.m : md.k,
                                      panels.data<float>(), bias.data<float>(), act, o.data<float>(), md.n))
          return;
      }
      blas::gemm_bias_act(&ctx.pool(), ta, tb, md.m, md.n, md.k, a.data<float>(), ta ? md.m : md.k, b.data<float>(),
                          tb ? md.k : md.n, bias.data<float>(), act, o.data<float>(), md.n);
    });

}  // namespace
}  // namespace nestor
