// Per-distribution divergences of objective.md §6 (mode B), from log-probabilities.
//
// Does: D(p ‖ q) over the last dimension of log-prob tensors [..., V] → [...], for kl, reverse_kl,
// js, hellinger (squared), bhattacharyya, renyi and tv, in logsumexp / log-space forms,
// differentiable w.r.t. both inputs. Log-probs are floored at kLogProbFloor first, so tokens of
// zero probability on one side (−inf) give finite values and gradients (0 · finite = 0, never
// 0 · ∞); results are clamped at 0 against rounding (every D is ≥ 0 in exact arithmetic).
// Does not: chunk over positions, build top-k supports or run Sinkhorn (token_penalty.h,
// wasserstein.h), or normalise inputs (p and q are taken as given).
//
// Inputs: policy_logps (p) and ref_logps (q), same shape and floating dtype (fp32 in training,
// fp64 in tests).
#pragma once

#include <ATen/ATen.h>

#include "dpok/objective/config.h"

namespace dpok::objective {

// Log-probabilities below this are raised to it (e^−1e4 is exactly 0 in fp32 and fp64, so masses
// are unchanged; only −inf and absurdly small values are affected).
constexpr double kLogProbFloor = -1e4;

// Σ p (log p − log q).
at::Tensor kl_divergence(const at::Tensor& policy_logps, const at::Tensor& ref_logps);
// Σ q (log q − log p).
at::Tensor reverse_kl_divergence(const at::Tensor& policy_logps, const at::Tensor& ref_logps);
// ½ KL(p‖m) + ½ KL(q‖m), m = (p + q)/2; ≤ log 2.
at::Tensor js_divergence(const at::Tensor& policy_logps, const at::Tensor& ref_logps);
// Squared Hellinger 1 − Σ √(p q); ≤ 1.
at::Tensor hellinger_divergence(const at::Tensor& policy_logps, const at::Tensor& ref_logps);
// −log Σ √(p q).
at::Tensor bhattacharyya_divergence(const at::Tensor& policy_logps, const at::Tensor& ref_logps);
// log(Σ p^a q^(1−a)) / (a − 1), order a > 0, a ≠ 1.
at::Tensor renyi_divergence(const at::Tensor& policy_logps, const at::Tensor& ref_logps,
                            double order);
// ½ Σ |p − q|; ≤ 1.
at::Tensor tv_divergence(const at::Tensor& policy_logps, const at::Tensor& ref_logps);

// Dispatch for every divergence but wasserstein (which needs embeddings: token_penalty.h).
// Throws ConfigError for wasserstein.
at::Tensor distribution_divergence(Divergence divergence, const at::Tensor& policy_logps,
                                   const at::Tensor& ref_logps, double renyi_order = 0.9);

}  // namespace dpok::objective
