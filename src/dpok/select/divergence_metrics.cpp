// Support overlap, drift, kurtosis, smoothness (objective.md §7) and the divergence rule.
#include "dpok/select/divergence_metrics.h"

#include <cmath>

#include "dpok/core/error.h"

namespace dpok::select {

void DivergenceAccumulator::add(const at::Tensor& log_probs, const at::Tensor& targets) {
  if (log_probs.dim() != 2 || targets.dim() != 1 || targets.size(0) != log_probs.size(0)) {
    DPOK_THROW(ConfigError, "select",
               "divergence metrics need log_probs [T, V] and targets [T]; got {} and {} dims "
               "with T {} vs {}",
               log_probs.dim(), targets.dim(), log_probs.dim() > 0 ? log_probs.size(0) : 0,
               targets.dim() > 0 ? targets.size(0) : 0);
  }
  const auto t = log_probs.size(0);
  if (t == 0) return;
  const auto v = log_probs.size(1);
  const auto ids = targets.to(at::kLong).to(log_probs.device());
  if ((ids < 0).any().item<bool>() || (ids >= v).any().item<bool>()) {
    DPOK_THROW(ConfigError, "select", "divergence metrics: a target id is outside [0, {})", v);
  }
  const auto logp = log_probs.to(at::kDouble);
  const auto p = logp.exp();
  const auto target_logp = logp.gather(1, ids.unsqueeze(1)).squeeze(1);
  const auto target_p = target_logp.exp();
  // The token is in the nucleus when the mass strictly above it is still below p: it would be
  // taken before the cumulative mass reaches p.
  const auto mass_above = (p * (p > target_p.unsqueeze(1))).sum(1);
  inside_nucleus_ += (mass_above < kNucleusP).to(at::kDouble).sum().item<double>();
  // Entropy with 0·log 0 = 0 (log_probs may hold -inf).
  const auto plogp = at::where(p > 0.0, p * logp, at::zeros_like(p));
  entropy_sum_ -= plogp.sum().item<double>();
  const auto surprisal = (-target_logp).cpu().contiguous();
  const double* s = surprisal.data_ptr<double>();
  surprisal_.insert(surprisal_.end(), s, s + t);
  if (t > 1) {
    tv_sum_ += 0.5 * (p.slice(0, 1) - p.slice(0, 0, t - 1)).abs().sum().item<double>();
    transitions_ += t - 1;
  }
}

DivergenceMetrics DivergenceAccumulator::finish() const {
  const auto n = static_cast<std::int64_t>(surprisal_.size());
  if (n < kMinDivergenceTokens) {
    DPOK_THROW(ConfigError, "select",
               "too few completion tokens for divergence metrics: need {}, got {}",
               kMinDivergenceTokens, n);
  }
  for (std::size_t i = 0; i < surprisal_.size(); ++i) {
    if (!std::isfinite(surprisal_[i])) {
      DPOK_THROW(ConfigError, "select",
                 "divergence metrics: completion token {} has zero probability under the "
                 "reference (infinite surprisal)",
                 i);
    }
  }
  DivergenceMetrics m;
  m.tokens = n;
  m.transitions = transitions_;
  const double count = static_cast<double>(n);
  double mean = 0.0;
  for (double s : surprisal_) mean += s;
  mean /= count;
  double m2 = 0.0, m4 = 0.0;
  for (double s : surprisal_) {
    const double d2 = (s - mean) * (s - mean);
    m2 += d2;
    m4 += d2 * d2;
  }
  m2 /= count;
  m4 /= count;
  if (!(m2 > 0.0)) {
    DPOK_THROW(ConfigError, "select",
               "divergence metrics: all {} token surprisals are equal, kurtosis is undefined", n);
  }
  m.mean_surprisal = mean;
  m.mean_entropy = entropy_sum_ / count;
  m.support_overlap = inside_nucleus_ / count;
  m.drift = m.mean_surprisal - m.mean_entropy;
  m.kurtosis = m4 / (m2 * m2) - 3.0;  // Fisher's (excess) kurtosis, population moments
  m.smoothness = transitions_ > 0 ? tv_sum_ / static_cast<double>(transitions_) : 0.0;
  return m;
}

DivergenceRecommendation recommend_divergence(const DivergenceMetrics& m) {
  DivergenceRecommendation out;
  const bool low_overlap = m.support_overlap < kLowOverlap;
  const bool large_drift = m.drift > kLargeDrift;
  if (low_overlap || large_drift) {
    out.divergence = "js";
    out.alternatives = {"hellinger", "tv", "wasserstein"};
    out.reasons.push_back(fmt::format(
        "support overlap {:.3f} {} {} and drift {:.3f} {} {} nats: the data sit far from the "
        "reference, so a bounded divergence keeps the penalty from exploding",
        m.support_overlap, low_overlap ? "<" : ">=", kLowOverlap, m.drift,
        large_drift ? ">" : "<=", kLargeDrift));
    return out;
  }
  if (m.kurtosis > kHeavyTailKurtosis) {
    out.divergence = "renyi";
    out.renyi_order = 0.9;
    out.alternatives = {"bhattacharyya"};
    out.reasons.push_back(fmt::format(
        "excess kurtosis {:.3f} > {}: heavy-tailed surprisals; renyi with a < 1 down-weights the "
        "rare, very unlikely tokens",
        m.kurtosis, kHeavyTailKurtosis));
    return out;
  }
  out.divergence = "kl";
  out.reasons.push_back(fmt::format(
      "support overlap {:.3f} >= {}, drift {:.3f} <= {}, kurtosis {:.3f} <= {}: the data are "
      "close to the reference and light-tailed, so plain kl fits",
      m.support_overlap, kLowOverlap, m.drift, kLargeDrift, m.kurtosis, kHeavyTailKurtosis));
  return out;
}

}  // namespace dpok::select
