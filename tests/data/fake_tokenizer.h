// A byte-level tokenizer for data tests: id = byte + 3, BOS 1, EOS 2, PAD 0; adds BOS only.
// Lets the data tests pin exact ids without depending on a real vocabulary.
#pragma once

#include <string>

#include "dpok/core/error.h"
#include "dpok/text/tokenizer.h"

namespace dpok::data::testing {

class FakeTokenizer : public text::Tokenizer {
 public:
  static constexpr int32_t kOffset = 3;
  explicit FakeTokenizer(bool adds_bos = true) {
    bos_token_ = "<s>";
    eos_token_ = "</s>";
    pad_token_ = "<pad>";
    bos_id_ = 1;
    eos_id_ = 2;
    pad_id_ = 0;
    adds_bos_ = adds_bos;
  }
  std::vector<int32_t> encode(std::string_view text, bool add_special_tokens = true,
                              bool /*parse_special*/ = true) const override {
    std::vector<int32_t> ids;
    if (add_special_tokens && adds_bos_) ids.push_back(1);
    // "<s>" / "</s>" in text are special tokens, like a real tokenizer's parse_special.
    for (size_t i = 0; i < text.size(); ++i) {
      if (text.compare(i, 3, "<s>") == 0) {
        ids.push_back(1);
        i += 2;
      } else if (text.compare(i, 4, "</s>") == 0) {
        ids.push_back(2);
        i += 3;
      } else {
        ids.push_back(static_cast<unsigned char>(text[i]) + kOffset);
      }
    }
    return ids;
  }
  std::string decode(std::span<const int32_t> ids,
                     bool skip_special_tokens = false) const override {
    std::string out;
    for (const int32_t id : ids) {
      if (id >= kOffset) {
        out.push_back(static_cast<char>(id - kOffset));
      } else if (!skip_special_tokens && id == 1) {
        out += "<s>";
      } else if (!skip_special_tokens && id == 2) {
        out += "</s>";
      }
    }
    return out;
  }
  int32_t vocab_size() const override { return 256 + kOffset; }
  std::optional<int32_t> token_to_id(std::string_view token) const override {
    if (token == "<s>") return 1;
    if (token == "</s>") return 2;
    if (token.size() == 1) return static_cast<unsigned char>(token[0]) + kOffset;
    return std::nullopt;
  }
  std::string id_to_token(int32_t id) const override {
    if (id < 0 || id >= vocab_size()) DPOK_THROW(ConfigError, "fake", "unknown id {}", id);
    if (id < kOffset) return id == 1 ? "<s>" : id == 2 ? "</s>" : "<pad>";
    return std::string(1, static_cast<char>(id - kOffset));
  }
};

// Ids of `text` under FakeTokenizer (no special tokens).
inline std::vector<int32_t> fake_ids(std::string_view text) {
  std::vector<int32_t> ids;
  for (const char c : text) ids.push_back(static_cast<unsigned char>(c) + FakeTokenizer::kOffset);
  return ids;
}

}  // namespace dpok::data::testing
