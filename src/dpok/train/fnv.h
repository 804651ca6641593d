// FNV-1a (64 bit) for cache keys and checksums of the trainer's on-disk reference caches
// (ref_cache.h, ref_topk.h). Not cryptographic: it detects changed inputs and torn or corrupted
// files, not tampering.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

namespace dpok::train {

struct Fnv1a {
  uint64_t state = 14695981039346656037ull;
  void bytes(const void* data, size_t size) {
    const auto* p = static_cast<const unsigned char*>(data);
    for (size_t i = 0; i < size; ++i) {
      state ^= p[i];
      state *= 1099511628211ull;
    }
  }
  // Word-wise mixing for large buffers (weights, cached top-k tables): 8 bytes per multiply keeps
  // hashing a 100M parameter model well under a second. Callers that hash a buffer in pieces must
  // use the same piece boundaries when they verify.
  void words(const void* data, size_t size) {
    const auto* p = static_cast<const unsigned char*>(data);
    size_t i = 0;
    for (; i + 8 <= size; i += 8) {
      uint64_t w;
      std::memcpy(&w, p + i, 8);
      state = (state ^ w) * 1099511628211ull;
    }
    bytes(p + i, size - i);
  }
  template <typename T>
  void value(const T& v) {
    bytes(&v, sizeof(v));
  }
  void ids(const std::vector<int32_t>& v) {
    value(v.size());
    bytes(v.data(), v.size() * sizeof(int32_t));
  }
};

}  // namespace dpok::train
