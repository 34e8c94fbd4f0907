#include "blas.h"

#ifndef NESTOR_BLAS_PREFIX
#define NESTOR_BLAS_PREFIX scipy_
#endif
#define NESTOR_BLAS_CAT2(a, b) a##b
#define NESTOR_BLAS_CAT(a, b) NESTOR_BLAS_CAT2(a, b)
#define NESTOR_BLAS(name) NESTOR_BLAS_CAT(NESTOR_BLAS_PREFIX, name)
#define NESTOR_STR2(x) #x
#define NESTOR_STR(x) NESTOR_STR2(x)

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
}

namespace nestor {
namespace blas {

namespace {

// A product with one row or one column as a matrix-vector product: OpenBLAS's gemm packs the
// whole other operand first (about half the time of a batch-1 MLP layer), gemv streams it once.
template <typename T, typename Gemv>
bool as_gemv(Gemv gemv, bool ta, bool tb, int64_t m, int64_t n, int64_t k, T alpha, const T* a, int64_t lda,
             const T* b, int64_t ldb, T beta, T* c, int64_t ldc) {
  if (k == 0) return false;  // gemv would skip C = beta * C
  const int M = static_cast<int>(m), N = static_cast<int>(n), K = static_cast<int>(k);
  if (m == 1) {  // c[0, :] = op(b)^T op(a)[0, :]; op(b) is k x n
    int inc_a = ta ? static_cast<int>(lda) : 1;
    if (tb) gemv(101, 111, N, K, alpha, b, static_cast<int>(ldb), a, inc_a, beta, c, 1);
    else gemv(101, 112, K, N, alpha, b, static_cast<int>(ldb), a, inc_a, beta, c, 1);
    return true;
  }
  if (n == 1) {  // c[:, 0] = op(a) op(b)[:, 0]; op(a) is m x k
    int inc_b = tb ? 1 : static_cast<int>(ldb);
    if (ta) gemv(101, 112, K, M, alpha, a, static_cast<int>(lda), b, inc_b, beta, c, static_cast<int>(ldc));
    else gemv(101, 111, M, K, alpha, a, static_cast<int>(lda), b, inc_b, beta, c, static_cast<int>(ldc));
    return true;
  }
  return false;
}

}  // namespace

void gemm(bool ta, bool tb, int64_t m, int64_t n, int64_t k, float alpha, const float* a, int64_t lda,
          const float* b, int64_t ldb, float beta, float* c, int64_t ldc) {
  if (as_gemv(NESTOR_BLAS(cblas_sgemv), ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)) return;
  NESTOR_BLAS(cblas_sgemm)(101, ta ? 112 : 111, tb ? 112 : 111, static_cast<int>(m), static_cast<int>(n),
                           static_cast<int>(k), alpha, a, static_cast<int>(lda), b, static_cast<int>(ldb), beta, c,
                           static_cast<int>(ldc));
}

void gemm(bool ta, bool tb, int64_t m, int64_t n, int64_t k, double alpha, const double* a, int64_t lda,
          const double* b, int64_t ldb, double beta, double* c, int64_t ldc) {
  if (as_gemv(NESTOR_BLAS(cblas_dgemv), ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)) return;
  NESTOR_BLAS(cblas_dgemm)(101, ta ? 112 : 111, tb ? 112 : 111, static_cast<int>(m), static_cast<int>(n),
                           static_cast<int>(k), alpha, a, static_cast<int>(lda), b, static_cast<int>(ldb), beta, c,
                           static_cast<int>(ldc));
}

void set_num_threads(int n) { NESTOR_BLAS(openblas_set_num_threads)(n); }

const char* library_name() { return "OpenBLAS (" NESTOR_STR(NESTOR_BLAS_PREFIX) ")"; }

}  // namespace blas
}  // namespace nestor
