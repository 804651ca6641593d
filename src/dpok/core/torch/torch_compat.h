// The one place that knows LibTorch versions apart (style.md rule 10).
//
// dpok builds against Debian's LibTorch 1.13 (CPU, CI) and LibTorch 2.x from a PyTorch wheel
// (CUDA). Everything that differs between them is wrapped here; no other file tests
// TORCH_VERSION_*.
#pragma once

#include <ATen/ATen.h>
#include <torch/version.h>

#include <optional>

#define DPOK_TORCH_AT_LEAST(major, minor) \
  (TORCH_VERSION_MAJOR > (major) ||       \
   (TORCH_VERSION_MAJOR == (major) && TORCH_VERSION_MINOR >= (minor)))

namespace dpok::compat {

// True when at::scaled_dot_product_attention exists (LibTorch >= 2.0).
constexpr bool kHasSdpa = DPOK_TORCH_AT_LEAST(2, 0);

// Causal/padded attention. q [B, H, T, D], k/v [B, H, S, D]; `mask` is an optional additive
// float mask broadcastable to [B, H, T, S] (0 keeps, -inf drops). With no mask and
// `is_causal`, the fused kernels (flash / memory-efficient on CUDA) can run on 2.x.
// The 1.13 path is the plain reference: softmax(q kᵀ / √D + mask) v.
inline at::Tensor scaled_dot_product_attention(const at::Tensor& q, const at::Tensor& k,
                                               const at::Tensor& v,
                                               const std::optional<at::Tensor>& mask,
                                               bool is_causal) {
#if DPOK_TORCH_AT_LEAST(2, 0)
  if (mask.has_value()) {
    return at::scaled_dot_product_attention(q, k, v, *mask, /*dropout_p=*/0.0, /*is_causal=*/false);
  }
  return at::scaled_dot_product_attention(q, k, v, /*attn_mask=*/{}, 0.0, is_causal);
#else
  const double scale = 1.0 / std::sqrt(static_cast<double>(q.size(-1)));
  auto scores = at::matmul(q, k.transpose(-2, -1)) * scale;
  if (mask.has_value()) {
    scores = scores + *mask;
  } else if (is_causal) {
    const auto t = q.size(-2), s = k.size(-2);
    auto causal = at::ones({t, s}, q.options().dtype(at::kBool)).tril(s - t);
    scores = scores.masked_fill(causal.logical_not(), -std::numeric_limits<float>::infinity());
  }
  return at::matmul(at::softmax(scores, -1, at::kFloat).to(q.scalar_type()), v);
#endif
}

}  // namespace dpok::compat
