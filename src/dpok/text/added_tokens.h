// Added tokens of tokenizer.json ("added_tokens"): literal strings matched in the input before
// the model runs, with Hugging Face tokenizers' rules (leftmost-longest, non-overlapping;
// single_word, lstrip and rstrip flags; special tokens skipped when special parsing is off).
//
// Does: find added tokens in a piece of text and split it around them. Does not: decide which
// tokens are matched before or after normalization (hf_tokenizer.cpp builds one matcher for each).
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace dpok::text {

struct AddedToken {
  std::string content;
  int32_t id = -1;
  bool single_word = false;
  bool lstrip = false;
  bool rstrip = false;
  bool normalized = false;
  bool special = false;
};

// A piece of the input: plain text [begin, end) or an added token (token >= 0: its id).
struct AddedSplit {
  size_t begin, end;
  int32_t token;
};

class AddedTokenMatcher {
 public:
  AddedTokenMatcher() = default;
  // `patterns[i]` is the text matched for `tokens[i]` (the content, normalized when the token
  // is). Empty patterns never match.
  AddedTokenMatcher(std::vector<AddedToken> tokens, std::vector<std::string> patterns);

  bool empty() const { return tokens_.empty(); }

  // Splits `text` (valid UTF-8) into plain pieces and added tokens, in order, skipping empty
  // plain pieces. With parse_special false, special tokens are left as plain text.
  std::vector<AddedSplit> split(std::string_view text, bool parse_special) const;

 private:
  // Index into tokens_ of the longest pattern starting at text[pos], or -1.
  int longest_at(std::string_view text, size_t pos) const;

  std::vector<AddedToken> tokens_;
  std::vector<std::string> patterns_;
  // Token indices by the first byte of their pattern, longest pattern first.
  std::array<std::vector<int>, 256> by_first_byte_;
};

}  // namespace dpok::text
