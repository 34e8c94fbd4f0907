// nestor/crc32c.h: CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), the checksum of
// TFRecord files such as TensorBoard event files; crc32c("123456789") == 0xE3069283.
#pragma once

#include <cstddef>
#include <cstdint>

namespace nestor {

// CRC-32C of n bytes (the SSE4.2 crc32 instruction where the CPU has it, a table otherwise).
uint32_t crc32c(const void* data, size_t n);
// The same by table lookups alone (what crc32c uses on CPUs without SSE4.2).
uint32_t crc32c_portable(const void* data, size_t n);

// TFRecord's masked form: ((crc >> 15) | (crc << 17)) + 0xa282ead8, mod 2^32.
inline uint32_t masked_crc32c(const void* data, size_t n) {
  uint32_t c = crc32c(data, n);
  return ((c >> 15) | (c << 17)) + 0xa282ead8u;
}

}  // namespace nestor
