// The semantic term's tensor plumbing (objective.md §3): pooling hidden states into prompt and
// completion embeddings, L2 normalisation, and the median-heuristic bandwidth.
//
// Does: masked mean pooling over token ranges, safe normalisation (zero vectors stay zero, with
// finite gradients), the data-driven bandwidth. Does not: run a model, read precomputed vectors
// from disk (the data subsystem does), or evaluate kernels (kernels.h / hmk.h).
#pragma once

#include <ATen/ATen.h>

namespace dpok::objective {

// ‖x‖ below this is treated as 0 by l2_normalize.
constexpr double kNormEpsilon = 1e-6;

// x / max(‖x‖, kNormEpsilon) over the last dimension; any shape [..., d]. A zero vector maps to
// zero and its gradient is finite (0 through the clamp), not NaN.
at::Tensor l2_normalize(const at::Tensor& x);

// Mean of hidden [R, T, H] over the positions where mask [R, T] (bool or 0/1) is set → [R, H].
// Rows with an empty mask give a zero vector.
at::Tensor masked_mean_pool(const at::Tensor& hidden, const at::Tensor& mask);

struct PairEmbeddings {
  at::Tensor prompt, chosen, rejected;  // [B, H] each
};

// From the concatenated forward (TRL layout: rows 0..B−1 chosen, B..2B−1 rejected) with hidden
// [2B, T, H] and masks [2B, T]: prompt pooled over the chosen rows' prompt tokens (the prompt is
// shared), chosen/rejected over their completion tokens. Throws ConfigError on shape mismatch.
PairEmbeddings pool_pair_embeddings(const at::Tensor& hidden, const at::Tensor& prompt_mask,
                                    const at::Tensor& completion_mask);

// Median-heuristic bandwidth σ = median_i ‖u_i − v_i‖ over rows of u, v [N, d] (detached, clamped
// at kNormEpsilon). Use it on the batch (kernel_options.sigma_median) or once on a data sample.
at::Tensor median_heuristic_sigma(const at::Tensor& u, const at::Tensor& v);

}  // namespace dpok::objective
