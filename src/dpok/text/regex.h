// A compiled PCRE2 pattern (UTF + UCP, JIT when available) for the Split pre-tokenizer and
// the Replace normalizer/decoder.
//
// Does: compile once, then find all matches in valid UTF-8 with the iteration rules of the
// Oniguruma binding Hugging Face tokenizers uses (an empty match right after the previous match
// is skipped by advancing one character). Thread-safe: each call uses its own match data and a
// per-thread JIT stack. Does not: validate the subject (callers pass valid UTF-8 only).
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace dpok::text {

using ByteRange = std::pair<size_t, size_t>;  // [begin, end) byte offsets

class Regex {
 public:
  // Throws FormatError naming `where` (file and JSON path) when the pattern does not compile.
  Regex(const std::string& pattern, const std::string& where);
  ~Regex();
  Regex(const Regex&) = delete;
  Regex& operator=(const Regex&) = delete;

  // Appends every match of the pattern in `subject` (valid UTF-8) to `out`, in order.
  void find_all(std::string_view subject, std::vector<ByteRange>& out) const;

  const std::string& pattern() const { return pattern_; }

 private:
  struct Code;
  std::string pattern_;
  std::unique_ptr<Code> code_;
};

// Every non-overlapping occurrence of the literal `needle` in `haystack` (empty needle: none).
void find_all_literal(std::string_view haystack, std::string_view needle,
                      std::vector<ByteRange>& out);

}  // namespace dpok::text
