// tokenizer.json tokenizer (see hf_tokenizer.h).
#include "dpok/text/hf_tokenizer.h"

#include <algorithm>

#include "dpok/core/error.h"
#include "dpok/text/utf8.h"

namespace dpok::text {

HfTokenizer::HfTokenizer(const nlohmann::json& spec, const std::string& file,
                         const nlohmann::json* config, const std::string& config_file) {
  const JsonPath root{file, ""};
  model_ = make_token_model(json_require(spec, "model", root), root.child("model"));
  if (const nlohmann::json* n = json_find(spec, "normalizer", root))
    normalizer_ = make_normalizer(*n, root.child("normalizer"));
  if (const nlohmann::json* p = json_find(spec, "pre_tokenizer", root)) {
    pre_tokenizer_ = make_pre_tokenizer(*p, root.child("pre_tokenizer"));
  }
  if (const nlohmann::json* d = json_find(spec, "decoder", root))
    decoder_ = make_decoder(*d, root.child("decoder"));
  if (const nlohmann::json* p = json_find(spec, "post_processor", root)) {
    post_ = parse_post_processor(*p, root.child("post_processor"));
  }
  vocab_size_ = model_->id_limit();
  if (const nlohmann::json* list = json_find(spec, "added_tokens", root)) {
    load_added_tokens(*list, root.child("added_tokens"));
  }
  if (config != nullptr) read_config(*config, JsonPath{config_file, ""});
  resolve_special_ids();
  apply_config_post_processor(config_file);
  // Without a tokenizer_config.json naming them, BOS/EOS are the single tokens the file's
  // post-processor adds (e.g. a bare Llama-2 tokenizer.json), so adds_bos() stays truthful.
  if (!bos_id_ && post_.prefix.size() == 1 && token_of(post_.prefix[0])) {
    bos_id_ = post_.prefix[0];
    bos_token_ = *token_of(post_.prefix[0]);
  }
  if (!eos_id_ && post_.suffix.size() == 1 && token_of(post_.suffix[0])) {
    eos_id_ = post_.suffix[0];
    eos_token_ = *token_of(post_.suffix[0]);
  }
  adds_bos_ = bos_id_ &&
              std::find(post_.prefix.begin(), post_.prefix.end(), *bos_id_) != post_.prefix.end();
  adds_eos_ = eos_id_ &&
              std::find(post_.suffix.begin(), post_.suffix.end(), *eos_id_) != post_.suffix.end();
}

HfTokenizer::~HfTokenizer() = default;

void HfTokenizer::load_added_tokens(const nlohmann::json& list, const JsonPath& path) {
  json_require_array(list, path);
  std::vector<AddedToken> raw, normalized;
  std::vector<std::string> raw_patterns, normalized_patterns;
  for (size_t i = 0; i < list.size(); ++i) {
    const JsonPath p = path.child(i);
    AddedToken token;
    token.content = json_string(json_require(list[i], "content", p), p.child("content"));
    const int64_t id = json_int(json_require(list[i], "id", p), p.child("id"));
    if (id < 0 || id > (int64_t{1} << 30)) {
      DPOK_THROW(FormatError, "tokenizer", "{}: id {} out of range", p.child("id").where(), id);
    }
    token.id = static_cast<int32_t>(id);
    token.single_word = json_bool_or(list[i], "single_word", p, false);
    token.lstrip = json_bool_or(list[i], "lstrip", p, false);
    token.rstrip = json_bool_or(list[i], "rstrip", p, false);
    token.special = json_bool_or(list[i], "special", p, false);
    // tokenizers' default: special tokens are not normalized, others are.
    token.normalized = json_bool_or(list[i], "normalized", p, !token.special);
    added_by_id_[token.id] = added_.size();
    added_by_content_[token.content] = token.id;
    added_.push_back(token);
    vocab_size_ = std::max(vocab_size_, token.id + 1);
    if (token.normalized) {
      normalized_patterns.push_back(normalizer_ ? normalizer_->normalize(token.content)
                                                : token.content);
      normalized.push_back(std::move(token));
    } else {
      raw_patterns.push_back(token.content);
      raw.push_back(std::move(token));
    }
  }
  raw_matcher_ = AddedTokenMatcher(std::move(raw), std::move(raw_patterns));
  normalized_matcher_ = AddedTokenMatcher(std::move(normalized), std::move(normalized_patterns));
}

void HfTokenizer::apply_config_post_processor(const std::string& config_file) {
  const bool llama_like = tokenizer_class_.starts_with("LlamaTokenizer") ||
                          tokenizer_class_.starts_with("GemmaTokenizer");
  // Missing keys keep the file's post-processor, except for classes that default to BOS.
  if (!config_add_bos_.has_value() && !config_add_eos_.has_value() && !llama_like) return;
  const bool add_bos = config_add_bos_.has_value() ? *config_add_bos_ : llama_like;
  const bool add_eos = config_add_eos_.has_value() && *config_add_eos_;
  if (add_bos && !bos_id_) {
    DPOK_THROW(ConfigError, "tokenizer", "{}: add_bos_token is true but there is no bos_token",
               config_file);
  }
  if (add_eos && !eos_id_) {
    DPOK_THROW(ConfigError, "tokenizer", "{}: add_eos_token is true but there is no eos_token",
               config_file);
  }
  post_ = SingleTemplate{};
  if (add_bos) post_.prefix.push_back(*bos_id_);
  if (add_eos) post_.suffix.push_back(*eos_id_);
}

std::optional<int32_t> HfTokenizer::token_to_id(std::string_view token) const {
  if (const auto it = added_by_content_.find(token); it != added_by_content_.end())
    return it->second;
  return model_->token_to_id(token);
}

const std::string* HfTokenizer::token_of(int32_t id) const {
  if (const auto it = added_by_id_.find(id); it != added_by_id_.end())
    return &added_[it->second].content;
  return model_->id_to_token(id);
}

std::string HfTokenizer::id_to_token(int32_t id) const {
  if (const std::string* token = token_of(id)) return *token;
  DPOK_THROW(ConfigError, "tokenizer", "token id {} is not in the vocabulary (size {})", id,
             vocab_size_);
}

void HfTokenizer::encode_pieces(std::vector<Piece>& pieces, std::vector<int32_t>& out) const {
  if (pre_tokenizer_) pre_tokenizer_->pre_tokenize(pieces);
  for (const Piece& piece : pieces) model_->encode_word(piece.text, out);
}

void HfTokenizer::encode_plain(std::string_view text, bool at_start, bool parse_special,
                               std::vector<int32_t>& out) const {
  std::string normalized =
      normalizer_ ? normalizer_->normalize(std::string(text)) : std::string(text);
  std::vector<Piece> pieces;
  if (normalized_matcher_.empty()) {
    pieces.push_back({std::move(normalized), at_start});
    encode_pieces(pieces, out);
    return;
  }
  for (const AddedSplit& split : normalized_matcher_.split(normalized, parse_special)) {
    if (split.token >= 0) {
      out.push_back(split.token);
      continue;
    }
    pieces.assign(1, Piece{normalized.substr(split.begin, split.end - split.begin),
                           at_start && split.begin == 0});
    encode_pieces(pieces, out);
  }
}

std::vector<int32_t> HfTokenizer::encode(std::string_view text, bool add_special_tokens,
                                         bool parse_special) const {
  require_valid_utf8(text, "tokenizer");
  std::vector<int32_t> out;
  out.reserve(text.size() / 3 + post_.prefix.size() + post_.suffix.size() + 4);
  if (add_special_tokens) out.insert(out.end(), post_.prefix.begin(), post_.prefix.end());
  if (raw_matcher_.empty()) {
    encode_plain(text, true, parse_special, out);
  } else {
    for (const AddedSplit& split : raw_matcher_.split(text, parse_special)) {
      if (split.token >= 0) {
        out.push_back(split.token);
      } else {
        encode_plain(text.substr(split.begin, split.end - split.begin), split.begin == 0,
                     parse_special, out);
      }
    }
  }
  if (add_special_tokens) out.insert(out.end(), post_.suffix.begin(), post_.suffix.end());
  return out;
}

std::string HfTokenizer::decode(std::span<const int32_t> ids, bool skip_special_tokens) const {
  std::vector<std::string> tokens;
  tokens.reserve(ids.size());
  for (const int32_t id : ids) {
    if (const auto it = added_by_id_.find(id); it != added_by_id_.end()) {
      if (!(skip_special_tokens && added_[it->second].special))
        tokens.push_back(added_[it->second].content);
    } else if (const std::string* token = model_->id_to_token(id)) {
      tokens.push_back(*token);
    }
  }
  if (!decoder_) {
    // tokenizers without a decoder joins tokens with spaces.
    std::string joined;
    for (size_t i = 0; i < tokens.size(); ++i) joined += (i ? " " : "") + tokens[i];
    return joined;
  }
  decoder_->decode_chain(tokens);
  std::string text;
  for (const std::string& t : tokens) text += t;
  return text;
}

}  // namespace dpok::text
