#include "direct_gemm.h"

#include <immintrin.h>

#include <algorithm>
#include <vector>

#include "nestor/threadpool.h"

// The kernels are compiled for AVX2+FMA through function attributes, so the library itself
// keeps the baseline x86-64 flags and runs anywhere; direct_sgemm checks the CPU first.
#define NESTOR_AVX2 __attribute__((target("avx2,fma")))

namespace nestor {
namespace blas {
namespace {

constexpr int kMR = 6;   // rows of C per tile: 6 x 2 accumulators + 2 B vectors + 1 A broadcast = 15 ymm
constexpr int kNR = 16;  // columns of C per tile (two 8-float vectors)

// Lanes [0, cols) set, cols in [0, 8].
NESTOR_AVX2 inline __m256i lane_mask(int cols) {
  alignas(32) static const int32_t bits[16] = {-1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0};
  return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(bits + 8 - cols));
}

// The first n lanes of x to dst (nothing when n <= 0, all 8 from n >= 8). Masked stores are
// slow on AMD Zen (a micro-coded lane loop), so the tail goes out in 4-, 2- and 1-lane pieces.
NESTOR_AVX2 inline void store_lanes(float* dst, __m256 x, int n) {
  if (n >= 8) {
    _mm256_storeu_ps(dst, x);
    return;
  }
  __m128 h = _mm256_castps256_ps128(x);
  if (n & 4) {
    _mm_storeu_ps(dst, h);
    h = _mm256_extractf128_ps(x, 1);
    dst += 4;
  }
  if (n & 2) {
    _mm_storel_pi(reinterpret_cast<__m64*>(dst), h);
    h = _mm_movehl_ps(h, h);
    dst += 2;
  }
  if (n & 1) _mm_store_ss(dst, h);
}

struct Operands {
  const float* a;
  int64_t lda;
  const float* b;  // op(B) as [k, n] rows (B^T is packed before the kernels run)
  int64_t ldb;
  const float* bias;
  bool relu;
  float* c;
  int64_t ldc;
  int64_t k;
  bool b_panels = false;  // b holds op(B) as 16-column panels (pack_b_panels), ldb unused
};

// C[i0 : i0 + MR, j0 : j0 + cols] for cols <= 8 * NV; MASK when cols < 8 * NV. A row r of
// op(A) is a[r * lda + p] (TA false) or a[p * lda + r] (TA true).
template <bool TA, int MR, int NV, bool MASK>
NESTOR_AVX2 void tile(const Operands& o, int64_t i0, int64_t j0, int cols) {
  __m256 acc[MR][NV];
  __m256i mask[NV];
#pragma GCC unroll 2
  for (int v = 0; v < NV; ++v) {
    if (MASK) mask[v] = lane_mask(std::min(8, std::max(0, cols - 8 * v)));
#pragma GCC unroll 6
    for (int r = 0; r < MR; ++r) acc[r][v] = _mm256_setzero_ps();
  }
  const float* a = TA ? o.a + i0 : o.a + i0 * o.lda;
  const float* b = o.b + j0;
  // Unrolled 4 steps deep: the same instructions a step, but a quarter of the loop tests,
  // and 1-5% less time at the MLP's batch-64 shapes, measured interleaved with the rolled loop.
#pragma GCC unroll 4
  for (int64_t p = 0; p < o.k; ++p) {
    __m256 bv[NV];
#pragma GCC unroll 2
    for (int v = 0; v < NV; ++v)
      bv[v] = MASK ? _mm256_maskload_ps(b + 8 * v, mask[v]) : _mm256_loadu_ps(b + 8 * v);
#pragma GCC unroll 6
    for (int r = 0; r < MR; ++r) {
      __m256 av = _mm256_broadcast_ss(TA ? a + r : a + r * o.lda);
#pragma GCC unroll 2
      for (int v = 0; v < NV; ++v) acc[r][v] = _mm256_fmadd_ps(av, bv[v], acc[r][v]);
    }
    a += TA ? o.lda : 1;
    b += o.ldb;
  }
  __m256 bias[NV];
#pragma GCC unroll 2
  for (int v = 0; v < NV; ++v)
    bias[v] = o.bias == nullptr ? _mm256_setzero_ps()
              : MASK              ? _mm256_maskload_ps(o.bias + j0 + 8 * v, mask[v])
                                  : _mm256_loadu_ps(o.bias + j0 + 8 * v);
  const __m256 zero = _mm256_setzero_ps();
#pragma GCC unroll 6
  for (int r = 0; r < MR; ++r) {
    float* c = o.c + (i0 + r) * o.ldc + j0;
#pragma GCC unroll 2
    for (int v = 0; v < NV; ++v) {
      __m256 x = _mm256_add_ps(acc[r][v], bias[v]);
      if (o.relu) x = _mm256_max_ps(x, zero);
      if (MASK) store_lanes(c + 8 * v, x, cols - 8 * v);
      else _mm256_storeu_ps(c + 8 * v, x);
    }
  }
}

// Rows [i0, i1) of one column tile, MR rows at a time and the remainder in one smaller tile.
template <bool TA, int NV, bool MASK>
NESTOR_AVX2 void column_tile(const Operands& o, int64_t i0, int64_t i1, int64_t j0, int cols) {
  int64_t i = i0;
  for (; i + kMR <= i1; i += kMR) tile<TA, kMR, NV, MASK>(o, i, j0, cols);
  switch (i1 - i) {
    case 1: tile<TA, 1, NV, MASK>(o, i, j0, cols); break;
    case 2: tile<TA, 2, NV, MASK>(o, i, j0, cols); break;
    case 3: tile<TA, 3, NV, MASK>(o, i, j0, cols); break;
    case 4: tile<TA, 4, NV, MASK>(o, i, j0, cols); break;
    case 5: tile<TA, 5, NV, MASK>(o, i, j0, cols); break;
    default: break;
  }
}

// C[i0 : i1, j0 : j1]: column tiles outermost, so a k x 16 strip of B stays in L1 while the
// row blocks stream past it.
// When B's rows are far apart (ldb of a kilobyte or more, a multiple of the 4 KiB page in the
// worst case) the strip's lines fall into a few L1 sets and evict each other; with enough row
// blocks to share it, the strip is first copied into a contiguous k x 16 buffer.
template <bool TA>
NESTOR_AVX2 void block(const Operands& o, int64_t i0, int64_t i1, int64_t j0, int64_t j1) {
  const bool pack = !o.b_panels && o.ldb >= 256 && i1 - i0 >= 4 * kMR;
  thread_local std::vector<float> strip;
  if (pack) strip.resize(static_cast<size_t>(o.k * kNR));
  for (int64_t j = j0; j < j1; j += kNR) {
    int cols = static_cast<int>(std::min<int64_t>(kNR, j1 - j));
    Operands t = o;
    int64_t jt = j;
    if (o.b_panels) {  // the panel of columns [j, j + 16): k rows of 16, zero-padded
      t.b = o.b + (j / kNR) * o.k * kNR;
      t.ldb = kNR;
      t.bias = o.bias != nullptr ? o.bias + j : nullptr;
      t.c = o.c + j;
      jt = 0;
    } else if (pack) {
      float* dst = strip.data();
      const float* src = o.b + j;
      if (cols == kNR) {
        for (int64_t p = 0; p < o.k; ++p, dst += kNR, src += o.ldb) {
          _mm256_storeu_ps(dst, _mm256_loadu_ps(src));
          _mm256_storeu_ps(dst + 8, _mm256_loadu_ps(src + 8));
        }
      } else {
        for (int64_t p = 0; p < o.k; ++p, dst += kNR, src += o.ldb) std::copy(src, src + cols, dst);
      }
      t.b = strip.data();
      t.ldb = kNR;
      t.bias = o.bias != nullptr ? o.bias + j : nullptr;
      t.c = o.c + j;
      jt = 0;
    }
    if (cols == kNR) column_tile<TA, 2, false>(t, i0, i1, jt, cols);
    else if (cols > 8) column_tile<TA, 2, true>(t, i0, i1, jt, cols);
    else if (cols == 8) column_tile<TA, 1, false>(t, i0, i1, jt, cols);
    else column_tile<TA, 1, true>(t, i0, i1, jt, cols);
  }
}

bool cpu_has_avx2_fma() {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}

// Below this many multiply-adds a product runs on one thread.
constexpr double kThreaded = 2.0e6;

}  // namespace

bool direct_sgemm_available() {
  static const bool ok = cpu_has_avx2_fma();
  return ok;
}

bool direct_sgemm_pays(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k) {
  if (m <= 0 || n <= 0 || k <= 0) return false;
  // One row or one column is a matrix-vector product: the BLAS's gemv streams the matrix
  // row by row (split over the pool by the caller), where the tiles here would walk it in
  // 16-column strips, one cache line per row each (2x slower at batch 1 of a 1024-wide MLP).
  if (m == 1 || n == 1) return false;
  if (trans_b && k * n > (1 << 16)) return false;  // B^T is packed first: keep that copy in L2
  double macs = static_cast<double>(m) * static_cast<double>(n) * static_cast<double>(k);
  // Measured on AVX2 (Zen 2): up to ~1e6 multiply-adds this kernel beats OpenBLAS on every
  // layout (1.2-3x on the [256, 4..30] products of a small DNN); plain products stay level
  // with it up to ~8e6 on one thread and are split over the pool, where OpenBLAS runs one
  // thread. Larger ones, and transposed ones, need BLAS-style cache blocking.
  if (macs <= 1.0e6) return true;
  if (trans_a || trans_b) return false;
  // A short inner dimension (the first layer of a network on 100 features) leaves OpenBLAS
  // little work per packed panel to share between threads: measured over m = 256..4096,
  // n = 256..4096, k = 32..128 on Zen 3 with 2 threads, this kernel was level with it at
  // m = 4096 and 5-30% faster elsewhere (1000x100x1024: 113-135 against 80-123 GFLOP/s).
  // From k = 200 the BLAS's cache blocking wins.
  return macs <= 8.0e6 || k <= 128;
}

namespace {

// Runs the tiles of `o` (op(B) already in row or panel form), split over the pool.
void run_tiles(ThreadPool* pool, bool trans_a, int64_t m, int64_t n, const Operands& o) {
  auto run = [&](int64_t i0, int64_t i1, int64_t j0, int64_t j1) {
    if (trans_a) block<true>(o, i0, i1, j0, j1);
    else block<false>(o, i0, i1, j0, j1);
  };
  double macs = static_cast<double>(m) * static_cast<double>(n) * static_cast<double>(o.k);
  if (pool == nullptr || pool->num_threads() == 1 || macs < kThreaded) {
    run(0, m, 0, n);
    return;
  }
  // Split the longer side: row blocks of kMR, or column tiles of kNR.
  int64_t row_blocks = (m + kMR - 1) / kMR, col_tiles = (n + kNR - 1) / kNR;
  if (row_blocks >= col_tiles) {
    pool->parallel_for(row_blocks, 1, [&](int64_t b0, int64_t e0) {
      run(b0 * kMR, std::min(m, e0 * kMR), 0, n);
    });
  } else {
    pool->parallel_for(col_tiles, 1, [&](int64_t b0, int64_t e0) {
      run(0, m, b0 * kNR, std::min(n, e0 * kNR));
    });
  }
}

}  // namespace

bool direct_sgemm(ThreadPool* pool, bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, const float* a,
                  int64_t lda, const float* b, int64_t ldb, const float* bias, Epilogue act, float* c, int64_t ldc) {
  if (!direct_sgemm_available()) return false;
  thread_local std::vector<float> packed;
  if (trans_b) {  // op(B)[p, j] = b[j * ldb + p]: packed once as [k, n] rows
    packed.resize(static_cast<size_t>(k * n));
    for (int64_t j = 0; j < n; ++j)
      for (int64_t p = 0; p < k; ++p) packed[static_cast<size_t>(p * n + j)] = b[j * ldb + p];
    b = packed.data();
    ldb = n;
  }
  run_tiles(pool, trans_a, m, n, Operands{a, lda, b, ldb, bias, act == Epilogue::kRelu, c, ldc, k});
  return true;
}

int64_t b_panels_size(int64_t k, int64_t n) { return (n + kNR - 1) / kNR * k * kNR; }

void pack_b_panels(bool trans_b, int64_t k, int64_t n, const float* b, int64_t ldb, float* out) {
  for (int64_t j0 = 0; j0 < n; j0 += kNR) {
    const int64_t cols = std::min<int64_t>(kNR, n - j0);
    for (int64_t p = 0; p < k; ++p, out += kNR) {
      for (int64_t j = 0; j < cols; ++j) out[j] = trans_b ? b[(j0 + j) * ldb + p] : b[p * ldb + j0 + j];
      std::fill(out + cols, out + kNR, 0.0f);
    }
  }
}

namespace {

// c[0, cols) = act(a . panel + bias) for one row a (element p at a[p * sa]) and one 16-column
// panel (k rows of 16 floats, contiguous): the panel is streamed once, front to back, with
// four pairs of accumulators so that the FMAs' latency hides behind the loads.
NESTOR_AVX2 void gemv_panel(const float* a, int64_t sa, int64_t k, const float* panel, const float* bias, bool relu,
                            float* c, int cols) {
  __m256 s[8];
#pragma GCC unroll 8
  for (int v = 0; v < 8; ++v) s[v] = _mm256_setzero_ps();
  const float* w = panel;
  int64_t p = 0;
  for (; p + 4 <= k; p += 4, w += 4 * kNR) {
#pragma GCC unroll 4
    for (int q = 0; q < 4; ++q) {
      __m256 av = _mm256_broadcast_ss(a + (p + q) * sa);
      s[2 * q] = _mm256_fmadd_ps(av, _mm256_loadu_ps(w + q * kNR), s[2 * q]);
      s[2 * q + 1] = _mm256_fmadd_ps(av, _mm256_loadu_ps(w + q * kNR + 8), s[2 * q + 1]);
    }
  }
  for (; p < k; ++p, w += kNR) {
    __m256 av = _mm256_broadcast_ss(a + p * sa);
    s[0] = _mm256_fmadd_ps(av, _mm256_loadu_ps(w), s[0]);
    s[1] = _mm256_fmadd_ps(av, _mm256_loadu_ps(w + 8), s[1]);
  }
  __m256 x[2] = {_mm256_add_ps(_mm256_add_ps(s[0], s[2]), _mm256_add_ps(s[4], s[6])),
                 _mm256_add_ps(_mm256_add_ps(s[1], s[3]), _mm256_add_ps(s[5], s[7]))};
  const __m256 zero = _mm256_setzero_ps();
#pragma GCC unroll 2
  for (int v = 0; v < 2; ++v) {
    const int lanes = std::min(8, std::max(0, cols - 8 * v));
    if (lanes == 0) break;
    if (bias != nullptr)
      x[v] = _mm256_add_ps(x[v], lanes == 8 ? _mm256_loadu_ps(bias + 8 * v)
                                            : _mm256_maskload_ps(bias + 8 * v, lane_mask(lanes)));
    if (relu) x[v] = _mm256_max_ps(x[v], zero);
    store_lanes(c + 8 * v, x[v], lanes);
  }
}

// Batch-1 products of at least this many multiply-adds split their panels over the pool.
// Each part streams its own contiguous share of the weights, so two cores read them faster
// than one: the batch-1 MLP 100-1024-512-256-10 served through the C API on a 2-core Zen VM
// takes 54-58 us p50 on one thread and 33-42 us on two (benchmarks/serving.py).
constexpr int64_t kSplitPanelGemv = int64_t{1} << 15;

}  // namespace

bool direct_sgemm_panels(ThreadPool* pool, bool trans_a, int64_t m, int64_t n, int64_t k, const float* a,
                         int64_t lda, const float* panels, const float* bias, Epilogue act, float* c, int64_t ldc) {
  if (!direct_sgemm_available()) return false;
  if (m == 1) {
    const int64_t sa = trans_a ? lda : 1, num_panels = (n + kNR - 1) / kNR;
    auto part = [&](int64_t p0, int64_t p1) {
      for (int64_t q = p0; q < p1; ++q)
        gemv_panel(a, sa, k, panels + q * k * kNR, bias != nullptr ? bias + q * kNR : nullptr,
                   act == Epilogue::kRelu, c + q * kNR, static_cast<int>(std::min<int64_t>(kNR, n - q * kNR)));
    };
    if (pool == nullptr || pool->num_threads() == 1 || k * n < kSplitPanelGemv) part(0, num_panels);
    else pool->parallel_for(num_panels, 1, part);
    return true;
  }
  Operands o{a, lda, panels, kNR, bias, act == Epilogue::kRelu, c, ldc, k};
  o.b_panels = true;
  run_tiles(pool, trans_a, m, n, o);
  return true;
}

}  // namespace blas
}  // namespace nestor
