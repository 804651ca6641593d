// The supported-architecture table (see architecture.h). Defaults follow transformers' config
// classes (LlamaConfig, MistralConfig, Qwen2Config, Qwen3Config).
#include "dpok/model/architecture.h"

#include <array>

namespace dpok::model {
namespace {

constexpr std::array<ArchitectureSpec, 4> kArchitectures = {{
    {.architecture = "LlamaForCausalLM",
     .model_type = "llama",
     .out_bias_from_config = true,
     .default_max_position_embeddings = 2048},
    {.architecture = "MistralForCausalLM",
     .model_type = "mistral",
     .has_sliding_window = true,
     .default_max_position_embeddings = 4096 * 32},
    {.architecture = "Qwen2ForCausalLM",
     .model_type = "qwen2",
     .qkv_bias_always = true,
     .default_max_position_embeddings = 32768},
    {.architecture = "Qwen3ForCausalLM",
     .model_type = "qwen3",
     .out_bias_from_config = true,
     .qk_norm = true,
     .default_max_position_embeddings = 32768},
}};

}  // namespace

const ArchitectureSpec* find_architecture(std::string_view architecture) {
  for (const auto& spec : kArchitectures) {
    if (spec.architecture == architecture) return &spec;
  }
  return nullptr;
}

const ArchitectureSpec* find_architecture_by_model_type(std::string_view model_type) {
  for (const auto& spec : kArchitectures) {
    if (spec.model_type == model_type) return &spec;
  }
  return nullptr;
}

std::string supported_architectures() {
  std::string names;
  for (const auto& spec : kArchitectures) {
    if (!names.empty()) names += ", ";
    names += spec.architecture;
  }
  return names;
}

}  // namespace dpok::model
