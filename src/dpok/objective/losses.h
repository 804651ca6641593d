// The preference loss family of objective.md §1 (TRL DPOTrainer's loss_type zoo, plus DPO-Kernels'
// semantic margin inside the logit).
//
// Does: per-pair losses [B] from per-pair scores, as free functions (one per loss) and one
// dispatcher. All math is elementwise on [B] tensors of the caller's dtype (aot sorts over the
// batch first), fp32 in training, fp64 in tests, differentiable, and stable for logits of ±1e4 (log
// σ via log_sigmoid, products like σ(z)·e^{−z} formed in log space). Does not: reduce over the
// batch, validate names (ObjectiveConfig::validate does), or compute log-probabilities.
//
// Notation (§1): s± = g(r±) scores, Δ = s⁺ − s⁻, z = β·Δ + γ·m, ε = label smoothing,
// Δ̄ = s⁺/|y⁺| − s⁻/|y⁻| (length-normalised).
#pragma once

#include <ATen/ATen.h>

#include "dpok/objective/config.h"

namespace dpok::objective {

// sigmoid (DPO; cDPO for ε > 0): −(1−ε)·log σ(z) − ε·log σ(−z).
at::Tensor sigmoid_loss(const at::Tensor& z, double label_smoothing = 0.0);
// robust: [−(1−ε)·log σ(z) + ε·log σ(−z)] / (1 − 2ε), ε ∈ [0, 0.5).
at::Tensor robust_loss(const at::Tensor& z, double label_smoothing);
// hinge: max(0, 1 − z).
at::Tensor hinge_loss(const at::Tensor& z);
// ipo: (x − 1/(2β))², x = Δ̄ (+ γ·m).
at::Tensor ipo_loss(const at::Tensor& normalized_logit, double beta);
// exo_pair: σ(z)·[log σ(z) − log(1−ε)] + σ(−z)·[log σ(−z) − log ε], ε ∈ (0, 1).
at::Tensor exo_pair_loss(const at::Tensor& z, double label_smoothing);
// nca_pair: −log σ(β s⁺) − ½ log σ(−β s⁺) − ½ log σ(−β s⁻).
at::Tensor nca_pair_loss(const at::Tensor& chosen_scores, const at::Tensor& rejected_scores,
                         double beta);
// bco_pair: −log σ(β s⁺) − log σ(−β s⁻).
at::Tensor bco_pair_loss(const at::Tensor& chosen_scores, const at::Tensor& rejected_scores,
                         double beta);
// sppo_hard: (s⁺ − 1/(2β))² + (s⁻ + 1/(2β))².
at::Tensor sppo_hard_loss(const at::Tensor& chosen_scores, const at::Tensor& rejected_scores,
                          double beta);
// apo_zero: (1 − σ(β r⁺)) + σ(β r⁻) on the raw log-ratios r± (the §1 table writes r, as TRL).
at::Tensor apo_zero_loss(const at::Tensor& chosen_logratios, const at::Tensor& rejected_logratios,
                         double beta);
// apo_down: σ(β r⁺) + (1 − σ(z)).
at::Tensor apo_down_loss(const at::Tensor& chosen_logratios, const at::Tensor& z, double beta);
// discopop: (1 − m_τ)·(−log σ(z)) + m_τ·exp(−z), m_τ = σ(z/τ). m_τ·exp(−z) is evaluated as
// exp(log σ(z/τ) − z) with the exponent clamped at 50 (only reachable for τ > 1).
at::Tensor discopop_loss(const at::Tensor& z, double tau);

// aot (AOT paired, TRL 1.x): sigmoid_loss(β·(sort(ℓ_θ(y⁺) − ℓ_θ(y⁻)) − sort(ℓ_ref(y⁺) −
// ℓ_ref(y⁻))), ε), the two [B] log-ratio vectors sorted independently over the batch.
// aot_unpaired: the same on sort(r⁺) − sort(r⁻). Both use the raw log-probs (as TRL, which allows
// no f-divergence with them). Element i is the loss at rank i, not of pair i: only the batch mean
// is meaningful, which is why neither takes a per-pair semantic margin (loss_takes_margin) and
// WPO pair weights cannot apply to them (TRL refuses use_weighting with aot too).
at::Tensor aot_loss(const at::Tensor& policy_logratios, const at::Tensor& ref_logratios,
                    double beta, double label_smoothing = 0.0);
at::Tensor aot_unpaired_loss(const at::Tensor& chosen_logratios,
                             const at::Tensor& rejected_logratios, double beta,
                             double label_smoothing = 0.0);

// Plain DPO on sequence log-probs [B]: sigmoid_loss(β·((πc − rc) − (πr − rr))), per pair.
at::Tensor dpo_loss(const at::Tensor& policy_chosen_logps, const at::Tensor& policy_rejected_logps,
                    const at::Tensor& ref_chosen_logps, const at::Tensor& ref_rejected_logps,
                    double beta, double label_smoothing = 0.0);

// Everything one loss may need, per pair [B].
struct LossTerms {
  at::Tensor chosen_scores, rejected_scores;        // s± = g(r±)
  at::Tensor chosen_logratios, rejected_logratios;  // r± (apo_*, aot_unpaired)
  at::Tensor policy_logratios, ref_logratios;  // ℓ(y⁺) − ℓ(y⁻) per model (aot; TRL's names)
  at::Tensor chosen_lengths, rejected_lengths;  // |y±| as floats (ipo, sigmoid_norm)
  at::Tensor margin;                            // γ·m for placement = logit; undefined when off
  at::Tensor chosen_nll;  // mean NLL of the chosen tokens (sft); undefined when unused
};

struct LossOptions {
  double beta = 0.1;
  double label_smoothing = 0.0;
  double discopop_tau = 0.05;
};

// One loss, per pair [B]. Throws ConfigError when a needed term is missing (e.g. sft without
// chosen_nll, ipo without lengths) or a margin is given to a loss that cannot take it.
at::Tensor preference_loss(LossType type, const LossTerms& terms, const LossOptions& options);

}  // namespace dpok::objective
