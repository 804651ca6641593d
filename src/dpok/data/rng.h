// A small, fully specified random generator for data ordering (shuffles, splits).
//
// What it does: splitmix64 and a Fisher–Yates shuffle built on it. Unlike std::shuffle and the
// std distributions, the sequence is the same on every standard library, so a seed names one
// data order everywhere (resuming on another machine continues the same order).
// What it doesn't do: anything cryptographic.
#pragma once

#include <cstdint>
#include <utility>
#include <vector>

namespace dpok::data {

class SplitMix64 {
 public:
  explicit SplitMix64(uint64_t seed) : state_(seed) {}
  uint64_t next() {
    uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  // Uniform in [0, n), n > 0, by rejection (no modulo bias).
  uint64_t below(uint64_t n) {
    const uint64_t limit = UINT64_MAX - UINT64_MAX % n;
    for (;;) {
      const uint64_t x = next();
      if (x < limit) return x % n;
    }
  }

 private:
  uint64_t state_;
};

template <typename T>
void fisher_yates(std::vector<T>& items, SplitMix64& rng) {
  for (size_t i = items.size(); i > 1; --i) std::swap(items[i - 1], items[rng.below(i)]);
}

}  // namespace dpok::data
