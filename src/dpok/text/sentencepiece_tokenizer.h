// SentencePieceTokenizer: a SentencePiece .model (Llama-2, stories260K tok512.model) behind
// dpok::text::Tokenizer, with dpok's own reader and encoder (sentencepiece_model.h explains
// why libsentencepiece is not used).
//
// Matches transformers' slow LlamaTokenizer (legacy mode, the default for these files): special
// token text (bos/eos/unk/pad) is split out first when parse_special, every other chunk is
// encoded by SentencePiece on its own (each gets the dummy "▁" prefix), and add_special_tokens
// adds BOS (tokenizer_config add_bos_token, default true) and EOS (add_eos_token, default false).
// llama.cpp's llama-spm test vectors are encode(text, add_special_tokens=false).
// Decoding renders control and unknown pieces as their text unless skip_special_tokens.
#pragma once

#include <nlohmann/json.hpp>

#include <filesystem>
#include <memory>
#include <string>

#include "dpok/text/added_tokens.h"
#include "dpok/text/sentencepiece_model.h"
#include "dpok/text/tokenizer.h"

namespace dpok::text {

class SentencePieceTokenizer final : public Tokenizer {
 public:
  // Throws IoError (unreadable file) or FormatError (not a SentencePiece model).
  SentencePieceTokenizer(const std::filesystem::path& model_file, const nlohmann::json* config,
                         const std::string& config_file);
  ~SentencePieceTokenizer() override;

  std::vector<int32_t> encode(std::string_view text, bool add_special_tokens = true,
                              bool parse_special = true) const override;
  std::string decode(std::span<const int32_t> ids, bool skip_special_tokens = false) const override;
  int32_t vocab_size() const override;
  std::optional<int32_t> token_to_id(std::string_view token) const override;
  std::string id_to_token(int32_t id) const override;

 private:
  void encode_chunk(std::string_view chunk, std::vector<int32_t>& out) const;

  std::string file_;
  std::unique_ptr<SentencePieceModel> model_;
  AddedTokenMatcher special_matcher_;
};

}  // namespace dpok::text
