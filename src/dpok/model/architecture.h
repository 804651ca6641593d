// The Llama-family architectures dpok runs, as data: one row per Hugging Face architecture name.
//
// Every family shares the same decoder (causal_lm.h); a row says only how it differs (q/k/v
// bias, per-head q/k norm, sliding window, defaults transformers applies when a key is absent).
// Adding a family is adding a row here (plus tests), never a switch in the model code.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace dpok::model {

struct ArchitectureSpec {
  std::string_view architecture;  // config.json "architectures"[0]
  std::string_view model_type;    // config.json "model_type"
  // q/k/v bias: true = always present (Qwen2), false = read config "attention_bias" (default off).
  bool qkv_bias_always = false;
  // o_proj bias follows config "attention_bias" (Llama, Qwen3); false = never (Qwen2, Mistral).
  bool out_bias_from_config = false;
  bool qk_norm = false;                 // Qwen3
  bool has_sliding_window = false;      // Mistral's "sliding_window"
  double default_rope_theta = 10000.0;  // when neither spelling gives rope_theta
  int64_t default_max_position_embeddings = 2048;
};

// The row for `architecture` ("LlamaForCausalLM", ...), or nullptr when unsupported.
const ArchitectureSpec* find_architecture(std::string_view architecture);

// The row whose model_type is `model_type` ("llama", "qwen2", ...), or nullptr.
const ArchitectureSpec* find_architecture_by_model_type(std::string_view model_type);

// Comma-separated supported architecture names, for error messages.
std::string supported_architectures();

}  // namespace dpok::model
