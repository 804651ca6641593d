// The model stage of a tokenizer.json pipeline: the interface the BPE and WordPiece models share
// (one pre-tokenized word in, ids out), their token <-> id vocabulary, and the factory that picks
// the model by its "type".
//
// Does: load "vocab" objects, look tokens and ids up, build the model of a "model" object.
// Does not: normalize, pre-tokenize or handle added tokens (hf_tokenizer.h). Unigram and
// WordLevel models are refused with UnsupportedError naming the type and the file.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "dpok/text/json_util.h"

namespace dpok::text {

// Hash supporting heterogeneous lookup with std::string_view keys.
struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
};
using TokenMap = std::unordered_map<std::string, int32_t, StringHash, std::equal_to<>>;

// A model's "vocab": an object of token -> id (ids need not be contiguous).
class Vocabulary {
 public:
  // Throws FormatError naming the JSON path when `vocab` is not an object of ids in [0, 2^30].
  Vocabulary(const nlohmann::json& vocab, const JsonPath& path);

  std::optional<int32_t> id_of(std::string_view token) const {
    const auto it = ids_.find(token);
    return it == ids_.end() ? std::nullopt : std::optional<int32_t>(it->second);
  }
  // The token for `id`, or nullptr when the vocabulary has no such id.
  const std::string* token_of(int32_t id) const {
    if (id < 0 || static_cast<size_t>(id) >= tokens_.size() || !has_id_[id]) return nullptr;
    return &tokens_[id];
  }
  // One past the largest id.
  int32_t id_limit() const { return static_cast<int32_t>(tokens_.size()); }
  // The id of the `key` entry of `spec` (e.g. "unk_token"), which must be in the vocabulary.
  int32_t require_id(const nlohmann::json& spec, const char* key, const JsonPath& path) const;

 private:
  TokenMap ids_;
  std::vector<std::string> tokens_;
  std::vector<bool> has_id_;
};

class TokenModel {
 public:
  virtual ~TokenModel() = default;

  // Appends the ids of `word` (one pre-token, valid UTF-8) to `out`.
  virtual void encode_word(std::string_view word, std::vector<int32_t>& out) const = 0;

  std::optional<int32_t> token_to_id(std::string_view token) const { return vocab_.id_of(token); }
  // The token for `id`, or nullptr when the model has no such id.
  const std::string* id_to_token(int32_t id) const { return vocab_.token_of(id); }
  // One past the largest id in the vocabulary.
  int32_t id_limit() const { return vocab_.id_limit(); }

 protected:
  explicit TokenModel(Vocabulary vocab) : vocab_(std::move(vocab)) {}

  Vocabulary vocab_;
};

// The model of tokenizer.json's "model" object: BPE (the default when "type" is absent, as in
// old files) or WordPiece. Throws FormatError for malformed specs, UnsupportedError for other
// types.
std::unique_ptr<TokenModel> make_token_model(const nlohmann::json& spec, const JsonPath& path);

}  // namespace dpok::text
