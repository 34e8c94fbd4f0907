// The direct float32 GEMM (cpp/src/core/direct_gemm.*) and blas::gemm_bias_act against float64
// loops: every transpose, every row remainder of the 6-row tiles and column tail of the 16-wide
// ones, the packed B strips (far-apart rows), threaded splits over rows and over columns, and
// the bias + relu epilogue on both the direct and the BLAS path, and B given as pre-packed panels
// (the batch-1 matrix-vector kernel included).
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "core/blas.h"
#include "core/direct_gemm.h"
#include "nestor/threadpool.h"

using namespace nestor;

namespace {

std::vector<float> random_values(int64_t n, unsigned seed) {
  std::vector<float> v(static_cast<size_t>(n));
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u(-1.f, 1.f);
  for (auto& x : v) x = u(rng);
  return v;
}

enum class Path { kDirect, kBiasAct, kPanels };

// C = act(op(A) op(B) + bias) with C's rows `ldc` apart (ldc >= n; the gap must stay untouched).
void check(Path path, ThreadPool* pool, bool ta, bool tb, int64_t m, int64_t n, int64_t k, bool with_bias,
           blas::Epilogue act, int64_t ldc = -1) {
  if (ldc < 0) ldc = n;
  auto a = random_values(m * k, 1);
  auto b = random_values(k * n, 2);
  auto bias = random_values(n, 3);
  std::vector<float> c(static_cast<size_t>(m * ldc), 7.f);
  const float* pbias = with_bias ? bias.data() : nullptr;
  int64_t lda = ta ? m : k, ldb = tb ? k : n;
  if (path == Path::kDirect) {
    if (!blas::direct_sgemm_available()) GTEST_SKIP() << "no AVX2+FMA on this CPU";
    ASSERT_TRUE(blas::direct_sgemm(pool, ta, tb, m, n, k, a.data(), lda, b.data(), ldb, pbias, act, c.data(), ldc));
  } else if (path == Path::kPanels) {
    if (!blas::direct_sgemm_available()) GTEST_SKIP() << "no AVX2+FMA on this CPU";
    std::vector<float> panels(static_cast<size_t>(blas::b_panels_size(k, n)), 9.f);
    blas::pack_b_panels(tb, k, n, b.data(), ldb, panels.data());
    ASSERT_TRUE(blas::direct_sgemm_panels(pool, ta, m, n, k, a.data(), lda, panels.data(), pbias, act, c.data(), ldc));
  } else {
    blas::gemm_bias_act(pool, ta, tb, m, n, k, a.data(), lda, b.data(), ldb, pbias, act, c.data(), ldc);
  }
  for (int64_t i = 0; i < m; ++i) {
    for (int64_t j = 0; j < n; ++j) {
      double want = with_bias ? bias[static_cast<size_t>(j)] : 0.0;
      for (int64_t p = 0; p < k; ++p) {
        double x = ta ? a[static_cast<size_t>(p * m + i)] : a[static_cast<size_t>(i * k + p)];
        double y = tb ? b[static_cast<size_t>(j * k + p)] : b[static_cast<size_t>(p * n + j)];
        want += x * y;
      }
      if (act == blas::Epilogue::kRelu) want = std::max(want, 0.0);
      ASSERT_NEAR(c[static_cast<size_t>(i * ldc + j)], want, 2e-6 * (static_cast<double>(k) + 1))
          << "ta=" << ta << " tb=" << tb << " m=" << m << " n=" << n << " k=" << k << " at " << i << "," << j;
    }
    for (int64_t j = n; j < ldc; ++j) ASSERT_EQ(c[static_cast<size_t>(i * ldc + j)], 7.f) << "wrote past column n";
  }
}

}  // namespace

TEST(DirectGemm, EveryTileRemainderAndTranspose) {
  for (bool ta : {false, true})
    for (bool tb : {false, true})
      for (int64_t m : {1, 5, 6, 7, 13})
        for (int64_t n : {1, 3, 8, 9, 16, 17, 30})
          for (int64_t k : {1, 4, 33}) check(Path::kDirect, nullptr, ta, tb, m, n, k, false, blas::Epilogue::kNone);
}

TEST(DirectGemm, BiasAndReluInTheEpilogue) {
  for (bool ta : {false, true})
    for (int64_t n : {3, 10, 16, 30})
      for (blas::Epilogue act : {blas::Epilogue::kNone, blas::Epilogue::kRelu}) {
        check(Path::kDirect, nullptr, ta, false, 256, n, 4, true, act);
        check(Path::kDirect, nullptr, ta, true, 37, n, 10, true, act, n + 5);  // C rows with a gap
      }
}

TEST(DirectGemm, PackedStripsOfFarApartRows) {
  // ldb >= 256 with >= 24 rows: B's 16-column strips are copied before the row blocks run.
  check(Path::kDirect, nullptr, false, false, 64, 300, 20, true, blas::Epilogue::kRelu);
  check(Path::kDirect, nullptr, true, false, 30, 260, 17, false, blas::Epilogue::kNone);
}

TEST(DirectGemm, ThreadedOverRowsAndOverColumns) {
  for (int threads : {2, 3}) {
    ThreadPool pool(threads);
    check(Path::kDirect, &pool, false, false, 600, 40, 100, true, blas::Epilogue::kRelu);   // rows split
    check(Path::kDirect, &pool, false, false, 40, 600, 100, true, blas::Epilogue::kRelu);   // columns split
    check(Path::kDirect, &pool, true, true, 130, 70, 230, false, blas::Epilogue::kNone);
  }
}

TEST(DirectGemm, PrePackedPanelsOfB) {
  ThreadPool pool(3);
  for (bool ta : {false, true})
    for (bool tb : {false, true}) {
      for (int64_t m : {2, 7, 13})
        for (int64_t n : {1, 15, 16, 33})
          for (int64_t k : {1, 29})
            check(Path::kPanels, nullptr, ta, tb, m, n, k, n != 15, blas::Epilogue::kRelu, n + 3);
      // Threaded: over rows (m of 6-row blocks > 16-column panels) and over columns.
      check(Path::kPanels, &pool, ta, tb, 400, 37, 150, true, blas::Epilogue::kRelu);
      check(Path::kPanels, &pool, ta, tb, 64, 300, 260, true, blas::Epilogue::kNone, 301);
    }
  // The panels hold op(B) with the last panel's missing columns zeroed.
  auto b = random_values(3 * 5, 4);
  std::vector<float> panels(static_cast<size_t>(blas::b_panels_size(3, 5)), 9.f);
  ASSERT_EQ(panels.size(), 3u * 16u);
  blas::pack_b_panels(true, 3, 5, b.data(), 3, panels.data());  // B is 5 x 3, op(B) = B^T
  for (int64_t p = 0; p < 3; ++p)
    for (int64_t j = 0; j < 16; ++j)
      EXPECT_EQ(panels[static_cast<size_t>(p * 16 + j)], j < 5 ? b[static_cast<size_t>(j * 3 + p)] : 0.f);
}

TEST(DirectGemm, PrePackedPanelsAtBatchOne) {
  // One row of A: each panel streamed by the matrix-vector kernel (k in steps of 4 and a
  // remainder, partial last panels, both epilogues), split over the pool from 32K weights.
  ThreadPool pool(3);
  for (bool ta : {false, true})
    for (bool tb : {false, true}) {
      for (int64_t n : {1, 7, 8, 9, 15, 16, 17, 33})
        for (int64_t k : {1, 3, 4, 5, 29})
          for (blas::Epilogue act : {blas::Epilogue::kNone, blas::Epilogue::kRelu})
            check(Path::kPanels, nullptr, ta, tb, 1, n, k, n % 2 == 1, act, n + 2);
      check(Path::kPanels, &pool, ta, tb, 1, 300, 260, true, blas::Epilogue::kRelu, 301);  // split
      check(Path::kPanels, &pool, ta, tb, 1, 1000, 33, false, blas::Epilogue::kNone);
    }
}

TEST(DirectGemm, ChosenForSmallProductsOnly) {
  EXPECT_TRUE(blas::direct_sgemm_pays(false, false, 256, 30, 4));
  EXPECT_TRUE(blas::direct_sgemm_pays(true, false, 30, 10, 256));
  EXPECT_TRUE(blas::direct_sgemm_pays(false, false, 64, 1024, 100));   // 6.6M, plain layout
  EXPECT_FALSE(blas::direct_sgemm_pays(true, false, 100, 1024, 64));   // 6.6M, transposed A
  EXPECT_TRUE(blas::direct_sgemm_pays(false, false, 1000, 1024, 100));  // short inner dimension
  EXPECT_FALSE(blas::direct_sgemm_pays(false, false, 1000, 1024, 200));
  EXPECT_FALSE(blas::direct_sgemm_pays(true, false, 1000, 1024, 100));
  EXPECT_FALSE(blas::direct_sgemm_pays(false, true, 4, 1024, 1024));  // B^T copy too big
  EXPECT_FALSE(blas::direct_sgemm_pays(false, false, 16, 16, 0));
  EXPECT_FALSE(blas::direct_sgemm_pays(false, false, 1, 512, 1024));  // batch 1: the BLAS's gemv
  EXPECT_FALSE(blas::direct_sgemm_pays(false, false, 256, 1, 30));    // one output column: gemv
}

TEST(GemmBiasAct, BlasPathPrefillsTheBiasAndAppliesRelu) {
  ThreadPool pool(2);
  for (bool ta : {false, true})
    for (bool tb : {false, true}) {
      // Over the direct kernel's sizes: the BLAS with beta = 1 on the bias, then the relu pass.
      check(Path::kBiasAct, &pool, ta, tb, 300, 200, 150, true, blas::Epilogue::kRelu, 203);
      check(Path::kBiasAct, nullptr, ta, tb, 7, 9, 5, true, blas::Epilogue::kRelu);  // direct
    }
  check(Path::kBiasAct, &pool, false, false, 1, 300, 40, true, blas::Epilogue::kRelu);  // gemv path
  check(Path::kBiasAct, nullptr, false, false, 5, 6, 0, true, blas::Epilogue::kRelu);   // k = 0: act(bias)
}
