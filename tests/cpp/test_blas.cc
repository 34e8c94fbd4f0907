// The BLAS binding (cpp/src/core/blas.*) against a float64 loop: threaded GEMMs whose parts
// OpenBLAS hands to our pool (also from inside a busy pool, where extra threads take them),
// and the matrix-vector products we split over the pool ourselves, every transpose.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "core/blas.h"
#include "nestor/threadpool.h"

using namespace nestor;

namespace {

std::vector<float> random_matrix(int64_t rows, int64_t cols, unsigned seed) {
  std::vector<float> v(static_cast<size_t>(rows * cols));
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u(-1.f, 1.f);
  for (auto& x : v) x = u(rng);
  return v;
}

// C = op(A) op(B) through blas::gemm, checked element by element against float64 sums.
void check_gemm(ThreadPool* pool, bool ta, bool tb, int64_t m, int64_t n, int64_t k) {
  auto a = random_matrix(ta ? k : m, ta ? m : k, 1);
  auto b = random_matrix(tb ? n : k, tb ? k : n, 2);
  std::vector<float> c(static_cast<size_t>(m * n), 7.f);  // beta = 0 must overwrite
  blas::gemm(pool, ta, tb, m, n, k, 1.f, a.data(), ta ? m : k, b.data(), tb ? k : n, 0.f, c.data(), n);
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < n; ++j) {
      double want = 0;
      for (int64_t p = 0; p < k; ++p) {
        double x = ta ? a[static_cast<size_t>(p * m + i)] : a[static_cast<size_t>(i * k + p)];
        double y = tb ? b[static_cast<size_t>(j * k + p)] : b[static_cast<size_t>(p * n + j)];
        want += x * y;
      }
      ASSERT_NEAR(c[static_cast<size_t>(i * n + j)], want, 1e-4 * std::sqrt(static_cast<double>(k)) + 1e-5)
          << "ta=" << ta << " tb=" << tb << " m=" << m << " n=" << n << " k=" << k << " at " << i << "," << j;
    }
}

}  // namespace

TEST(Blas, ThreadedGemmRunsOnThePool) {
  EXPECT_TRUE(blas::uses_caller_threads()) << "OpenBLAS without openblas_set_threads_callback_function";
  for (int threads : {1, 2, 3}) {
    ThreadPool pool(threads);
    for (bool ta : {false, true})
      for (bool tb : {false, true}) check_gemm(&pool, ta, tb, 300, 257, 130);  // 10M multiply-adds: threaded
  }
  check_gemm(nullptr, false, false, 300, 257, 130);
}

TEST(Blas, ThreadedGemmFromInsideABusyPool) {
  ThreadPool pool(2);
  pool.parallel_for(2, 1, [&](int64_t, int64_t) { check_gemm(&pool, false, true, 260, 250, 140); });
}

TEST(Blas, MatrixVectorProductsSplitOverThePool) {
  for (int threads : {1, 2, 3}) {
    ThreadPool pool(threads);
    for (bool ta : {false, true})
      for (bool tb : {false, true}) {
        // Sizes just above blas::kSplitGemv, so that the split stays tested wherever it is set.
        const int64_t k = 517, len = blas::kSplitGemv / k + 37;
        check_gemm(&pool, ta, tb, 1, len, k);      // one row: the output row is split
        check_gemm(&pool, ta, tb, len + 2, 1, k);  // one column: the output column is split
        check_gemm(&pool, ta, tb, 1, 1001, 517);   // below the threshold: on the caller alone
        check_gemm(&pool, ta, tb, 1, 7, 5);
      }
  }
}
