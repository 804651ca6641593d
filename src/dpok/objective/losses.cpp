// Preference losses of objective.md §1; formulas match TRL's DPOTrainer.dpo_loss per loss_type.
#include "dpok/objective/losses.h"

#include <cmath>
#include <tuple>

#include "dpok/core/error.h"
#include "dpok/objective/score_maps.h"

namespace dpok::objective {
namespace {

constexpr const char* kComponent = "objective";

void require_term(const at::Tensor& t, LossType type, const char* what) {
  if (!t.defined()) {
    DPOK_THROW(ConfigError, kComponent, "loss '{}' needs {}, which the batch does not provide",
               to_string(type), what);
  }
}

// Δ̄ = s⁺/|y⁺| − s⁻/|y⁻|. Lengths are clamped at 1 so an empty completion cannot divide by zero
// (its score is 0 anyway).
at::Tensor normalized_delta(const LossTerms& t, LossType type) {
  require_term(t.chosen_lengths, type, "chosen_lengths");
  require_term(t.rejected_lengths, type, "rejected_lengths");
  const auto dtype = t.chosen_scores.scalar_type();
  return t.chosen_scores / t.chosen_lengths.to(dtype).clamp_min(1.0) -
         t.rejected_scores / t.rejected_lengths.to(dtype).clamp_min(1.0);
}

at::Tensor plus_margin(const at::Tensor& x, const LossTerms& t) {
  return t.margin.defined() ? x + t.margin : x;
}

// z = β·Δ + γ·m (the margin already carries γ).
at::Tensor pair_logit(const LossTerms& t, double beta) {
  return plus_margin((t.chosen_scores - t.rejected_scores) * beta, t);
}

}  // namespace

at::Tensor sigmoid_loss(const at::Tensor& z, double label_smoothing) {
  if (label_smoothing == 0.0) return -at::log_sigmoid(z);
  return -at::log_sigmoid(z) * (1.0 - label_smoothing) - at::log_sigmoid(-z) * label_smoothing;
}

at::Tensor robust_loss(const at::Tensor& z, double label_smoothing) {
  DPOK_CHECK(label_smoothing < 0.5, "robust loss needs ε < 0.5, got {}", label_smoothing);
  return (-at::log_sigmoid(z) * (1.0 - label_smoothing) + at::log_sigmoid(-z) * label_smoothing) /
         (1.0 - 2.0 * label_smoothing);
}

at::Tensor hinge_loss(const at::Tensor& z) {
  return at::relu(1.0 - z);
}

at::Tensor ipo_loss(const at::Tensor& normalized_logit, double beta) {
  return (normalized_logit - 1.0 / (2.0 * beta)).square();
}

at::Tensor exo_pair_loss(const at::Tensor& z, double label_smoothing) {
  DPOK_CHECK(label_smoothing > 0 && label_smoothing < 1, "exo_pair needs ε in (0, 1), got {}",
             label_smoothing);
  // σ(z)·log σ(z) → 0 as z → −∞: sigmoid underflows to exactly 0 while log_sigmoid stays finite,
  // so no 0·∞ appears.
  const auto log_p = at::log_sigmoid(z), log_q = at::log_sigmoid(-z);
  return at::sigmoid(z) * (log_p - std::log1p(-label_smoothing)) +
         at::sigmoid(-z) * (log_q - std::log(label_smoothing));
}

at::Tensor nca_pair_loss(const at::Tensor& chosen_scores, const at::Tensor& rejected_scores,
                         double beta) {
  const auto c = chosen_scores * beta, r = rejected_scores * beta;
  return -at::log_sigmoid(c) - 0.5 * at::log_sigmoid(-c) - 0.5 * at::log_sigmoid(-r);
}

at::Tensor bco_pair_loss(const at::Tensor& chosen_scores, const at::Tensor& rejected_scores,
                         double beta) {
  return -at::log_sigmoid(chosen_scores * beta) - at::log_sigmoid(-rejected_scores * beta);
}

at::Tensor sppo_hard_loss(const at::Tensor& chosen_scores, const at::Tensor& rejected_scores,
                          double beta) {
  const double half = 1.0 / (2.0 * beta);
  return (chosen_scores - half).square() + (rejected_scores + half).square();
}

at::Tensor apo_zero_loss(const at::Tensor& chosen_logratios, const at::Tensor& rejected_logratios,
                         double beta) {
  return (1.0 - at::sigmoid(chosen_logratios * beta)) + at::sigmoid(rejected_logratios * beta);
}

at::Tensor apo_down_loss(const at::Tensor& chosen_logratios, const at::Tensor& z, double beta) {
  return at::sigmoid(chosen_logratios * beta) + (1.0 - at::sigmoid(z));
}

at::Tensor discopop_loss(const at::Tensor& z, double tau) {
  DPOK_CHECK(tau > 0, "discopop τ must be > 0, got {}", tau);
  const auto log_modulation = at::log_sigmoid(z / tau);
  const auto modulation = at::exp(log_modulation);
  // m_τ·e^{−z} = exp(log σ(z/τ) − z): finite where e^{−z} alone overflows (z ≪ 0, m_τ ≈ 0).
  const auto exp_part = at::exp(at::clamp_max(log_modulation - z, kMaxScoreExponent));
  return (1.0 - modulation) * (-at::log_sigmoid(z)) + exp_part;
}

at::Tensor aot_loss(const at::Tensor& policy_logratios, const at::Tensor& ref_logratios,
                    double beta, double label_smoothing) {
  const auto delta = std::get<0>(policy_logratios.sort(0)) - std::get<0>(ref_logratios.sort(0));
  return sigmoid_loss(delta * beta, label_smoothing);
}

at::Tensor aot_unpaired_loss(const at::Tensor& chosen_logratios,
                             const at::Tensor& rejected_logratios, double beta,
                             double label_smoothing) {
  const auto delta =
      std::get<0>(chosen_logratios.sort(0)) - std::get<0>(rejected_logratios.sort(0));
  return sigmoid_loss(delta * beta, label_smoothing);
}

at::Tensor dpo_loss(const at::Tensor& policy_chosen_logps, const at::Tensor& policy_rejected_logps,
                    const at::Tensor& ref_chosen_logps, const at::Tensor& ref_rejected_logps,
                    double beta, double label_smoothing) {
  const auto chosen = policy_chosen_logps - ref_chosen_logps;
  const auto rejected = policy_rejected_logps - ref_rejected_logps;
  return sigmoid_loss((chosen - rejected) * beta, label_smoothing);
}

at::Tensor preference_loss(LossType type, const LossTerms& t, const LossOptions& o) {
  if (type == LossType::kSft) {
    require_term(t.chosen_nll, type, "chosen_nll_mean");
    return t.chosen_nll;
  }
  require_term(t.chosen_scores, type, "chosen scores");
  require_term(t.rejected_scores, type, "rejected scores");
  if (t.margin.defined() && !loss_takes_margin(type)) {
    DPOK_THROW(ConfigError, kComponent, "loss '{}' cannot take the semantic margin (gamma > 0)",
               to_string(type));
  }
  switch (type) {
    case LossType::kSigmoid:
      return sigmoid_loss(pair_logit(t, o.beta), o.label_smoothing);
    case LossType::kRobust:
      return robust_loss(pair_logit(t, o.beta), o.label_smoothing);
    case LossType::kHinge:
      return hinge_loss(pair_logit(t, o.beta));
    case LossType::kIpo:
      return ipo_loss(plus_margin(normalized_delta(t, type), t), o.beta);
    case LossType::kSigmoidNorm:
      return sigmoid_loss(plus_margin(normalized_delta(t, type) * o.beta, t), 0.0);
    case LossType::kExoPair:
      return exo_pair_loss(pair_logit(t, o.beta), o.label_smoothing);
    case LossType::kNcaPair:
      return nca_pair_loss(t.chosen_scores, t.rejected_scores, o.beta);
    case LossType::kBcoPair:
      return bco_pair_loss(t.chosen_scores, t.rejected_scores, o.beta);
    case LossType::kSppoHard:
      return sppo_hard_loss(t.chosen_scores, t.rejected_scores, o.beta);
    case LossType::kApoZero:
      require_term(t.chosen_logratios, type, "chosen log-ratios");
      require_term(t.rejected_logratios, type, "rejected log-ratios");
      return apo_zero_loss(t.chosen_logratios, t.rejected_logratios, o.beta);
    case LossType::kApoDown:
      require_term(t.chosen_logratios, type, "chosen log-ratios");
      return apo_down_loss(t.chosen_logratios, pair_logit(t, o.beta), o.beta);
    case LossType::kDiscopop:
      return discopop_loss(pair_logit(t, o.beta), o.discopop_tau);
    case LossType::kAot:
      require_term(t.policy_logratios, type, "policy log-ratios");
      require_term(t.ref_logratios, type, "reference log-ratios");
      return aot_loss(t.policy_logratios, t.ref_logratios, o.beta, o.label_smoothing);
    case LossType::kAotUnpaired:
      require_term(t.chosen_logratios, type, "chosen log-ratios");
      require_term(t.rejected_logratios, type, "rejected log-ratios");
      return aot_unpaired_loss(t.chosen_logratios, t.rejected_logratios, o.beta, o.label_smoothing);
    case LossType::kSft:
      break;
  }
  DPOK_CHECK(false, "unhandled loss type {}", static_cast<int>(type));
  return {};
}

}  // namespace dpok::objective
