// CRC-32C (nestor/crc32c.h) against a bit-at-a-time reference of the polynomial, on every
// length from 0 to 300 (the 8-byte hardware loop and its byte tail) and at every offset
// (unaligned starts), for both the hardware and the table paths; and the published check value.
#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <vector>

#include "nestor/crc32c.h"

namespace {

uint32_t bitwise_crc32c(const unsigned char* p, size_t n) {
  uint32_t c = 0xFFFFFFFFu;
  for (size_t i = 0; i < n; ++i) {
    c ^= p[i];
    for (int k = 0; k < 8; ++k) c = (c >> 1) ^ (0x82F63B78u & (0u - (c & 1u)));
  }
  return ~c;
}

}  // namespace

TEST(Crc32c, CheckValueAndMask) {
  const char* s = "123456789";
  EXPECT_EQ(nestor::crc32c(s, 9), 0xE3069283u);
  EXPECT_EQ(nestor::crc32c_portable(s, 9), 0xE3069283u);
  EXPECT_EQ(nestor::crc32c(s, 0), 0u);
  uint32_t c = 0xE3069283u;
  EXPECT_EQ(nestor::masked_crc32c(s, 9), static_cast<uint32_t>(((c >> 15) | (c << 17)) + 0xa282ead8u));
}

TEST(Crc32c, EveryLengthAndOffsetMatchesTheBitwiseReference) {
  std::mt19937 rng(5);
  std::vector<unsigned char> buf(320);
  for (auto& b : buf) b = static_cast<unsigned char>(rng());
  for (size_t off = 0; off < 8; ++off)
    for (size_t n = 0; off + n <= 308; ++n) {
      uint32_t want = bitwise_crc32c(buf.data() + off, n);
      ASSERT_EQ(nestor::crc32c(buf.data() + off, n), want) << "offset " << off << " length " << n;
      ASSERT_EQ(nestor::crc32c_portable(buf.data() + off, n), want) << "offset " << off << " length " << n;
    }
}
