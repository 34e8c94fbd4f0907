// farmhash.h: the 64-bit string fingerprint TensorFlow uses for feature hashing.
//
// Fingerprint64(s) is FarmHash's Fingerprint64 (farmhashna::Hash64 of the bytes, read
// little-endian), so `s % n` reproduces tf.strings.to_hash_bucket_fast and the OOV buckets
// of vocabulary lookups. FingerprintCat64 is TensorFlow's combiner of two fingerprints
// (tensorflow/core/platform/fingerprint.h), used by hashed sparse crosses; it is a
// Murmur-style mix of the two words, not a fingerprint of their 16 bytes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace nestor {
namespace farmhash {

uint64_t Fingerprint64(const char* s, size_t len);
inline uint64_t Fingerprint64(const std::string& s) { return Fingerprint64(s.data(), s.size()); }

uint64_t FingerprintCat64(uint64_t fp1, uint64_t fp2);

}  // namespace farmhash
}  // namespace nestor
