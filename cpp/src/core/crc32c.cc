#include "nestor/crc32c.h"

#include <nmmintrin.h>

#include <array>
#include <cstring>

namespace nestor {
namespace {

constexpr uint32_t kPoly = 0x82F63B78u;

std::array<uint32_t, 256> make_table() {
  std::array<uint32_t, 256> t{};
  for (uint32_t i = 0; i < 256; ++i) {
    uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = (c & 1) ? (c >> 1) ^ kPoly : c >> 1;
    t[i] = c;
  }
  return t;
}

uint32_t crc_table(uint32_t crc, const unsigned char* p, size_t n) {
  static const std::array<uint32_t, 256> table = make_table();
  for (size_t i = 0; i < n; ++i) crc = table[(crc ^ p[i]) & 0xFF] ^ (crc >> 8);
  return crc;
}

// The library keeps baseline x86-64 flags; this one function is compiled for SSE4.2 and
// only called when the CPU has it.
__attribute__((target("sse4.2"))) uint32_t crc_sse42(uint32_t crc, const unsigned char* p, size_t n) {
  uint64_t c = crc;
  for (; n >= 8; n -= 8, p += 8) {
    uint64_t v;
    std::memcpy(&v, p, 8);
    c = _mm_crc32_u64(c, v);
  }
  uint32_t c32 = static_cast<uint32_t>(c);
  for (; n > 0; --n, ++p) c32 = _mm_crc32_u8(c32, *p);
  return c32;
}

bool have_sse42() {
  __builtin_cpu_init();
  return __builtin_cpu_supports("sse4.2");
}

}  // namespace

uint32_t crc32c(const void* data, size_t n) {
  static const bool hw = have_sse42();
  const auto* p = static_cast<const unsigned char*>(data);
  return ~(hw ? crc_sse42(~0u, p, n) : crc_table(~0u, p, n));
}

uint32_t crc32c_portable(const void* data, size_t n) {
  return ~crc_table(~0u, static_cast<const unsigned char*>(data), n);
}

}  // namespace nestor
