// Score maps of objective.md §2 (Wang et al. 2023, "Beyond Reverse KL": reward f′(u), u = π/π_ref).
#include "dpok/objective/score_maps.h"

#include "dpok/core/error.h"

namespace dpok::objective {

at::Tensor forward_kl_score(const at::Tensor& log_ratio) {
  return -at::exp(at::clamp(-log_ratio, -kMaxScoreExponent, kMaxScoreExponent));
}

at::Tensor js_score(const at::Tensor& log_ratio) {
  return at::log_sigmoid(log_ratio);
}

at::Tensor alpha_score(const at::Tensor& log_ratio, double a) {
  DPOK_CHECK(a > 0 && a < 1, "alpha score coefficient {} outside (0, 1)", a);
  // expm1 keeps the a → 1 limit (g → r) accurate instead of cancelling 1 − 1.
  const auto exponent = at::clamp(log_ratio * (a - 1.0), -kMaxScoreExponent, kMaxScoreExponent);
  return at::expm1(exponent) / (a - 1.0);
}

at::Tensor apply_score_map(ScoreMap map, const at::Tensor& log_ratio, double alpha) {
  switch (map) {
    case ScoreMap::kReverseKl:
      return log_ratio;
    case ScoreMap::kForwardKl:
      return forward_kl_score(log_ratio);
    case ScoreMap::kJs:
      return js_score(log_ratio);
    case ScoreMap::kAlpha:
      return alpha_score(log_ratio, alpha);
    case ScoreMap::kHellinger:
      return alpha_score(log_ratio, 0.5);
  }
  DPOK_CHECK(false, "unhandled score map {}", static_cast<int>(map));
  return {};
}

}  // namespace dpok::objective
