// Score maps g(r) of objective.md §2 (mode A divergences, f-DPO): a log-ratio r = ℓ_θ − ℓ_ref is
// mapped to the implicit-reward score that the preference losses compare.
//
// Does: elementwise maps on any shape and floating dtype, differentiable, with exponents clamped to
// |·| ≤ 50 before exp so that log-ratios of ±1e4 stay finite. Does not: reduce, or touch the
// logged implicit rewards (those always use r itself).
#pragma once

#include <ATen/ATen.h>

#include "dpok/objective/config.h"

namespace dpok::objective {

// Largest |exponent| passed to exp by the score maps (§2).
constexpr double kMaxScoreExponent = 50.0;

// forward_kl: g(r) = −exp(−r).
at::Tensor forward_kl_score(const at::Tensor& log_ratio);

// js: g(r) = log σ(r) (the −log 2 constant of log(2u/(1+u)) dropped).
at::Tensor js_score(const at::Tensor& log_ratio);

// alpha with coefficient a ∈ (0, 1): g(r) = (exp((a−1) r) − 1)/(a − 1); hellinger is a = ½.
at::Tensor alpha_score(const at::Tensor& log_ratio, double a);

// Dispatch; reverse_kl returns `log_ratio` itself (same tensor, so plain DPO stays bit-exact).
at::Tensor apply_score_map(ScoreMap map, const at::Tensor& log_ratio, double alpha = 0.5);

}  // namespace dpok::objective
