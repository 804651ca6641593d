// LoRA adapters on a loaded model, as PEFT's LoraModel builds them for nn.Linear targets
// (peft/tuners/lora): every targeted projection gets y = x Wᵀ + b + scaling · dropout(x) Aᵀ Bᵀ
// (layers.h), the base weights are frozen, and PEFT's modules_to_save become trainable copies of
// the LM head or the embeddings (causal_lm.h). The model's adapter switch turns all of it off at
// once, which gives the frozen base model back without a second copy in memory.
//
// What it does not do: DoRA, rank/alpha patterns, adapters on embeddings (lora_embedding_A),
// several named adapters, quantized bases. PEFT's files (adapter_config.json,
// adapter_model.safetensors) are read and written in adapter.h.
#pragma once

#include <ATen/ATen.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "dpok/model/causal_lm.h"

namespace dpok::model {

struct LoraSettings {
  int64_t r = 16;
  double alpha = 32;
  double dropout = 0.05;
  bool use_rslora = false;  // scaling alpha / √r (rank-stabilised) instead of alpha / r
  std::vector<std::string> target_modules;   // projection names (resolve_target_modules)
  std::vector<std::string> modules_to_save;  // "lm_head", "embed_tokens"

  double scaling() const;
};

// The decoder's projections an adapter can target, in layer order: q_proj, k_proj, v_proj,
// o_proj, gate_proj, up_proj, down_proj.
const std::vector<std::string>& projection_names();

// PEFT's target_modules for the Llama family: empty → q_proj, v_proj (PEFT's default mapping);
// "all-linear" → every projection of the decoder layers (the LM head excluded, as in PEFT); else
// the names, sorted. Throws ConfigError naming `key` and the unknown names.
std::vector<std::string> resolve_target_modules(const std::vector<std::string>& requested,
                                                const std::string& key);

// Throws ConfigError naming `key` when a name is not lm_head or embed_tokens.
void check_modules_to_save(const std::vector<std::string>& names, const std::string& key);

// Freezes every parameter of `model`, adds an adapter (PEFT's initialisation, from LibTorch's
// default generator) to each projection named in settings.target_modules and a trainable copy
// of each of settings.modules_to_save; adapters start enabled. `settings` must be resolved
// (resolve_target_modules).
void apply_lora(CausalLM& model, const LoraSettings& settings);

// True for the name (named_parameters) of an adapter parameter or a modules_to_save copy.
bool is_adapter_parameter(const std::string& name);

// The adapter's parameters under the names PEFT's get_peft_model_state_dict writes:
// "base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight", and for modules_to_save
// "base_model.model.lm_head.weight" / "base_model.model.model.embed_tokens.weight". Model order.
std::vector<std::pair<std::string, at::Tensor>> adapter_parameters(CausalLMImpl& model);

}  // namespace dpok::model
