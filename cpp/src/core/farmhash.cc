// FarmHash Fingerprint64 (the "na" 64-bit variant, by Geoff Pike, MIT licence; written
// here from its published description) and TensorFlow's FingerprintCat64.
#include "farmhash.h"

#include <cstring>
#include <utility>

namespace nestor {
namespace farmhash {
namespace {

// Primes between 2^63 and 2^64.
constexpr uint64_t kP0 = 0xc3a5c85c97cb3127ULL;
constexpr uint64_t kP1 = 0xb492b66fbe98f273ULL;
constexpr uint64_t kP2 = 0x9ae16a3b2f90404fULL;

inline uint64_t load64(const char* p) {  // little-endian load (the hosts we build for are LE)
  uint64_t v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
inline uint32_t load32(const char* p) {
  uint32_t v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
inline uint64_t rot(uint64_t v, int s) { return (v >> s) | (v << (64 - s)); }
inline uint64_t shift_mix(uint64_t v) { return v ^ (v >> 47); }

inline uint64_t mix16(uint64_t u, uint64_t v, uint64_t mul) {
  uint64_t a = shift_mix((u ^ v) * mul);
  uint64_t b = shift_mix((v ^ a) * mul);
  return b * mul;
}

uint64_t short_0_16(const char* s, size_t n) {
  if (n >= 8) {
    uint64_t mul = kP2 + n * 2;
    uint64_t a = load64(s) + kP2;
    uint64_t b = load64(s + n - 8);
    uint64_t c = rot(b, 37) * mul + a;
    uint64_t d = (rot(a, 25) + b) * mul;
    return mix16(c, d, mul);
  }
  if (n >= 4) {
    uint64_t mul = kP2 + n * 2;
    uint64_t a = load32(s);
    return mix16(n + (a << 3), load32(s + n - 4), mul);
  }
  if (n > 0) {
    uint8_t a = static_cast<uint8_t>(s[0]);
    uint8_t b = static_cast<uint8_t>(s[n >> 1]);
    uint8_t c = static_cast<uint8_t>(s[n - 1]);
    uint32_t y = static_cast<uint32_t>(a) + (static_cast<uint32_t>(b) << 8);
    uint32_t z = static_cast<uint32_t>(n) + (static_cast<uint32_t>(c) << 2);
    return shift_mix(y * kP2 ^ z * kP0) * kP2;
  }
  return kP2;
}

uint64_t mid_17_32(const char* s, size_t n) {
  uint64_t mul = kP2 + n * 2;
  uint64_t a = load64(s) * kP1;
  uint64_t b = load64(s + 8);
  uint64_t c = load64(s + n - 8) * mul;
  uint64_t d = load64(s + n - 16) * kP2;
  return mix16(rot(a + b, 43) + rot(c, 30) + d, a + rot(b + kP2, 18) + c, mul);
}

uint64_t mid_33_64(const char* s, size_t n) {
  uint64_t mul = kP2 + n * 2;
  uint64_t a = load64(s) * kP2;
  uint64_t b = load64(s + 8);
  uint64_t c = load64(s + n - 8) * mul;
  uint64_t d = load64(s + n - 16) * kP2;
  uint64_t y = rot(a + b, 43) + rot(c, 30) + d;
  uint64_t z = mix16(y, a + rot(b + kP2, 18) + c, mul);
  uint64_t e = load64(s + 16) * mul;
  uint64_t f = load64(s + 24);
  uint64_t g = (y + load64(s + n - 32)) * mul;
  uint64_t h = (z + load64(s + n - 24)) * mul;
  return mix16(rot(e + f, 43) + rot(g, 30) + h, e + rot(f + a, 18) + g, mul);
}

// A 16-byte state update from 32 input bytes and two seeds.
std::pair<uint64_t, uint64_t> weak32(const char* s, uint64_t a, uint64_t b) {
  uint64_t w = load64(s), x = load64(s + 8), y = load64(s + 16), z = load64(s + 24);
  a += w;
  b = rot(b + a + z, 21);
  uint64_t c = a;
  a += x;
  a += y;
  b += rot(a, 44);
  return {a + z, b + c};
}

uint64_t long_64plus(const char* s, size_t n) {
  const uint64_t seed = 81;
  uint64_t x = seed;
  uint64_t y = seed * kP1 + 113;
  uint64_t z = shift_mix(y * kP2 + 113) * kP2;
  std::pair<uint64_t, uint64_t> v{0, 0}, w{0, 0};
  x = x * kP2 + load64(s);
  // Blocks of 64 bytes; the last (1 to 64 bytes, overlapping) block is mixed separately.
  const char* end = s + ((n - 1) / 64) * 64;
  const char* last64 = end + ((n - 1) & 63) - 63;
  do {
    x = rot(x + y + v.first + load64(s + 8), 37) * kP1;
    y = rot(y + v.second + load64(s + 48), 42) * kP1;
    x ^= w.second;
    y += v.first + load64(s + 40);
    z = rot(z + w.first, 33) * kP1;
    v = weak32(s, v.second * kP1, x + w.first);
    w = weak32(s + 32, z + w.second, y + load64(s + 16));
    std::swap(z, x);
    s += 64;
  } while (s != end);
  uint64_t mul = kP1 + ((z & 0xff) << 1);
  s = last64;
  w.first += ((n - 1) & 63);
  v.first += w.first;
  w.first += v.first;
  x = rot(x + y + v.first + load64(s + 8), 37) * mul;
  y = rot(y + v.second + load64(s + 48), 42) * mul;
  x ^= w.second * 9;
  y += v.first * 9 + load64(s + 40);
  z = rot(z + w.first, 33) * mul;
  v = weak32(s, v.second * mul, x + w.first);
  w = weak32(s + 32, z + w.second, y + load64(s + 16));
  std::swap(z, x);
  return mix16(mix16(v.first, w.first, mul) + shift_mix(y) * kP0 + z, mix16(v.second, w.second, mul) + x, mul);
}

}  // namespace

uint64_t Fingerprint64(const char* s, size_t n) {
  if (n <= 16) return short_0_16(s, n);
  if (n <= 32) return mid_17_32(s, n);
  if (n <= 64) return mid_33_64(s, n);
  return long_64plus(s, n);
}

uint64_t FingerprintCat64(uint64_t fp1, uint64_t fp2) {
  constexpr uint64_t kMul = 0xc6a4a7935bd1e995ULL;
  uint64_t r = fp1 ^ kMul;
  r ^= shift_mix(fp2 * kMul) * kMul;
  r *= kMul;
  r = shift_mix(r) * kMul;
  return shift_mix(r);
}

}  // namespace farmhash
}  // namespace nestor
