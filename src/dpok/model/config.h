// Model configuration: the hyperparameters of a Llama-family decoder, parsed from and written to
// Hugging Face's config.json.
//
// Reads both spellings transformers has used: 4.x (`rope_theta` + `rope_scaling` {rope_type|type,
// factor, ...}, `torch_dtype`) and 5.x (`rope_parameters` {rope_type, rope_theta, ...}, `dtype`).
// Writes a config.json that both read (rope_parameters for 5.x plus rope_theta/rope_scaling for
// 4.x). Which architectures exist and how they differ lives in architecture.h (one table row per
// family); this file only knows keys. Does not read weights.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace dpok::model {

// Rotary position embedding settings. Supported types: "default", "linear", "llama3".
struct RopeConfig {
  double theta = 10000;
  std::string type = "default";
  double factor = 1, low_freq_factor = 1, high_freq_factor = 4;
  int64_t original_max_position_embeddings = 0;

  bool operator==(const RopeConfig&) const = default;
};

struct ModelConfig {
  // "LlamaForCausalLM", "Qwen2ForCausalLM", "Qwen3ForCausalLM", "MistralForCausalLM".
  std::string architecture, model_type;
  int64_t vocab_size = 0, hidden_size = 0, intermediate_size = 0, num_hidden_layers = 0,
          num_attention_heads = 0, num_key_value_heads = 0, head_dim = 0,
          max_position_embeddings = 0;
  double rms_norm_eps = 1e-6;
  RopeConfig rope;
  bool tie_word_embeddings = false;
  bool attention_bias = false;      // bias on q_proj, k_proj, v_proj
  bool attention_out_bias = false;  // bias on o_proj (Llama/Qwen3 `attention_bias`; never Qwen2)
  bool qk_norm = false;             // Qwen3: per-head RMSNorm on q and k before RoPE
  // Mistral's sliding window. dpok does not implement windowed attention: a forward longer than
  // the window throws UnsupportedError rather than silently attending too far.
  std::optional<int64_t> sliding_window;
  std::optional<int64_t> bos_token_id, pad_token_id;
  std::vector<int64_t> eos_token_ids;
  std::string torch_dtype = "float32";  // the checkpoint's stored dtype, as transformers names it

  // Parses a config.json object. `source_for_errors` (usually the path) is named in every error.
  // Throws ConfigError (missing/invalid key, inconsistent head counts) or UnsupportedError
  // (unknown architecture, activation other than silu, mlp_bias, unsupported RoPE type).
  static ModelConfig from_hf_json(const nlohmann::json& json, const std::string& source_for_errors);

  // The config.json transformers' save_pretrained would write for this model.
  nlohmann::json to_hf_json() const;

  // Number of parameters of the model this config describes (tied embeddings counted once).
  int64_t num_parameters() const;

  // Throws ConfigError naming `source_for_errors` when the sizes are inconsistent
  // (non-positive sizes, heads not divisible by KV heads, ...).
  void validate(const std::string& source_for_errors) const;

  bool operator==(const ModelConfig&) const = default;
};

}  // namespace dpok::model
