// The CPU BLAS, behind gemm. The library (OpenBLAS from the scipy-openblas32
// wheel, symbols prefixed) is chosen in CMakeLists.txt; NESTOR_BLAS_PREFIX names it.
#pragma once

#include <cstdint>

#include "direct_gemm.h"

namespace nestor {
class ThreadPool;
namespace blas {

// Row-major C[m,n] = alpha * op(A) * op(B) + beta * C. Threaded parts run on `pool` (nullptr:
// one thread): OpenBLAS's own through its thread callback, matrix-vector ones split by us.
// float32 with alpha = 1 and beta = 0 goes through gemm_bias_act (the direct kernel where it pays).
void gemm(ThreadPool* pool, bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha,
          const float* a, int64_t lda, const float* b, int64_t ldb, float beta, float* c, int64_t ldc);
void gemm(ThreadPool* pool, bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, double alpha,
          const double* a, int64_t lda, const double* b, int64_t ldb, double beta, double* c, int64_t ldc);
bool uses_caller_threads();  // true when OpenBLAS runs its threaded parts on our pools

// Matrix-vector products (one row or one column) of at least this many multiply-adds are split
// over the pool, each part on one BLAS thread. Smaller ones run on the caller alone. (Served
// exports do not come here at batch 1: their constant weights are packed into panels, which
// direct_sgemm_panels streams and splits itself.) The threshold was set from batch-1 MLP runs
// whose p99 included the BLAS threads' start-up spin (see benchmarks/cpp/latency_util.h); it
// has not been re-measured since.
constexpr int64_t kSplitGemv = int64_t{1} << 20;

// Row-major C[m,n] = act(op(A) op(B) + bias), bias of length n or nullptr: the direct kernel
// (bias and activation applied in registers) where it pays, else the BLAS on C prefilled with
// the bias (beta = 1, so OpenBLAS also skips its pass scaling C) and one pass for the
// activation.
void gemm_bias_act(ThreadPool* pool, bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, const float* a,
                   int64_t lda, const float* b, int64_t ldb, const float* bias, Epilogue act, float* c, int64_t ldc);

}  // namespace blas
}  // namespace nestor
