// HfTokenizer: a Hugging Face tokenizer.json (model BPE or WordPiece) behind
// dpok::text::Tokenizer.
//
// Pipeline, as in the tokenizers library: split out non-normalized added tokens; normalize the
// rest; split out normalized added tokens; pre-tokenize; run the model on each word; then the
// post-processor (BOS/EOS, BERT's [CLS]/[SEP]) when add_special_tokens. tokenizer_config.json's
// add_bos_token / add_eos_token, when present, replace the post-processor with [bos] $A [eos] as
// transformers' update_post_processor() does (LlamaTokenizer(Fast)/GemmaTokenizer(Fast) default
// to BOS on). The file's "truncation" and "padding" are ignored (dpok truncates and pads in the
// data subsystem). Does not: Unigram or WordLevel models (UnsupportedError naming the type and
// file).
#pragma once

#include <nlohmann/json.hpp>

#include <memory>
#include <string>
#include <unordered_map>

#include "dpok/text/added_tokens.h"
#include "dpok/text/decoder.h"
#include "dpok/text/normalizer.h"
#include "dpok/text/post_processor.h"
#include "dpok/text/pre_tokenizer.h"
#include "dpok/text/token_model.h"
#include "dpok/text/tokenizer.h"

namespace dpok::text {

class HfTokenizer final : public Tokenizer {
 public:
  // `spec`: the parsed tokenizer.json (from `file`); `config`: tokenizer_config.json or null.
  HfTokenizer(const nlohmann::json& spec, const std::string& file, const nlohmann::json* config,
              const std::string& config_file);
  ~HfTokenizer() override;

  std::vector<int32_t> encode(std::string_view text, bool add_special_tokens = true,
                              bool parse_special = true) const override;
  std::string decode(std::span<const int32_t> ids, bool skip_special_tokens = false) const override;
  int32_t vocab_size() const override { return vocab_size_; }
  std::optional<int32_t> token_to_id(std::string_view token) const override;
  std::string id_to_token(int32_t id) const override;

 private:
  void load_added_tokens(const nlohmann::json& list, const JsonPath& path);
  void apply_config_post_processor(const std::string& config_file);
  // Encodes plain text between added tokens: normalize, normalized added tokens, model.
  void encode_plain(std::string_view text, bool at_start, bool parse_special,
                    std::vector<int32_t>& out) const;
  void encode_pieces(std::vector<Piece>& pieces, std::vector<int32_t>& out) const;
  const std::string* token_of(int32_t id) const;

  std::unique_ptr<Normalizer> normalizer_;
  std::unique_ptr<PreTokenizer> pre_tokenizer_;
  std::unique_ptr<TokenModel> model_;
  std::unique_ptr<Decoder> decoder_;
  SingleTemplate post_;
  std::vector<AddedToken> added_;
  std::unordered_map<int32_t, size_t> added_by_id_;
  TokenMap added_by_content_;
  AddedTokenMatcher raw_matcher_;         // normalized == false: matched on the input text
  AddedTokenMatcher normalized_matcher_;  // normalized == true: matched after normalization
  int32_t vocab_size_ = 0;
};

}  // namespace dpok::text
