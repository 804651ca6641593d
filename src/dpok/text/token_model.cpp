// Vocabulary and model factory (see token_model.h).
#include "dpok/text/token_model.h"

#include "dpok/core/error.h"
#include "dpok/text/bpe_model.h"
#include "dpok/text/wordpiece_model.h"

namespace dpok::text {

Vocabulary::Vocabulary(const nlohmann::json& vocab, const JsonPath& path) {
  if (!vocab.is_object()) {
    DPOK_THROW(FormatError, "tokenizer", "{}: expected an object of token -> id, got {}",
               path.where(), json_type_name(vocab));
  }
  ids_.reserve(vocab.size());
  for (const auto& [token, value] : vocab.items()) {
    const int64_t id = json_int(value, path.child(token));
    if (id < 0 || id > (int64_t{1} << 30)) {
      DPOK_THROW(FormatError, "tokenizer", "{}: id {} out of range [0, 2^30]",
                 path.child(token).where(), id);
    }
    ids_.emplace(token, static_cast<int32_t>(id));
    if (static_cast<size_t>(id) >= tokens_.size()) {
      tokens_.resize(id + 1);
      has_id_.resize(id + 1, false);
    }
    tokens_[id] = token;
    has_id_[id] = true;
  }
}

int32_t Vocabulary::require_id(const nlohmann::json& spec, const char* key,
                               const JsonPath& path) const {
  const std::string token = json_string(json_require(spec, key, path), path.child(key));
  const auto id = id_of(token);
  if (!id) {
    DPOK_THROW(FormatError, "tokenizer", "{}: {} \"{}\" is not in the vocabulary",
               path.child(key).where(), key, token);
  }
  return *id;
}

std::unique_ptr<TokenModel> make_token_model(const nlohmann::json& spec, const JsonPath& path) {
  const std::string type = json_string_or(spec, "type", path, "BPE");
  if (type == "BPE") return std::make_unique<BpeModel>(spec, path);
  if (type == "WordPiece") return std::make_unique<WordPieceModel>(spec, path);
  DPOK_THROW(UnsupportedError, "tokenizer",
             "{}: model type \"{}\" is not supported (only BPE and WordPiece)", path.where(), type);
}

}  // namespace dpok::text
