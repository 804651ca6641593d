// dpok::text::Tokenizer: text <-> token ids exactly as Hugging Face transformers does it, for
// tokenizer.json files (BPE: GPT-2, Llama-3, Qwen2/3, Llama-2/Mistral/Gemma style; WordPiece:
// BERT style, e.g. all-MiniLM-L6-v2) and SentencePiece .model files, plus the tokenizer's chat
// template.
//
// Does: load a model directory / tokenizer.json / .model; encode (added and special tokens,
// normalizer, pre-tokenizer, model, post-processor for BOS/EOS); decode; render the chat
// template; batch-encode on many threads. All methods are const and thread-safe.
// Does not: offsets, pairs, truncation or padding (the data subsystem does batching), or
// transformers' clean_up_tokenization_spaces (lossy; decode follows the tokenizers library).
//
// Errors: IoError (missing files), FormatError (malformed files, with file and JSON path;
// invalid UTF-8 input, with byte offset), UnsupportedError (a component dpok does not
// implement, named with its file), ConfigError (bad arguments, e.g. an out-of-range id).
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace dpok::text {

struct JsonPath;
class ChatTemplate;

class Tokenizer {
 public:
  virtual ~Tokenizer();
  Tokenizer(const Tokenizer&) = delete;
  Tokenizer& operator=(const Tokenizer&) = delete;

  // A model directory (tokenizer.json [+ tokenizer_config.json, chat_template.jinja], else
  // tokenizer.model), a tokenizer.json, a SentencePiece .model, or a GGUF file whose metadata
  // describes its tokenizer (gguf_tokenizer.h). A tokenizer_config.json next to a tokenizer.json
  // or .model file is read too.
  static std::unique_ptr<Tokenizer> load(const std::filesystem::path& path);

  // Token ids of `text` (valid UTF-8, else FormatError with the byte offset).
  // add_special_tokens: apply the post-processor (BOS/EOS per tokenizer_config add_bos_token /
  //   add_eos_token, else the file's TemplateProcessing; SentencePiece: BOS like LlamaTokenizer).
  // parse_special: match special-token text (e.g. "<|im_start|>") in `text`; false treats it as
  //   plain text (transformers' split_special_tokens=True). Non-special added tokens always match.
  virtual std::vector<int32_t> encode(std::string_view text, bool add_special_tokens = true,
                                      bool parse_special = true) const = 0;
  // Text of `ids`; ids the tokenizer does not know are skipped, as Hugging Face does.
  virtual std::string decode(std::span<const int32_t> ids,
                             bool skip_special_tokens = false) const = 0;
  // One past the largest id, added tokens included (== len(tokenizer) when ids are contiguous).
  virtual int32_t vocab_size() const = 0;
  virtual std::optional<int32_t> token_to_id(std::string_view token) const = 0;
  // The vocabulary string of `id`; throws ConfigError for an unknown id.
  virtual std::string id_to_token(int32_t id) const = 0;

  std::optional<int32_t> bos_id() const { return bos_id_; }
  std::optional<int32_t> eos_id() const { return eos_id_; }
  std::optional<int32_t> pad_id() const { return pad_id_; }
  const std::string& bos_token() const { return bos_token_; }  // "" when there is none
  const std::string& eos_token() const { return eos_token_; }
  const std::string& pad_token() const { return pad_token_; }
  bool adds_bos() const { return adds_bos_; }  // what encode(..., add_special_tokens=true) adds
  bool adds_eos() const { return adds_eos_; }
  bool has_chat_template() const { return !chat_template_.empty(); }
  const std::string& chat_template_source() const { return chat_template_; }

  // Renders the chat template as transformers' apply_chat_template(tokenize=False) does:
  // variables messages, add_generation_prompt, the special tokens (bos_token, eos_token, ...),
  // tools and documents (none unless given), then `extra` merged in. Throws ConfigError when
  // the tokenizer has no template.
  std::string apply_chat_template(
      const nlohmann::ordered_json& messages, bool add_generation_prompt,
      const nlohmann::ordered_json& extra = nlohmann::ordered_json::object()) const;

  // Encodes many texts on `threads` threads (0 = all cores); result order = input order.
  // The first error thrown by any text is rethrown.
  std::vector<std::vector<int32_t>> encode_batch(const std::vector<std::string>& texts,
                                                 bool add_special_tokens = true,
                                                 int threads = 0) const;

 protected:
  Tokenizer() = default;
  // Reads special tokens and the chat template from tokenizer_config.json (already parsed).
  void read_config(const nlohmann::json& config, const JsonPath& path);
  // Resolves the special-token strings to ids (call once the vocabulary is loaded).
  void resolve_special_ids();

  std::string bos_token_, eos_token_, pad_token_, unk_token_;
  std::optional<int32_t> bos_id_, eos_id_, pad_id_;
  // add_bos_token / add_eos_token from the config, when present.
  std::optional<bool> config_add_bos_, config_add_eos_;
  std::string tokenizer_class_;
  bool adds_bos_ = false, adds_eos_ = false;
  std::string chat_template_;

 private:
  // chat_template_ parsed on first use (shared_ptr: its deleter does not need the full type here).
  mutable std::mutex template_mutex_;
  mutable std::shared_ptr<const ChatTemplate> parsed_template_;
};

}  // namespace dpok::text
