// Helpers shared by the model tests: reading fixture tensors and comparing tensors.
#pragma once

#include <ATen/ATen.h>

#include <filesystem>
#include <string>

#include "dpok/io/safetensors.h"
#include "dpok/model/config.h"
#include "dpok/model/weights.h"

namespace dpok::model::testing {

// A tensor of `file` copied out of the mapping (so it outlives the file).
inline at::Tensor read_tensor(const io::SafetensorsFile& file, const std::string& name) {
  return tensor_from_view(file.at(name)).clone();
}

inline double max_abs_diff(const at::Tensor& a, const at::Tensor& b) {
  return (a.to(at::kDouble) - b.to(at::kDouble)).abs().max().item<double>();
}

// A small Llama-shaped config for tests that need no checkpoint.
inline ModelConfig tiny_config(const std::string& architecture = "LlamaForCausalLM") {
  ModelConfig c;
  c.architecture = architecture;
  c.model_type = architecture == "Qwen3ForCausalLM"   ? "qwen3"
                 : architecture == "Qwen2ForCausalLM" ? "qwen2"
                                                      : "llama";
  c.vocab_size = 97;
  c.hidden_size = 32;
  c.intermediate_size = 48;
  c.num_hidden_layers = 2;
  c.num_attention_heads = 4;
  c.num_key_value_heads = 2;
  c.head_dim = 8;
  c.max_position_embeddings = 128;
  c.qk_norm = architecture == "Qwen3ForCausalLM";
  c.attention_bias = architecture == "Qwen2ForCausalLM";
  c.bos_token_id = 1;
  c.eos_token_ids = {2};
  return c;
}

}  // namespace dpok::model::testing
