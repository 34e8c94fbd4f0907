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
void NESTOR_BLAS(openblas_set_num_threads)(int);
}

namespace nestor {
namespace blas {

void gemm(bool ta, bool tb, int64_t m, int64_t n, int64_t k, float alpha, const float* a, int64_t lda,
          const float* b, int64_t ldb, float beta, float* c, int64_t ldc) {
  NESTOR_BLAS(cblas_sgemm)(101, ta ? 112 : 111, tb ? 112 : 111, static_cast<int>(m), static_cast<int>(n),
                           static_cast<int>(k), alpha, a, static_cast<int>(lda), b, static_cast<int>(ldb), beta, c,
                           static_cast<int>(ldc));
}

void gemm(bool ta, bool tb, int64_t m, int64_t n, int64_t k, double alpha, const double* a, int64_t lda,
          const double* b, int64_t ldb, double beta, double* c, int64_t ldc) {
  NESTOR_BLAS(cblas_dgemm)(101, ta ? 112 : 111, tb ? 112 : 111, static_cast<int>(m), static_cast<int>(n),
                           static_cast<int>(k), alpha, a, static_cast<int>(lda), b, static_cast<int>(ldb), beta, c,
                           static_cast<int>(ldc));
}

void set_num_threads(int n) { NESTOR_BLAS(openblas_set_num_threads)(n); }

const char* library_name() { return "OpenBLAS (" NESTOR_STR(NESTOR_BLAS_PREFIX) ")"; }

}  // namespace blas
}  // namespace nestor
