// The one place that knows LibTorch versions apart (style.md rule 10).
//
// dpok builds against Debian's LibTorch 1.13 (CPU, CI) and LibTorch 2.x from a PyTorch wheel
// (CUDA). Everything that differs between them is wrapped here; no other file tests
// TORCH_VERSION_*.
#pragma once

#include <ATen/ATen.h>
#include <torch/version.h>

#include <algorithm>
#include <optional>
#include <vector>

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
  // The scores of a whole batch can be tens of MB; beyond glibc's 32 MiB mmap ceiling every layer
  // would map and unmap them (page faults and zeroing on each call). Batch slices keep them
  // smaller; each sequence's attention is independent, so the result is the same.
  constexpr int64_t kScoreBudgetBytes = int64_t{16} << 20;
  const int64_t b = q.size(0);
  const int64_t per_sequence = q.size(1) * q.size(2) * k.size(2) * 4;
  const int64_t rows = std::clamp<int64_t>(kScoreBudgetBytes / std::max<int64_t>(per_sequence, 1),
                                           1, std::max<int64_t>(b, 1));
  if (rows < b) {
    std::vector<at::Tensor> parts;
    for (int64_t start = 0; start < b; start += rows) {
      const int64_t len = std::min(rows, b - start);
      std::optional<at::Tensor> part_mask = mask;
      if (mask.has_value() && mask->size(0) == b) part_mask = mask->narrow(0, start, len);
      parts.push_back(scaled_dot_product_attention(q.narrow(0, start, len), k.narrow(0, start, len),
                                                   v.narrow(0, start, len), part_mask, is_causal));
    }
    return at::cat(parts);
  }
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
