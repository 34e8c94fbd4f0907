// Branch-free float32 exp that GCC vectorizes (SSE2 and up): Cephes' expf polynomial with
// a Cody-Waite reduction; relative error <= 2 ulp on [-87.3, 88.7], exp(x) = 0 below
// (std::exp gives denormals down to -103.9), +inf above, NaN stays NaN. Kernels use it on
// contiguous float32 buffers (exp_inplace) so the loop runs 4-8 lanes at a time; float64
// keeps std::exp. log_inplace is Cephes' logf the same way (the log-sum-exp of softmax
// cross-entropies).
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>

namespace nestor {
namespace ops {

inline float fast_exp(float x) {
  const float hi = 88.7228f, lo = -87.3365f;
  float xc = x > hi ? hi : (x < lo ? lo : x);                  // NaN passes through here...
  float fx = xc * 1.44269504088896341f;
  float nf = (fx + 12582912.0f) - 12582912.0f;                  // round to nearest (|fx| < 2^22)
  float r = xc - nf * 0.693359375f - nf * -2.12194440e-4f;      // Cody-Waite: x - n ln2
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  float y = p * r * r + r + 1.0f;
  int32_t n = static_cast<int32_t>(nf == nf ? nf : 0.0f);
  int32_t n1 = n >> 1, n2 = n - n1;                             // 2^n in two factors: n is in [-126, 128]
  int32_t b1 = (n1 + 127) << 23, b2 = (n2 + 127) << 23;
  float s1, s2;
  std::memcpy(&s1, &b1, sizeof s1);
  std::memcpy(&s2, &b2, sizeof s2);
  y = y * s1 * s2;
  y = x > hi ? std::numeric_limits<float>::infinity() : y;
  y = x < lo ? 0.0f : y;
  return x == x ? y : x;                                        // ...and is returned as is
}

// p[i] = exp(p[i]) for i < n: fast_exp for float32 (4 lanes at a time through GCC/Clang
// vector extensions, whose compares are masks, so no branch blocks it), std::exp otherwise.
inline void exp_inplace(float* p, int64_t n) {
  typedef float v4f __attribute__((vector_size(16)));
  typedef int32_t v4i __attribute__((vector_size(16)));
  const v4f hi = {88.7228f, 88.7228f, 88.7228f, 88.7228f}, lo = {-87.3365f, -87.3365f, -87.3365f, -87.3365f};
  const v4f magic = {12582912.0f, 12582912.0f, 12582912.0f, 12582912.0f};
  const v4f inf = {std::numeric_limits<float>::infinity(), std::numeric_limits<float>::infinity(),
                   std::numeric_limits<float>::infinity(), std::numeric_limits<float>::infinity()};
  const v4f zero = {0.0f, 0.0f, 0.0f, 0.0f};
  int64_t i = 0;
  for (; i + 4 <= n; i += 4) {
    v4f x;
    std::memcpy(&x, p + i, sizeof x);
    v4i nan = x != x;
    v4f xc = x > hi ? hi : (x < lo ? lo : x);
    xc = nan ? zero : xc;
    v4f fx = xc * 1.44269504088896341f;
    v4f nf = (fx + magic) - magic;
    v4f r = xc - nf * 0.693359375f - nf * -2.12194440e-4f;
    v4f q = r * 1.9875691500e-4f + 1.3981999507e-3f;
    q = q * r + 8.3334519073e-3f;
    q = q * r + 4.1665795894e-2f;
    q = q * r + 1.6666665459e-1f;
    q = q * r + 5.0000001201e-1f;
    v4f y = q * r * r + r + 1.0f;
    v4i ni = __builtin_convertvector(nf, v4i);
    v4i n1 = ni >> 1, n2 = ni - n1;
    v4i b1 = (n1 + 127) << 23, b2 = (n2 + 127) << 23;
    v4f s1, s2;
    std::memcpy(&s1, &b1, sizeof s1);
    std::memcpy(&s2, &b2, sizeof s2);
    y = y * s1 * s2;
    y = x > hi ? inf : y;
    y = x < lo ? zero : y;
    y = nan ? x : y;
    std::memcpy(p + i, &y, sizeof y);
  }
  for (; i < n; ++i) p[i] = fast_exp(p[i]);
}
inline void exp_inplace(double* p, int64_t n) {
  for (int64_t i = 0; i < n; ++i) p[i] = std::exp(p[i]);
}

// p[i] = log(p[i]) for i < n. float32: Cephes' logf polynomial on x = m 2^e, m in
// [sqrt(1/2), sqrt(2)), <= 2 ulp, 4 lanes at a time; a group holding a value that is not a
// positive normal finite float (0, negative, denormal, inf, NaN) goes through std::log.
inline void log_inplace(float* p, int64_t n) {
  typedef float v4f __attribute__((vector_size(16)));
  typedef int32_t v4i __attribute__((vector_size(16)));
  int64_t i = 0;
  for (; i + 4 <= n; i += 4) {
    v4f x;
    v4i bits;
    std::memcpy(&x, p + i, sizeof x);
    std::memcpy(&bits, &x, sizeof bits);
    v4i special = (bits < 0x00800000) | (bits >= 0x7f800000);  // sign bit set reads as negative
    if (special[0] | special[1] | special[2] | special[3]) {
      for (int l = 0; l < 4; ++l) p[i + l] = std::log(p[i + l]);
      continue;
    }
    v4i e = ((bits >> 23) & 0xff) - 126;  // x = m 2^e with m in [0.5, 1)
    v4i mbits = (bits & 0x007fffff) | 0x3f000000;
    v4f m;
    std::memcpy(&m, &mbits, sizeof m);
    v4i small = m < 0.707106781186547524f;  // -1 where true
    e = e + small;
    m = small ? m + m - 1.0f : m - 1.0f;
    v4f z = m * m;
    v4f y = m * 7.0376836292e-2f - 1.1514610310e-1f;
    y = y * m + 1.1676998740e-1f;
    y = y * m - 1.2420140846e-1f;
    y = y * m + 1.4249322787e-1f;
    y = y * m - 1.6668057665e-1f;
    y = y * m + 2.0000714765e-1f;
    y = y * m - 2.4999993993e-1f;
    y = y * m + 3.3333331174e-1f;
    y = y * m * z;
    v4f ef = __builtin_convertvector(e, v4f);
    y = y + ef * -2.12194440e-4f;
    y = y - z * 0.5f;
    v4f r = m + y + ef * 0.693359375f;
    std::memcpy(p + i, &r, sizeof r);
  }
  for (; i < n; ++i) p[i] = std::log(p[i]);
}
inline void log_inplace(double* p, int64_t n) {
  for (int64_t i = 0; i < n; ++i) p[i] = std::log(p[i]);
}

}  // namespace ops
}  // namespace nestor
