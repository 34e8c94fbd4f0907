// CUDA kernels for cpp/src/ops/matmul.cc: cuBLAS GEMM (float32/float64; TF32 only when
// nestor::allow_tf32()), strided-batched for rank >= 3, a's leading dims folded into rows
// when b is 2-D. Row-major C = op(A) op(B) is computed as column-major C^T = op(B)^T op(A)^T.
//
// _fused_matmul (placed by exec/fuse.h in place of matmul -> bias_add [-> relu] on the GPU):
// one cuBLASLt matmul with the BIAS / RELU_BIAS epilogue; falls back to the cuBLAS GEMM and
// one bias(+relu) pass where cuBLASLt offers no algorithm (e.g. a misaligned bias).
#include <climits>
#include <cstdint>
#include <cstdlib>
#include <map>
#include <memory>
#include <string>
#include <tuple>
#include <variant>

#include "kernels/common.cuh"
#include "ops/shape_util.h"

namespace nestor {
namespace cuda {
namespace {

template <typename T>
__global__ void zero_kernel(T* p, int64_t n) {
  NESTOR_GRID_STRIDE(i, n) p[i] = T(0);
}

cublasStatus_t gemm(cublasHandle_t h, bool ta, bool tb, int m, int n, int k, const float* a, const float* b,
                    float* c, long long sa, long long sb, long long sc, int batch) {
  const float one = 1.0f, zero = 0.0f;
  return cublasSgemmStridedBatched(h, tb ? CUBLAS_OP_T : CUBLAS_OP_N, ta ? CUBLAS_OP_T : CUBLAS_OP_N, n, m, k, &one,
                                   b, tb ? k : n, sb, a, ta ? m : k, sa, &zero, c, n, sc, batch);
}
cublasStatus_t gemm(cublasHandle_t h, bool ta, bool tb, int m, int n, int k, const double* a, const double* b,
                    double* c, long long sa, long long sb, long long sc, int batch) {
  const double one = 1.0, zero = 0.0;
  return cublasDgemmStridedBatched(h, tb ? CUBLAS_OP_T : CUBLAS_OP_N, ta ? CUBLAS_OP_T : CUBLAS_OP_N, n, m, k, &one,
                                   b, tb ? k : n, sb, a, ta ? m : k, sa, &zero, c, n, sc, batch);
}

const KernelPlacementRegistrar matmul_place("matmul", DeviceType::kCuda,
                                            KernelPlacement{{}, {}, [](const Node& n) { return is_floating(n.out_dtypes[0]); }});

NESTOR_REGISTER_KERNEL("matmul", DeviceType::kCuda, ([](KernelCtx& ctx) {
  const Tensor& a = ctx.input(0);
  const Tensor& b = ctx.input(1);
  bool ta = ctx.attr_or<bool>("transpose_a", false), tb = ctx.attr_or<bool>("transpose_b", false);
  MatmulDims md = matmul_dims(ctx, a, b, ta, tb);
  int64_t m = md.m, n = md.n, k = md.k, batch = md.batch;
  bool fold = md.fold;
  CudaBackend& be = CudaBackend::of(ctx);
  Tensor& o = ctx.allocate_output(0, a.dtype(), md.out);
  if (fold) {
    m *= batch;
    batch = 1;
  }
  if (o.num_elements() == 0) return;
  if (m > INT_MAX || n > INT_MAX || k > INT_MAX || batch > INT_MAX)
    ctx.fail(Code::kUnimplemented, "matmul dimensions above 2^31 - 1 are not supported on CUDA: ",
             dims_str(a.dims()), " x ", dims_str(b.dims()));
  NESTOR_DISPATCH_FLOAT(a.dtype(), "matmul", [&] {
    using T = scalar_t;
    if (k == 0) {
      zero_kernel<T><<<blocks_for(o.num_elements()), kThreads, 0, be.stream()>>>(o.data<T>(), o.num_elements());
      NESTOR_CUDA_CHECK_LAUNCH();
      return;
    }
    std::lock_guard<std::mutex> l(be.blas_mutex());
    NESTOR_CUBLAS_CHECK(gemm(be.cublas(), ta, tb, static_cast<int>(m), static_cast<int>(n), static_cast<int>(k),
                             a.data<T>(), b.data<T>(), o.data<T>(), m * k, fold ? 0 : k * n, m * n,
                             static_cast<int>(batch)));
  });
}));

// ---------------------------------------------------------------- _fused_matmul
// y = act(x + bias[i % n]) over a row-major [*, n] output; x null: the product is zero (k = 0).
__global__ void bias_act_kernel(const float* x, const float* bias, float* y, int64_t total, int64_t n, bool relu) {
  NESTOR_GRID_STRIDE(i, total) {
    const float v = (x != nullptr ? x[i] : 0.0f) + bias[i % n];
    y[i] = relu ? (v > 0.0f ? v : 0.0f) : v;  // the CPU's relu: NaN -> 0
  }
}

struct LtDeleter {
  void operator()(cublasLtMatmulDescOpaque_t* p) const { (void)cublasLtMatmulDescDestroy(p); }
  void operator()(cublasLtMatrixLayoutOpaque_t* p) const { (void)cublasLtMatrixLayoutDestroy(p); }
  void operator()(cublasLtMatmulPreferenceOpaque_t* p) const { (void)cublasLtMatmulPreferenceDestroy(p); }
};
using LtDesc = std::unique_ptr<cublasLtMatmulDescOpaque_t, LtDeleter>;
using LtLayout = std::unique_ptr<cublasLtMatrixLayoutOpaque_t, LtDeleter>;
using LtPref = std::unique_ptr<cublasLtMatmulPreferenceOpaque_t, LtDeleter>;

// The largest power of two (<= 256) dividing the address: cuBLASLt picks algorithms for
// the alignments it is told, so they are part of a plan's key.
uint32_t alignment_of(const void* p) {
  const auto a = reinterpret_cast<uintptr_t>(p);
  uint32_t al = 1;
  while (al < 256 && (a & (2 * static_cast<uintptr_t>(al) - 1)) == 0) al *= 2;
  return al;
}

// One shape of fused product on one device, with what cuBLASLt chose for it.
struct LtKey {
  int device;
  int64_t m, n, k;
  bool ta, tb, relu, tf32;
  uint32_t align_a, align_b, align_d, align_bias;
  bool operator<(const LtKey& o) const {
    return std::tie(device, m, n, k, ta, tb, relu, tf32, align_a, align_b, align_d, align_bias) <
           std::tie(o.device, o.m, o.n, o.k, o.ta, o.tb, o.relu, o.tf32, o.align_a, o.align_b, o.align_d, o.align_bias);
  }
};

struct LtPlan {
  LtDesc desc;
  LtLayout la, lb, ld;  // Lt's A (our b), Lt's B (our a), D (our output, also C)
  cublasLtMatmulAlgo_t algo{};
  size_t workspace = 0;
  bool usable = false;  // cuBLASLt returned an algorithm
};

constexpr size_t kMaxLtWorkspace = size_t(32) << 20;  // what cuBLAS suggests for sm_90

template <typename T>
bool lt_set(cublasLtMatmulDesc_t d, cublasLtMatmulDescAttributes_t attr, const T& v) {
  return cublasLtMatmulDescSetAttribute(d, attr, &v, sizeof(v)) == CUBLAS_STATUS_SUCCESS;
}

LtLayout lt_layout(uint64_t rows, uint64_t cols, int64_t ld) {
  cublasLtMatrixLayout_t l = nullptr;
  if (cublasLtMatrixLayoutCreate(&l, CUDA_R_32F, rows, cols, ld) != CUBLAS_STATUS_SUCCESS) return nullptr;
  return LtLayout(l);
}

// Row-major C[m, n] = op(a) op(b) + bias is column-major D[n, m] = op(b)^T op(a)^T + bias
// (bias: one value per row of D). Layouts describe memory: b row-major [k, n] is column-major
// [n, k] (ld n), transposed [n, k] is [k, n] (ld k); likewise a.
std::unique_ptr<LtPlan> make_lt_plan(cublasLtHandle_t h, const LtKey& key, const float* bias) {
  auto p = std::make_unique<LtPlan>();
  cublasLtMatmulDesc_t desc = nullptr;
  if (cublasLtMatmulDescCreate(&desc, key.tf32 ? CUBLAS_COMPUTE_32F_FAST_TF32 : CUBLAS_COMPUTE_32F, CUDA_R_32F) !=
      CUBLAS_STATUS_SUCCESS)
    return p;
  p->desc.reset(desc);
  const cublasOperation_t op_a = key.tb ? CUBLAS_OP_T : CUBLAS_OP_N, op_b = key.ta ? CUBLAS_OP_T : CUBLAS_OP_N;
  const cublasLtEpilogue_t epi = key.relu ? CUBLASLT_EPILOGUE_RELU_BIAS : CUBLASLT_EPILOGUE_BIAS;
  if (!lt_set(desc, CUBLASLT_MATMUL_DESC_TRANSA, op_a) || !lt_set(desc, CUBLASLT_MATMUL_DESC_TRANSB, op_b) ||
      !lt_set(desc, CUBLASLT_MATMUL_DESC_EPILOGUE, epi) || !lt_set(desc, CUBLASLT_MATMUL_DESC_BIAS_POINTER, bias))
    return p;
  const uint64_t m = static_cast<uint64_t>(key.m), n = static_cast<uint64_t>(key.n), k = static_cast<uint64_t>(key.k);
  p->la = key.tb ? lt_layout(k, n, key.k) : lt_layout(n, k, key.n);
  p->lb = key.ta ? lt_layout(m, k, key.m) : lt_layout(k, m, key.k);
  p->ld = lt_layout(n, m, key.n);
  if (!p->la || !p->lb || !p->ld) return p;
  cublasLtMatmulPreference_t pref_raw = nullptr;
  if (cublasLtMatmulPreferenceCreate(&pref_raw) != CUBLAS_STATUS_SUCCESS) return p;
  LtPref pref(pref_raw);
  auto set_pref = [&](cublasLtMatmulPreferenceAttributes_t attr, const auto& v) {
    return cublasLtMatmulPreferenceSetAttribute(pref_raw, attr, &v, sizeof(v)) == CUBLAS_STATUS_SUCCESS;
  };
  const uint64_t ws = kMaxLtWorkspace;
  if (!set_pref(CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, ws) ||
      !set_pref(CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES, key.align_b) ||  // Lt's A is our b
      !set_pref(CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_B_BYTES, key.align_a) ||
      !set_pref(CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_C_BYTES, key.align_d) ||
      !set_pref(CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_D_BYTES, key.align_d))
    return p;
  cublasLtMatmulHeuristicResult_t result{};
  int count = 0;
  if (cublasLtMatmulAlgoGetHeuristic(h, desc, p->la.get(), p->lb.get(), p->ld.get(), p->ld.get(), pref_raw, 1, &result,
                                     &count) != CUBLAS_STATUS_SUCCESS ||
      count < 1 || result.state != CUBLAS_STATUS_SUCCESS)
    return p;
  p->algo = result.algo;
  p->workspace = result.workspaceSize;
  p->usable = true;
  return p;
}

// The plans of all devices; a device's plans are used under its backend's blas_mutex().
class LtPlans {
 public:
  LtPlan& get(cublasLtHandle_t h, const LtKey& key, const float* bias) {
    std::lock_guard<std::mutex> l(mu_);
    auto it = plans_.find(key);
    if (it == plans_.end()) it = plans_.emplace(key, make_lt_plan(h, key, bias)).first;
    return *it->second;
  }

 private:
  std::mutex mu_;
  std::map<LtKey, std::unique_ptr<LtPlan>> plans_;
};

LtPlans& lt_plans() {
  static LtPlans plans;
  return plans;
}

// The epilogue needs a 16-byte aligned bias (8 on some architectures: 16 is safe on all).
constexpr uint32_t kBiasAlignment = 16;

// NESTOR_CUDA_EPILOGUE=0 in the environment turns the cuBLASLt path off (the fallback then
// runs every fused product): for the parity tests of the fallback and for triage. Read per
// call, so a test can flip it.
bool epilogue_enabled() {
  const char* e = std::getenv("NESTOR_CUDA_EPILOGUE");
  return e == nullptr || std::string(e) != "0";
}

// _fused_matmul(a, b, bias; transpose_a, transpose_b, activation) = act(op(a) op(b) + bias),
// float32, a and b 2-D. The CPU's optional fourth input (pre-packed weight panels) is a CPU
// plan constant and never reaches this kernel.
NESTOR_REGISTER_KERNEL("_fused_matmul", DeviceType::kCuda, ([](KernelCtx& ctx) {
  if (ctx.num_inputs() != 3)
    ctx.fail(Code::kInternal, "_fused_matmul on CUDA takes 3 inputs (a, b, bias), got ", ctx.num_inputs());
  const Tensor& a = ctx.input(0);
  const Tensor& b = ctx.input(1);
  const Tensor& bias = ctx.input(2);
  const bool ta = ctx.attr_or<bool>("transpose_a", false), tb = ctx.attr_or<bool>("transpose_b", false);
  if (a.rank() != 2 || b.rank() != 2)
    ctx.fail(Code::kInvalidArgument, "inputs must be 2-D, got shapes ", dims_str(a.dims()), " and ",
             dims_str(b.dims()));
  if (a.dtype() != DType::kFloat32 || b.dtype() != DType::kFloat32 || bias.dtype() != DType::kFloat32)
    ctx.fail(Code::kInvalidArgument, "_fused_matmul is float32 only, got ", dtype_name(a.dtype()));
  MatmulDims md = matmul_dims(ctx, a, b, ta, tb);
  if (bias.rank() != 1 || bias.dim(0) != md.n)
    ctx.fail(Code::kInvalidArgument, "bias of shape ", dims_str(bias.dims()), " does not match the ", md.n,
             " columns of the product");
  const std::string* name = std::get_if<std::string>(ctx.node().attrs.find("activation"));
  const bool relu = name != nullptr && *name == "relu";
  CudaBackend& be = CudaBackend::of(ctx);
  Tensor& o = ctx.allocate_output(0, DType::kFloat32, md.out);
  const int64_t m = md.m, n = md.n, k = md.k, total = o.num_elements();
  if (total == 0) return;
  if (m > INT_MAX || n > INT_MAX || k > INT_MAX)
    ctx.fail(Code::kUnimplemented, "matmul dimensions above 2^31 - 1 are not supported on CUDA: ",
             dims_str(a.dims()), " x ", dims_str(b.dims()));
  const float* pbias = bias.data<float>();
  float* po = o.data<float>();
  auto bias_act = [&](const float* x) {
    bias_act_kernel<<<blocks_for(total), kThreads, 0, be.stream()>>>(x, pbias, po, total, n, relu);
    NESTOR_CUDA_CHECK_LAUNCH();
  };
  if (k == 0) {  // an empty sum: the output is act(bias)
    bias_act(nullptr);
    return;
  }
  std::lock_guard<std::mutex> l(be.blas_mutex());
  if (alignment_of(pbias) >= kBiasAlignment && epilogue_enabled()) {
    const LtKey key{be.index(), m, n, k, ta, tb, relu, allow_tf32(), alignment_of(a.raw()), alignment_of(b.raw()),
                    alignment_of(po), alignment_of(pbias)};
    LtPlan& plan = lt_plans().get(be.cublaslt(), key, pbias);
    if (plan.usable) {
      NESTOR_CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(plan.desc.get(), CUBLASLT_MATMUL_DESC_BIAS_POINTER, &pbias,
                                                         sizeof(pbias)));
      Tensor workspace;  // stream-ordered: released to the cache once the matmul is queued
      if (plan.workspace > 0)
        workspace = Tensor::empty(DType::kFloat32, {static_cast<int64_t>((plan.workspace + 3) / 4)}, ctx.allocator());
      const float one = 1.0f, zero = 0.0f;
      const cublasStatus_t st =
          cublasLtMatmul(be.cublaslt(), plan.desc.get(), &one, b.data<float>(), plan.la.get(), a.data<float>(),
                         plan.lb.get(), &zero, po, plan.ld.get(), po, plan.ld.get(), &plan.algo,
                         plan.workspace > 0 ? workspace.raw() : nullptr, plan.workspace, be.stream());
      if (st == CUBLAS_STATUS_SUCCESS) return;
      if (st != CUBLAS_STATUS_NOT_SUPPORTED) fail_cublas(st, "cublasLtMatmul", __FILE__, __LINE__);
    }
  }
  // No epilogue for this case: the plain GEMM, then bias (+relu) in one pass over the output.
  NESTOR_CUBLAS_CHECK(gemm(be.cublas(), ta, tb, static_cast<int>(m), static_cast<int>(n), static_cast<int>(k),
                           a.data<float>(), b.data<float>(), po, m * k, k * n, m * n, 1));
  bias_act(po);
}));

}  // namespace
}  // namespace cuda
}  // namespace nestor
