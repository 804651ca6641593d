// QLoRA-style bases: a model whose decoder projections (q, k, v, o, gate, up, down) keep their
// frozen weights quantized (quantized_linear.h), as bitsandbytes' load_in_4bit / load_in_8bit do
// for transformers. Embeddings, norms and the LM head stay in float, as there.
//
// The loaders quantize while they load (LoadOptions::quantize_projections), one projection at a
// time, so no float copy of the whole model exists: a float weight is quantized as soon as it is
// read and then released; a GGUF tensor already in a quantized type is kept as it is stored (its
// blocks copied, RoPE rows reordered as whole rows), whatever type was asked for.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "dpok/model/causal_lm.h"

namespace dpok::model {

class ProjectionQuantizer {
 public:
  // `type`: the ggml type float weights become; nullopt: nothing is quantized.
  ProjectionQuantizer(CausalLMImpl& model, std::optional<uint32_t> type);

  // The projection whose weight parameter is `name` ("model.layers.0.mlp.up_proj.weight") when
  // quantizing, else nullptr.
  ProjectionImpl* target(const std::string& name) const;
  // `param` (parameter `name`, just loaded) quantized into its projection, then released.
  void quantize_loaded(const std::string& name, at::Tensor& param) const;

 private:
  std::optional<uint32_t> type_;
  std::unordered_map<std::string, ProjectionImpl*> projections_;
};

// The quantized weights of `model`, named as their float parameters would be, in model order.
std::vector<std::pair<std::string, const QuantizedWeight*>> quantized_weights(CausalLMImpl& model);

// "210 projections kept quantized (Q4_0 ×180, Q6_K ×30): 31.4 MiB, float32 would take 214.5 MiB
// (0.146x)"; empty when nothing is quantized.
std::string describe_quantized(CausalLMImpl& model);

}  // namespace dpok::model
