// Per-distribution divergences of objective.md §6, in log-space forms.
#include "dpok/objective/divergences.h"

#include <cmath>

#include "dpok/core/error.h"

namespace dpok::objective {
namespace {

at::Tensor floored(const at::Tensor& logps) {
  return at::clamp_min(logps, kLogProbFloor);
}

// Rounding can leave −1e-16 where the exact value is 0; every D here is ≥ 0.
at::Tensor nonnegative(const at::Tensor& d) {
  return at::clamp_min(d, 0.0);
}

}  // namespace

at::Tensor kl_divergence(const at::Tensor& policy_logps, const at::Tensor& ref_logps) {
  const auto lp = floored(policy_logps), lq = floored(ref_logps);
  return nonnegative((lp.exp() * (lp - lq)).sum(-1));
}

at::Tensor reverse_kl_divergence(const at::Tensor& policy_logps, const at::Tensor& ref_logps) {
  return kl_divergence(ref_logps, policy_logps);
}

at::Tensor js_divergence(const at::Tensor& policy_logps, const at::Tensor& ref_logps) {
  const auto lp = floored(policy_logps), lq = floored(ref_logps);
  const auto lm = at::logaddexp(lp, lq) - std::log(2.0);
  return nonnegative(0.5 * (lp.exp() * (lp - lm)).sum(-1) + 0.5 * (lq.exp() * (lq - lm)).sum(-1));
}

at::Tensor hellinger_divergence(const at::Tensor& policy_logps, const at::Tensor& ref_logps) {
  const auto half_sum = 0.5 * (floored(policy_logps) + floored(ref_logps));
  return nonnegative(1.0 - half_sum.exp().sum(-1));
}

at::Tensor bhattacharyya_divergence(const at::Tensor& policy_logps, const at::Tensor& ref_logps) {
  const auto half_sum = 0.5 * (floored(policy_logps) + floored(ref_logps));
  return nonnegative(-at::logsumexp(half_sum, -1));
}

at::Tensor renyi_divergence(const at::Tensor& policy_logps, const at::Tensor& ref_logps,
                            double order) {
  DPOK_CHECK(order > 0 && order != 1.0, "renyi order must be > 0 and != 1, got {}", order);
  const auto mixed = order * floored(policy_logps) + (1.0 - order) * floored(ref_logps);
  return nonnegative(at::logsumexp(mixed, -1) / (order - 1.0));
}

at::Tensor tv_divergence(const at::Tensor& policy_logps, const at::Tensor& ref_logps) {
  return 0.5 * (floored(policy_logps).exp() - floored(ref_logps).exp()).abs().sum(-1);
}

at::Tensor distribution_divergence(Divergence divergence, const at::Tensor& policy_logps,
                                   const at::Tensor& ref_logps, double renyi_order) {
  switch (divergence) {
    case Divergence::kKl:
      return kl_divergence(policy_logps, ref_logps);
    case Divergence::kReverseKl:
      return reverse_kl_divergence(policy_logps, ref_logps);
    case Divergence::kJs:
      return js_divergence(policy_logps, ref_logps);
    case Divergence::kHellinger:
      return hellinger_divergence(policy_logps, ref_logps);
    case Divergence::kBhattacharyya:
      return bhattacharyya_divergence(policy_logps, ref_logps);
    case Divergence::kRenyi:
      return renyi_divergence(policy_logps, ref_logps, renyi_order);
    case Divergence::kTv:
      return tv_divergence(policy_logps, ref_logps);
    case Divergence::kWasserstein:
      DPOK_THROW(ConfigError, "objective",
                 "divergence 'wasserstein' needs token embeddings; use token_divergence()");
  }
  DPOK_CHECK(false, "unhandled divergence {}", static_cast<int>(divergence));
  return {};
}

}  // namespace dpok::objective
