// FNV-1a (64 bit): the one hash of dpok's cache keys (data/cache.h, train/ref_cache.h) and of the
// payload checksums in cache file headers (io/cache_file.h). Not cryptographic: it detects changed
// inputs and torn or corrupted files, not tampering.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>
#include <type_traits>

namespace dpok {

class Fnv1a {
 public:
  // Mixes bytes one at a time (the textbook FNV-1a).
  void add(const void* data, size_t size) {
    const auto* p = static_cast<const unsigned char*>(data);
    for (size_t i = 0; i < size; ++i) state_ = (state_ ^ p[i]) * kPrime;
  }
  // The length (as u64), then the bytes: "ab" + "c" and "a" + "bc" hash differently.
  void add(std::string_view s) {
    add_pod(static_cast<uint64_t>(s.size()));
    add(s.data(), s.size());
  }
  // The object representation of a trivially copyable value.
  template <typename T>
  void add_pod(const T& value) {
    static_assert(std::is_trivially_copyable_v<T>);
    add(&value, sizeof(value));
  }
  // Word-wise mixing for large buffers (weights, payloads): 8 bytes per multiply keeps hashing a
  // 100M parameter model well under a second. A tail shorter than a word is mixed byte-wise, so
  // the result depends on how a buffer is cut into calls (StreamChecksum does not).
  void add_words(const void* data, size_t size) {
    const auto* p = static_cast<const unsigned char*>(data);
    size_t i = 0;
    for (; i + 8 <= size; i += 8) {
      uint64_t w;
      std::memcpy(&w, p + i, 8);
      state_ = (state_ ^ w) * kPrime;
    }
    add(p + i, size - i);
  }
  uint64_t value() const { return state_; }

 private:
  static constexpr uint64_t kPrime = 0x100000001B3ull;
  uint64_t state_ = 0xCBF29CE484222325ull;
};

// Fnv1a::add_words over a byte stream fed in pieces of any size: equal to one add_words call over
// the concatenation, so a streamed writer and a reader of the whole file agree.
class StreamChecksum {
 public:
  void add(const void* data, size_t size) {
    if (size == 0) return;  // `data` may then be null, which memcpy does not allow
    const auto* p = static_cast<const unsigned char*>(data);
    if (pending_size_ > 0) {
      const size_t take = size < 8 - pending_size_ ? size : 8 - pending_size_;
      std::memcpy(pending_ + pending_size_, p, take);
      pending_size_ += take;
      p += take;
      size -= take;
      if (pending_size_ < 8) return;
      hash_.add_words(pending_, 8);
      pending_size_ = 0;
    }
    const size_t whole = size / 8 * 8;
    hash_.add_words(p, whole);
    std::memcpy(pending_, p + whole, size - whole);
    pending_size_ = size - whole;
  }
  uint64_t value() const {
    Fnv1a h = hash_;
    h.add(pending_, pending_size_);
    return h.value();
  }

 private:
  Fnv1a hash_;
  unsigned char pending_[8] = {};
  size_t pending_size_ = 0;
};

}  // namespace dpok
