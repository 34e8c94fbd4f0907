#include "blas.h"

#include <algorithm>
#include <atomic>
#include <thread>
#include <vector>

#include "nestor/threadpool.h"

#ifndef NESTOR_BLAS_PREFIX
#define NESTOR_BLAS_PREFIX scipy_
#endif
#define NESTOR_BLAS_CAT2(a, b) a##b
#define NESTOR_BLAS_CAT(a, b) NESTOR_BLAS_CAT2(a, b)
#define NESTOR_BLAS(name) NESTOR_BLAS_CAT(NESTOR_BLAS_PREFIX, name)

// CBLAS enums are passed as int: RowMajor = 101, NoTrans = 111, Trans = 112.
extern "C" {
void NESTOR_BLAS(cblas_sgemm)(int, int, int, int, int, int, float, const float*, int, const float*, int, float,
                              float*, int);
void NESTOR_BLAS(cblas_dgemm)(int, int, int, int, int, int, double, const double*, int, const double*, int, double,
                              double*, int);
void NESTOR_BLAS(cblas_sgemv)(int, int, int, int, float, const float*, int, const float*, int, float, float*, int);
void NESTOR_BLAS(cblas_dgemv)(int, int, int, int, double, const double*, int, const double*, int, double, double*,
                              int);
void NESTOR_BLAS(openblas_set_num_threads)(int);
// OpenBLAS >= 0.3.27 runs its threaded kernels through a caller-supplied callback when one is
// set. Weak, so a BLAS without it still links (and keeps its own threads).
typedef void (*nestor_blas_dojob)(int thread_num, void* jobdata, int dojob_data);
typedef void (*nestor_blas_threads)(int sync, nestor_blas_dojob dojob, int numjobs, size_t jobdata_elsize,
                                    void* jobdata, int dojob_data);
void NESTOR_BLAS(openblas_set_threads_callback_function)(nestor_blas_threads) __attribute__((weak));
}

namespace nestor {
namespace blas {

namespace {

thread_local ThreadPool* tls_pool = nullptr;

// OpenBLAS's threaded GEMM splits a product into `numjobs` parts that wait on each other's
// packed panels, so the parts must all run at once. They run on the calling kernel's session
// pool (no second set of BLAS threads spinning beside ours between products); when that pool
// cannot take them all (nested call, fewer threads, no pool), extra threads are started.
void run_blas_jobs(int /*sync*/, nestor_blas_dojob dojob, int numjobs, size_t elsize, void* jobdata,
                   int dojob_data) {
  char* base = static_cast<char*>(jobdata);
  auto one = [&](int64_t i) { dojob(static_cast<int>(i), base + static_cast<size_t>(i) * elsize, dojob_data); };
  if (numjobs <= 1) {
    if (numjobs == 1) one(0);
    return;
  }
  if (tls_pool != nullptr &&
      tls_pool->try_run_concurrently(numjobs, [&](int64_t b, int64_t e) {
        for (int64_t i = b; i < e; ++i) one(i);
      }))
    return;
  std::vector<std::thread> extra;
  extra.reserve(static_cast<size_t>(numjobs - 1));
  for (int i = 1; i < numjobs; ++i) extra.emplace_back(one, i);
  one(0);
  for (auto& t : extra) t.join();
}

// Installed when libnestor loads, before any BLAS call from it (OpenBLAS asks for that).
const bool callback_installed = [] {
  if (NESTOR_BLAS(openblas_set_threads_callback_function) == nullptr) return false;
  NESTOR_BLAS(openblas_set_threads_callback_function)(run_blas_jobs);
  return true;
}();

// OpenBLAS's thread count is one global. Products below kThreadedGemm multiply-adds run on one
// thread (the hand-off costs more than it saves); larger ones on the caller's pool.
constexpr double kThreadedGemm = 8.0e6;

void use_blas_threads(int want) {
  static std::atomic<int> current{-1};
  if (current.load(std::memory_order_relaxed) != want) {
    NESTOR_BLAS(openblas_set_num_threads)(want);
    current.store(want, std::memory_order_relaxed);
  }
}

// A product with one row or one column as a matrix-vector product: OpenBLAS's gemm packs the
// whole other operand first (about half the time of a batch-1 MLP layer), gemv streams it once.
// The output vector is cut into contiguous ranges that run on the pool, each streaming its own
// rows or columns of the matrix (OpenBLAS's own gemv threading does not use the pool).
template <typename T, typename Gemv>
bool as_gemv(ThreadPool* pool, Gemv gemv, bool ta, bool tb, int64_t m, int64_t n, int64_t k, T alpha, const T* a,
             int64_t lda, const T* b, int64_t ldb, T beta, T* c, int64_t ldc) {
  if (k == 0 || (m != 1 && n != 1)) return false;  // k == 0: gemv would skip C = beta * C
  const int K = static_cast<int>(k);
  const int LDA = static_cast<int>(lda), LDB = static_cast<int>(ldb), LDC = static_cast<int>(ldc);
  int64_t len = m == 1 ? n : m;  // the output vector
  auto part = [&](int64_t j0, int64_t j1) {
    const int L = static_cast<int>(j1 - j0);
    if (m == 1) {  // c[0, j] = sum_p op(a)[0, p] op(b)[p, j]; op(b) is k x n
      int inc_a = ta ? LDA : 1;
      if (tb) gemv(101, 111, L, K, alpha, b + j0 * ldb, LDB, a, inc_a, beta, c + j0, 1);
      else gemv(101, 112, K, L, alpha, b + j0, LDB, a, inc_a, beta, c + j0, 1);
    } else {  // c[i, 0] = sum_p op(a)[i, p] op(b)[p, 0]; op(a) is m x k
      int inc_b = tb ? 1 : LDB;
      if (ta) gemv(101, 112, K, L, alpha, a + j0, LDA, b, inc_b, beta, c + j0 * ldc, LDC);
      else gemv(101, 111, L, K, alpha, a + j0 * lda, LDA, b, inc_b, beta, c + j0 * ldc, LDC);
    }
  };
  use_blas_threads(1);
  if (pool == nullptr || pool->num_threads() == 1 || len * k < kSplitGemv) {
    part(0, len);
    return true;
  }
  int64_t grain = std::max<int64_t>(16, (kSplitGemv / 2 / k + 15) / 16 * 16);
  pool->parallel_for((len + 15) / 16, (grain + 15) / 16, [&](int64_t b0, int64_t e0) {
    part(b0 * 16, std::min(len, e0 * 16));
  });
  return true;
}

template <typename T, typename Gemm, typename Gemv>
void gemm_impl(ThreadPool* pool, Gemm gemm, Gemv gemv, bool ta, bool tb, int64_t m, int64_t n, int64_t k, T alpha,
               const T* a, int64_t lda, const T* b, int64_t ldb, T beta, T* c, int64_t ldc) {
  if (as_gemv(pool, gemv, ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)) return;
  double macs = static_cast<double>(m) * static_cast<double>(n) * static_cast<double>(k);
  use_blas_threads(pool != nullptr && macs >= kThreadedGemm ? pool->num_threads() : 1);
  ThreadPool* outer = tls_pool;
  tls_pool = pool;  // where run_blas_jobs puts OpenBLAS's parts
  gemm(101, ta ? 112 : 111, tb ? 112 : 111, static_cast<int>(m), static_cast<int>(n), static_cast<int>(k), alpha, a,
       static_cast<int>(lda), b, static_cast<int>(ldb), beta, c, static_cast<int>(ldc));
  tls_pool = outer;
}

}  // namespace

void gemm(ThreadPool* pool, bool ta, bool tb, int64_t m, int64_t n, int64_t k, float alpha, const float* a,
          int64_t lda, const float* b, int64_t ldb, float beta, float* c, int64_t ldc) {
  if (alpha == 1.0f && beta == 0.0f) {
    gemm_bias_act(pool, ta, tb, m, n, k, a, lda, b, ldb, nullptr, Epilogue::kNone, c, ldc);
    return;
  }
  gemm_impl(pool, NESTOR_BLAS(cblas_sgemm), NESTOR_BLAS(cblas_sgemv), ta, tb, m, n, k, alpha, a, lda, b, ldb, beta,
            c, ldc);
}

void gemm(ThreadPool* pool, bool ta, bool tb, int64_t m, int64_t n, int64_t k, double alpha, const double* a,
          int64_t lda, const double* b, int64_t ldb, double beta, double* c, int64_t ldc) {
  gemm_impl(pool, NESTOR_BLAS(cblas_dgemm), NESTOR_BLAS(cblas_dgemv), ta, tb, m, n, k, alpha, a, lda, b, ldb, beta,
            c, ldc);
}

bool uses_caller_threads() { return callback_installed; }

void gemm_bias_act(ThreadPool* pool, bool ta, bool tb, int64_t m, int64_t n, int64_t k, const float* a,
                   int64_t lda, const float* b, int64_t ldb, const float* bias, Epilogue act, float* c,
                   int64_t ldc) {
  if (direct_sgemm_pays(ta, tb, m, n, k) && direct_sgemm(pool, ta, tb, m, n, k, a, lda, b, ldb, bias, act, c, ldc))
    return;
  // The passes over C run on the pool by rows, as the BLAS's parts do.
  auto by_rows = [&](auto&& fn) {
    auto rows = [&](int64_t r0, int64_t r1) {
      for (int64_t i = r0; i < r1; ++i) fn(c + i * ldc);
    };
    if (pool == nullptr) rows(0, m);
    else pool->parallel_for(m, std::max<int64_t>(1, (1 << 15) / std::max<int64_t>(n, 1)), rows);
  };
  float beta = 0.0f;
  if (bias != nullptr) {
    by_rows([&](float* ci) { std::copy(bias, bias + n, ci); });
    beta = 1.0f;
  }
  gemm_impl(pool, NESTOR_BLAS(cblas_sgemm), NESTOR_BLAS(cblas_sgemv), ta, tb, m, n, k, 1.0f, a, lda, b, ldb, beta,
            c, ldc);
  if (act == Epilogue::kRelu)
    by_rows([&](float* ci) {
      for (int64_t j = 0; j < n; ++j) ci[j] = ci[j] > 0.0f ? ci[j] : 0.0f;
    });
}

}  // namespace blas
}  // namespace nestor
