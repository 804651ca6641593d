// A frozen BERT-family sentence encoder, as sentence-transformers runs one (the DPO-Kernels
// paper's semantic term embeds prompts and responses with such an encoder).
//
// Reads a sentence-transformers directory: config.json (model_type "bert": post-norm encoder,
// absolute position embeddings, token type 0, exact-erf GELU), model.safetensors (BertModel names,
// with or without a "bert." prefix; the pooler is not used), modules.json (a Normalize module
// turns on L2 normalisation), 1_Pooling/config.json (mean or CLS pooling) and
// sentence_bert_config.json (max_seq_length). The forward is plain tensor code in fp32 with
// scaled_dot_product_attention over a key-padding mask; no gradients are ever needed.
//
// Does not: tokenize (the caller encodes with the directory's tokenizer.json, truncating to
// max_seq_length() with [SEP] kept last, as the tokenizer's truncation does), or run other
// encoder families (RoBERTa, relative positions: UnsupportedError naming the key).
#pragma once

#include <ATen/ATen.h>

#include <filesystem>
#include <string>
#include <unordered_map>

namespace dpok::model {

struct SentenceEncoderConfig {
  int64_t vocab_size = 0, hidden_size = 0, num_hidden_layers = 0, num_attention_heads = 0,
          intermediate_size = 0, max_position_embeddings = 0;
  double layer_norm_eps = 1e-12;
  int64_t max_seq_length = 512;  // sentence_bert_config.json, at most max_position_embeddings
  bool mean_pooling = true;      // false: the [CLS] token's state
  bool normalize = false;        // a Normalize module follows the pooling
};

class SentenceEncoder {
 public:
  // Loads `dir` (see above) onto `device`. Throws IoError / FormatError / UnsupportedError naming
  // the file and key.
  static SentenceEncoder load(const std::filesystem::path& dir, c10::Device device = c10::kCPU);

  // Sentence embeddings [B, hidden] (fp32, on the encoder's device) of `ids` [B, T] whose
  // `attention_mask` [B, T] marks the real tokens (right padding). T <= max_seq_length().
  at::Tensor encode(const at::Tensor& ids, const at::Tensor& attention_mask) const;

  const SentenceEncoderConfig& config() const { return config_; }
  int64_t max_seq_length() const { return config_.max_seq_length; }
  int64_t dimension() const { return config_.hidden_size; }

 private:
  SentenceEncoder() = default;
  const at::Tensor& weight(const std::string& name) const;
  at::Tensor linear(const at::Tensor& x, const std::string& prefix) const;
  at::Tensor layer_norm(const at::Tensor& x, const std::string& prefix) const;

  SentenceEncoderConfig config_;
  std::unordered_map<std::string, at::Tensor> weights_;  // BertModel names without "bert."
};

}  // namespace dpok::model
