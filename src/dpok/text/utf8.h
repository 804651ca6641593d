// UTF-8 helpers for the tokenizers: validation with byte offsets, code point iteration,
// Hugging Face's lossy decoding, and GPT-2's byte <-> printable-character table.
//
// Does: validate input text (strict UTF-8: no overlongs, no surrogates, <= U+10FFFF), decode
// and encode code points, and reproduce Rust's String::from_utf8_lossy (each maximal invalid
// subsequence becomes one U+FFFD), which Hugging Face tokenizers uses when decoding bytes.
// Does not: normalize (normalizer.h) or classify characters (see unicode_props.h).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace dpok::text {

// Byte offset of the first invalid UTF-8 sequence in `s`, or nullopt when `s` is valid.
std::optional<size_t> find_invalid_utf8(std::string_view s);

// Throws FormatError("[component] invalid UTF-8 at byte N ...") when `s` is not valid UTF-8.
void require_valid_utf8(std::string_view s, const char* component);

// Decodes the code point starting at s[pos] (s must be valid UTF-8) and advances pos past it.
char32_t next_code_point(std::string_view s, size_t& pos);

// Length in bytes of the UTF-8 sequence whose lead byte is `lead` (1 for invalid leads).
inline size_t utf8_sequence_length(unsigned char lead) {
  if (lead < 0x80) return 1;
  if ((lead >> 5) == 0x6) return 2;
  if ((lead >> 4) == 0xE) return 3;
  if ((lead >> 3) == 0x1E) return 4;
  return 1;
}

// Appends the UTF-8 encoding of `cp` (a valid scalar value) to `out`.
void append_utf8(std::string& out, char32_t cp);

// Rust's String::from_utf8_lossy: invalid sequences become U+FFFD, one per maximal subpart.
std::string utf8_lossy(std::string_view bytes);

// GPT-2's reversible map from bytes to printable code points (bytes_to_unicode()).
class ByteLevelTable {
 public:
  static const ByteLevelTable& instance();
  // UTF-8 text of the character standing for byte b.
  const std::string& encode(uint8_t b) const { return byte_to_text_[b]; }
  // The byte a code point stands for, or -1 when cp is not in the table.
  int decode(char32_t cp) const { return cp < kCodePoints ? cp_to_byte_[cp] : -1; }

 private:
  ByteLevelTable();
  static constexpr char32_t kCodePoints = 512;
  std::array<std::string, 256> byte_to_text_;
  std::array<int16_t, kCodePoints> cp_to_byte_;
};

}  // namespace dpok::text
