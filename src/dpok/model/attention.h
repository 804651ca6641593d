// Grouped-query self-attention with RoPE, optional q/k/v bias (Qwen2) and per-head q/k RMSNorm
// (Qwen3), plus the mask that combines causality with right padding.
//
// Parameter names match Hugging Face: q_proj, k_proj, v_proj, o_proj (+ q_norm, k_norm). The
// attention itself is at::scaled_dot_product_attention: flash / memory-efficient kernels on CUDA,
// the fused flash kernel on the CPU, the math path for masks it cannot take. Does not implement
// sliding windows or dropout.
#pragma once

#include <ATen/ATen.h>
#include <torch/nn/module.h>

#include <optional>

#include "dpok/model/config.h"
#include "dpok/model/kv_cache.h"
#include "dpok/model/layers.h"

namespace dpok::model {

// How one forward attends: either plain causal (no tensor; lets SDPA use fused kernels) or an
// additive mask [B or 1, 1, T, S] in the activations' dtype (0 keeps, -inf drops).
struct AttentionBias {
  std::optional<at::Tensor> mask;
  bool is_causal = true;
};

// The bias for T new queries after `past` cached positions (S = past + T keys).
// `padding_mask` is undefined (no padding) or [B, S] int64/bool with 1 = token, 0 = padding.
// A key is visible when it is not after the query and not padding (transformers 5 semantics, so
// padded query rows still attend to the real tokens before them). A query row that would see no
// key at all (an all-padding row) is allowed key 0 instead, so no row produces NaN.
AttentionBias make_attention_bias(const at::Tensor& padding_mask, int64_t T, int64_t past,
                                  const at::TensorOptions& options);

class AttentionImpl : public torch::nn::Module {
 public:
  AttentionImpl(const ModelConfig& config, const at::TensorOptions& options);

  // x [B, T, H]; cos/sin [T, head_dim]; returns [B, T, H]. With `cache`, this layer's keys and
  // values are appended to it (positions [cache.length(), cache.length() + T)) and the queries
  // attend over everything cached so far.
  at::Tensor forward(const at::Tensor& x, const at::Tensor& cos, const at::Tensor& sin,
                     const AttentionBias& bias, KVCache* cache = nullptr, int64_t layer = 0);

  Projection q_proj{nullptr}, k_proj{nullptr}, v_proj{nullptr}, o_proj{nullptr};
  RMSNorm q_norm{nullptr}, k_norm{nullptr};  // Qwen3 only

 private:
  int64_t heads_, kv_heads_, head_dim_;
};
TORCH_MODULE(Attention);

}  // namespace dpok::model
