// WordPiece model (see wordpiece_model.h).
#include "dpok/text/wordpiece_model.h"

#include <algorithm>

#include "dpok/core/error.h"
#include "dpok/text/utf8.h"

namespace dpok::text {

WordPieceModel::WordPieceModel(const nlohmann::json& spec, const JsonPath& path)
    : TokenModel(Vocabulary(json_require(spec, "vocab", path), path.child("vocab"))),
      unk_id_(vocab_.require_id(spec, "unk_token", path)),
      continuing_subword_prefix_(json_string(json_require(spec, "continuing_subword_prefix", path),
                                             path.child("continuing_subword_prefix"))) {
  const JsonPath max_path = path.child("max_input_chars_per_word");
  const int64_t max_chars =
      json_int(json_require(spec, "max_input_chars_per_word", path), max_path);
  if (max_chars < 0) {
    DPOK_THROW(FormatError, "tokenizer", "{}: expected a count >= 0, got {}", max_path.where(),
               max_chars);
  }
  max_input_chars_per_word_ = static_cast<size_t>(max_chars);
  for (int32_t id = 0; id < id_limit(); ++id) {
    if (const std::string* token = id_to_token(id))
      longest_token_ = std::max(longest_token_, token->size());
  }
}

void WordPieceModel::encode_word(std::string_view word, std::vector<int32_t>& out) const {
  if (word.empty()) return;
  size_t chars = 0;
  for (size_t pos = 0; pos < word.size() && chars <= max_input_chars_per_word_; ++chars)
    pos += utf8_sequence_length(static_cast<unsigned char>(word[pos]));
  if (chars > max_input_chars_per_word_) {
    out.push_back(unk_id_);
    return;
  }
  const size_t first_piece = out.size();
  std::string candidate;
  size_t start = 0;
  while (start < word.size()) {
    // The longest piece starting at `start`: shrink the candidate by one character at a time.
    std::optional<int32_t> id;
    size_t end = word.size();
    while (end > start) {
      const std::string_view piece = word.substr(start, end - start);
      const size_t prefix = start > 0 ? continuing_subword_prefix_.size() : 0;
      if (prefix + piece.size() <= longest_token_) {
        if (start == 0) {
          id = vocab_.id_of(piece);
        } else {
          candidate.assign(continuing_subword_prefix_).append(piece);
          id = vocab_.id_of(candidate);
        }
        if (id) break;
      }
      do {
        --end;
      } while (end > start && (static_cast<unsigned char>(word[end]) & 0xC0) == 0x80);
    }
    if (!id) {
      // tokenizers gives up on the whole word, not just the unmatched rest.
      out.resize(first_piece);
      out.push_back(unk_id_);
      return;
    }
    out.push_back(*id);
    start = end;
  }
}

}  // namespace dpok::text
