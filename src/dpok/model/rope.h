// Rotary position embeddings in Hugging Face's "rotate half" layout.
//
// Angles are computed in fp32 like transformers (inverse frequencies, positions × frequencies,
// cos/sin), then cast to the activations' dtype. Supports RoPE types "default", "linear" and
// "llama3" (RopeConfig); config parsing refuses the others. Does not permute weights between the
// Meta interleaved layout and rotate-half (that is weights.h).
#pragma once

#include <ATen/ATen.h>

#include "dpok/model/config.h"

namespace dpok::model {

// The inverse frequencies [head_dim / 2] fp32 on CPU, after the RoPE type's scaling.
at::Tensor rope_inverse_frequencies(const RopeConfig& rope, int64_t head_dim);

// Precomputed per-model RoPE state: inverse frequencies, moved to the model's device on use.
class RotaryEmbedding {
 public:
  RotaryEmbedding(const RopeConfig& rope, int64_t head_dim);

  // cos and sin [T, head_dim] in `dtype` on `positions`' device for int64 `positions` [T];
  // [R, 1, T, head_dim] for per-row positions [R, T] (packed rows, packing.h).
  std::pair<at::Tensor, at::Tensor> cos_sin(const at::Tensor& positions,
                                            c10::ScalarType dtype) const;

 private:
  at::Tensor inv_freq_;  // [head_dim / 2] fp32, CPU
};

// x * cos + rotate_half(x) * sin. x [B, heads, T, D]; cos/sin [T, D] or [B, 1, T, D] (broadcast).
at::Tensor apply_rotary(const at::Tensor& x, const at::Tensor& cos, const at::Tensor& sin);

}  // namespace dpok::model
