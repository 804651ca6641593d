// The WordPiece model of tokenizer.json (BERT and its descendants): greedy longest-match-first
// pieces, the first looked up as is and the others with continuing_subword_prefix ("##").
//
// Does: turn one pre-tokenized word into ids exactly as Hugging Face tokenizers' WordPiece does:
// a word of more than max_input_chars_per_word code points, or one with a position where no
// vocabulary piece starts, becomes a single unk_token. Does not: normalize, pre-tokenize, or
// handle added tokens (hf_tokenizer.h).
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "dpok/text/json_util.h"
#include "dpok/text/token_model.h"

namespace dpok::text {

class WordPieceModel final : public TokenModel {
 public:
  // `spec` is tokenizer.json's "model" object (type "WordPiece"), whose unk_token,
  // continuing_subword_prefix, max_input_chars_per_word and vocab tokenizers requires too.
  // Throws FormatError naming the JSON path when one is missing or malformed, or when unk_token
  // is not in the vocabulary.
  WordPieceModel(const nlohmann::json& spec, const JsonPath& path);

  void encode_word(std::string_view word, std::vector<int32_t>& out) const override;

 private:
  int32_t unk_id_ = 0;
  std::string continuing_subword_prefix_;
  size_t max_input_chars_per_word_ = 0;
  // Bytes of the longest token: longer candidates cannot match, so they are not looked up.
  size_t longest_token_ = 0;
};

}  // namespace dpok::text
