// Added-token matching (see added_tokens.h).
#include "dpok/text/added_tokens.h"

#include <algorithm>

#include "dpok/text/unicode.h"
#include "dpok/text/utf8.h"

namespace dpok::text {
namespace {

bool is_word_char(char32_t c) {
  return c == '_' || is_alphanumeric(c);
}

// The code point ending at byte `end` (exclusive) of valid UTF-8 `text`.
char32_t code_point_before(std::string_view text, size_t end) {
  size_t start = end - 1;
  while (start > 0 && (static_cast<unsigned char>(text[start]) & 0xC0) == 0x80) --start;
  return next_code_point(text, start);
}

}  // namespace

AddedTokenMatcher::AddedTokenMatcher(std::vector<AddedToken> tokens,
                                     std::vector<std::string> patterns)
    : tokens_(std::move(tokens)), patterns_(std::move(patterns)) {
  for (size_t i = 0; i < patterns_.size(); ++i) {
    if (!patterns_[i].empty()) {
      by_first_byte_[static_cast<uint8_t>(patterns_[i][0])].push_back(static_cast<int>(i));
    }
  }
  for (auto& bucket : by_first_byte_) {
    std::stable_sort(bucket.begin(), bucket.end(),
                     [&](int a, int b) { return patterns_[a].size() > patterns_[b].size(); });
  }
}

int AddedTokenMatcher::longest_at(std::string_view text, size_t pos) const {
  for (const int index : by_first_byte_[static_cast<uint8_t>(text[pos])]) {
    const std::string& p = patterns_[index];
    if (text.size() - pos >= p.size() && text.compare(pos, p.size(), p) == 0) return index;
  }
  return -1;
}

std::vector<AddedSplit> AddedTokenMatcher::split(std::string_view text, bool parse_special) const {
  std::vector<AddedSplit> out;
  size_t start_offset = 0;  // end of the previous accepted token
  size_t pos = 0;
  while (pos < text.size()) {
    const int index =
        by_first_byte_[static_cast<uint8_t>(text[pos])].empty() ? -1 : longest_at(text, pos);
    if (index < 0) {
      ++pos;
      continue;
    }
    const AddedToken& token = tokens_[index];
    size_t start = pos;
    size_t stop = pos + patterns_[index].size();
    pos = stop;  // matches never overlap, accepted or not (aho-corasick's find_iter)
    if (start < start_offset) continue;  // swallowed by the previous token's rstrip
    if (!parse_special && token.special) continue;
    if (token.single_word) {
      const bool left_ok = start == 0 || !is_word_char(code_point_before(text, start));
      size_t after = stop;
      const bool right_ok = stop == text.size() || !is_word_char(next_code_point(text, after));
      if (!left_ok || !right_ok) continue;
    }
    if (token.lstrip) {
      size_t new_start = start;
      while (new_start > 0 && is_whitespace(code_point_before(text, new_start))) {
        size_t back = new_start - 1;
        while (back > 0 && (static_cast<unsigned char>(text[back]) & 0xC0) == 0x80) --back;
        new_start = back;
      }
      start = std::max(new_start, start_offset);
    }
    if (token.rstrip) {
      while (stop < text.size()) {
        size_t next = stop;
        if (!is_whitespace(next_code_point(text, next))) break;
        stop = next;
      }
      pos = std::max(pos, stop);
    }
    if (start_offset < start) out.push_back({start_offset, start, -1});
    out.push_back({start, stop, token.id});
    start_offset = stop;
  }
  if (start_offset < text.size()) out.push_back({start_offset, text.size(), -1});
  return out;
}

}  // namespace dpok::text
