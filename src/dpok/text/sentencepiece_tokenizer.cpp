// SentencePiece tokenizer (see sentencepiece_tokenizer.h).
#include "dpok/text/sentencepiece_tokenizer.h"

#include "dpok/core/error.h"
#include "dpok/core/file_util.h"
#include "dpok/text/json_util.h"
#include "dpok/text/utf8.h"

namespace dpok::text {

SentencePieceTokenizer::SentencePieceTokenizer(const std::filesystem::path& model_file,
                                               const nlohmann::json* config,
                                               const std::string& config_file)
    : file_(model_file.string()),
      model_(std::make_unique<SentencePieceModel>(read_file(model_file), file_)) {
  const auto piece_of = [&](int32_t id) {
    return id >= 0 ? model_->piece(id).text : std::string();
  };
  bos_token_ = piece_of(model_->bos_id());
  eos_token_ = piece_of(model_->eos_id());
  pad_token_ = piece_of(model_->pad_id());
  unk_token_ = piece_of(model_->unk_id());
  if (config != nullptr) {
    const std::string bos = bos_token_, eos = eos_token_, unk = unk_token_;
    read_config(*config, JsonPath{config_file, ""});
    // A config without these keys keeps the model's own pieces.
    if (bos_token_.empty()) bos_token_ = bos;
    if (eos_token_.empty()) eos_token_ = eos;
    if (unk_token_.empty()) unk_token_ = unk;
  }
  resolve_special_ids();
  adds_bos_ = config_add_bos_.value_or(true) && bos_id_.has_value();
  adds_eos_ = config_add_eos_.value_or(false) && eos_id_.has_value();
  std::vector<AddedToken> specials;
  std::vector<std::string> patterns;
  for (const std::string* token : {&bos_token_, &eos_token_, &unk_token_, &pad_token_}) {
    const auto id = token->empty() ? std::nullopt : token_to_id(*token);
    if (!id) continue;
    AddedToken added;
    added.content = *token;
    added.id = *id;
    added.special = true;
    specials.push_back(added);
    patterns.push_back(*token);
  }
  special_matcher_ = AddedTokenMatcher(std::move(specials), std::move(patterns));
}

SentencePieceTokenizer::~SentencePieceTokenizer() = default;

int32_t SentencePieceTokenizer::vocab_size() const {
  return model_->size();
}

std::optional<int32_t> SentencePieceTokenizer::token_to_id(std::string_view token) const {
  const int32_t id = model_->find(token);
  if (id < 0) return std::nullopt;
  return id;
}

std::string SentencePieceTokenizer::id_to_token(int32_t id) const {
  if (id < 0 || id >= vocab_size()) {
    DPOK_THROW(ConfigError, "tokenizer", "token id {} is not in the vocabulary of {} (size {})", id,
               file_, vocab_size());
  }
  return model_->piece(id).text;
}

void SentencePieceTokenizer::encode_chunk(std::string_view chunk, std::vector<int32_t>& out) const {
  const std::vector<int32_t> ids = model_->encode(chunk);
  out.insert(out.end(), ids.begin(), ids.end());
}

std::vector<int32_t> SentencePieceTokenizer::encode(std::string_view text, bool add_special_tokens,
                                                    bool parse_special) const {
  require_valid_utf8(text, "tokenizer");
  std::vector<int32_t> out;
  if (add_special_tokens && adds_bos_) out.push_back(*bos_id_);
  if (parse_special) {
    for (const AddedSplit& split : special_matcher_.split(text, true)) {
      if (split.token >= 0) {
        out.push_back(split.token);
      } else {
        encode_chunk(text.substr(split.begin, split.end - split.begin), out);
      }
    }
  } else if (!text.empty()) {
    encode_chunk(text, out);
  }
  if (add_special_tokens && adds_eos_) out.push_back(*eos_id_);
  return out;
}

std::string SentencePieceTokenizer::decode(std::span<const int32_t> ids,
                                           bool skip_special_tokens) const {
  std::string text;
  std::vector<int32_t> run;
  const auto flush = [&] {
    text += model_->decode(run);
    run.clear();
  };
  for (const int32_t id : ids) {
    if (id < 0 || id >= vocab_size()) continue;  // unknown ids are skipped, as Hugging Face does
    const auto type = model_->piece(id).type;
    if (type == SentencePieceModel::PieceType::kControl ||
        type == SentencePieceModel::PieceType::kUnknown) {
      flush();
      if (!skip_special_tokens) text += model_->piece(id).text;
      continue;
    }
    run.push_back(id);
  }
  flush();
  return text;
}

}  // namespace dpok::text
