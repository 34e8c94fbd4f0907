// The vectorized float32 exp and log of ops/fast_math.h against float64 std::exp/std::log:
// at most 2 ulp over their whole normal range, and the special values (0, negatives,
// denormals, inf, NaN, the overflow and underflow edges) as the C library gives them.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <vector>

#include "ops/fast_math.h"

namespace {

// Distance in units in the last place between a float result and the float64 truth.
double ulps(float got, double want) {
  float w = static_cast<float>(want);
  double spacing = std::nextafter(std::fabs(w), std::numeric_limits<float>::infinity()) - std::fabs(w);
  return std::fabs(static_cast<double>(got) - want) / spacing;
}

}  // namespace

TEST(FastMath, LogWithinTwoUlpOverTheNormalRange) {
  std::mt19937 rng(3);
  std::uniform_real_distribution<double> e(-125.0, 127.0);
  std::vector<float> x(100003);  // not a multiple of 4: the scalar tail runs too
  for (size_t i = 0; i < x.size(); ++i) x[i] = static_cast<float>(std::exp2(e(rng)));
  for (size_t i = 0; i < 2000; ++i) x[i] = 1.0f + static_cast<float>(i) * 1e-4f;  // around 1, where log is small
  std::vector<float> y = x;
  nestor::ops::log_inplace(y.data(), static_cast<int64_t>(y.size()));
  double worst = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    double want = std::log(static_cast<double>(x[i]));
    if (want == 0.0) {
      ASSERT_EQ(y[i], 0.0f);
      continue;
    }
    worst = std::max(worst, ulps(y[i], want));
    ASSERT_LE(ulps(y[i], want), 2.0) << "log(" << x[i] << ") = " << y[i] << ", want " << want;
  }
  EXPECT_GT(worst, 0.0);
}

TEST(FastMath, LogSpecialValuesAsTheCLibrary) {
  const float inf = std::numeric_limits<float>::infinity();
  std::vector<float> x = {0.0f, -0.0f, -1.0f, inf, -inf, std::nanf(""), 1e-40f, 2.0f, 0.5f, 1.0f, 3.0f};
  std::vector<float> y = x;
  nestor::ops::log_inplace(y.data(), static_cast<int64_t>(y.size()));
  for (size_t i = 0; i < x.size(); ++i) {
    float want = std::log(x[i]);
    if (std::isnan(want)) EXPECT_TRUE(std::isnan(y[i])) << "log(" << x[i] << ")";
    else if (std::isinf(want)) EXPECT_EQ(y[i], want) << "log(" << x[i] << ")";
    else EXPECT_NEAR(y[i], want, std::fabs(want) * 3e-7f) << "log(" << x[i] << ")";
  }
}

TEST(FastMath, ExpWithinTwoUlpAndItsEdges) {
  std::mt19937 rng(4);
  std::uniform_real_distribution<float> u(-87.0f, 88.5f);
  std::vector<float> x(50001);
  for (auto& v : x) v = u(rng);
  std::vector<float> y = x;
  nestor::ops::exp_inplace(y.data(), static_cast<int64_t>(y.size()));
  for (size_t i = 0; i < x.size(); ++i)
    ASSERT_LE(ulps(y[i], std::exp(static_cast<double>(x[i]))), 2.0) << "exp(" << x[i] << ")";
  const float inf = std::numeric_limits<float>::infinity();
  std::vector<float> s = {89.0f, inf, -88.0f, -inf, std::nanf(""), 0.0f, 1.0f};
  nestor::ops::exp_inplace(s.data(), static_cast<int64_t>(s.size()));
  EXPECT_EQ(s[0], inf);
  EXPECT_EQ(s[1], inf);
  EXPECT_EQ(s[2], 0.0f);  // below -87.34: 0 where the C library gives a denormal
  EXPECT_EQ(s[3], 0.0f);
  EXPECT_TRUE(std::isnan(s[4]));
  EXPECT_EQ(s[5], 1.0f);
  EXPECT_NEAR(s[6], 2.718281828f, 2.718281828f * 2.4e-7f);
}
