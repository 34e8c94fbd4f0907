// A float32 GEMM for the small and thin products of training and serving small networks
// (batch x [4..1024] x [3..1024]), with the bias and the activation applied while the tile is
// still in registers. OpenBLAS packs both operands on every call and runs a separate pass for
// beta; for products under a few million multiply-adds that set-up is most of the time.
// AVX2+FMA only (chosen at run time); callers fall back to the BLAS when it returns false.
#pragma once

#include <cstdint>

namespace nestor {
class ThreadPool;
namespace blas {

enum class Epilogue { kNone, kRelu };

// Whether direct_sgemm runs here (the CPU has AVX2 and FMA).
bool direct_sgemm_available();

// Whether a product of this shape is better served by direct_sgemm than by the BLAS.
bool direct_sgemm_pays(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k);

// Row-major C[m, n] = act(op(A) op(B) + bias), bias of length n or nullptr. Row blocks run on
// `pool` when the product is large enough to pay for the hand-off. Returns false (and writes
// nothing) when the kernel is unavailable on this CPU.
bool direct_sgemm(ThreadPool* pool, bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, const float* a,
                  int64_t lda, const float* b, int64_t ldb, const float* bias, Epilogue act, float* c, int64_t ldc);

// op(B) (k x n; B itself is n x k when trans_b) laid out for direct_sgemm_panels: panels of
// 16 columns, each k rows of 16 floats, the last panel zero-padded. b_panels_size floats.
int64_t b_panels_size(int64_t k, int64_t n);
void pack_b_panels(bool trans_b, int64_t k, int64_t n, const float* b, int64_t ldb, float* out);

// direct_sgemm with op(B) given as pack_b_panels wrote it: for a constant B (serving), the
// product then reads B contiguously and never copies it. One row of A (batch 1) is a
// matrix-vector product: each panel is streamed once, the panels split over the pool.
bool direct_sgemm_panels(ThreadPool* pool, bool trans_a, int64_t m, int64_t n, int64_t k, const float* a,
                         int64_t lda, const float* panels, const float* bias, Epilogue act, float* c, int64_t ldc);

}  // namespace blas
}  // namespace nestor
