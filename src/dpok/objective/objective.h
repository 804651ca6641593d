// The combined per-batch DPO-Kernels objective (objective.md §1–§6) and its logged metrics.
//
// Does: from per-pair sequence log-probs (and, when configured, pooled embeddings and a token-level
// penalty value) compute the scalar training loss
//   L = mean_pairs[ω·Σ_i w_i·loss_i(s⁺, s⁻, γ·m)] (− γ·mean(m) for placement = additive)
//       + γ_H·Σ(log 2 − H(w)) (HMK) + α·D̄ (token penalty),   ω: WPO pair weight (1 when off)
// and every metric the trainer logs, in the same pass. Owns the learned kernel / HMK parameters
// (its parameters() are exactly those: give them their own optimizer group).
// Does not: run models, pool hidden states (semantic.h), compute D̄ itself inside forward (the
// trainer passes final hidden states to penalty() first), log, or pick devices. What the trainer
// must compute for it is requirements() (requirements.h).
//
// Dtypes: inputs of half types are upcast to fp32; fp64 stays fp64 (tests). Kernel parameters
// are fp32 unless the module is moved (`->to(at::kDouble)` in tests).
#pragma once

#include <ATen/ATen.h>
#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "dpok/objective/config.h"
#include "dpok/objective/hmk.h"
#include "dpok/objective/kernels.h"
#include "dpok/objective/requirements.h"
#include "dpok/objective/token_penalty.h"

namespace dpok::objective {

// One batch of B preference pairs. Required: the four log-prob tensors [B]. The rest depend on
// the configuration (undefined tensors when unused).
struct PairInputs {
  at::Tensor policy_chosen_logps, policy_rejected_logps;  // ℓ_θ(y±) summed over completion [B]
  at::Tensor ref_chosen_logps, ref_rejected_logps;        // ℓ_ref(y±) [B]
  at::Tensor chosen_lengths, rejected_lengths;            // |y±| [B] (ipo, sigmoid_norm, sft)
  // The token count the sft term divides by (scalar); undefined: Σ chosen_lengths of this batch.
  // Data parallel passes the global count / world size, so that the ranks' averaged gradients are
  // those of the global token mean (Requirements::chosen_token_mean).
  at::Tensor chosen_token_count;
  // WPO pair weights [B] from wpo_pair_weights() (weighting.h; use_weighting): multiply every
  // preference loss term of the pair, as TRL does. Undefined: unweighted.
  at::Tensor pair_weights;
  at::Tensor prompt_embedding, chosen_embedding, rejected_embedding;  // [B, d] (gamma > 0)
  at::Tensor token_penalty;  // D̄, scalar, from penalty() (penalty_alpha > 0)
  at::Tensor policy_chosen_logits_mean, policy_rejected_logits_mean;  // optional, for logging
};

struct ObjectiveOutput {
  at::Tensor loss;  // scalar, with grad
  // Detached scalars, TRL names: rewards/chosen, rewards/rejected, rewards/margins,
  // rewards/accuracies, logps/chosen, logps/rejected, [logits/chosen, logits/rejected],
  // loss/<name> per loss term, [nll_loss], [semantic/margin], [divergence/value],
  // [hmk/weights/{local/rbf, local/polynomial, global/spectral, global/mahalanobis, top/local,
  // top/global}, hmk/entropy_penalty].
  std::map<std::string, at::Tensor> metrics;
};

class ObjectiveImpl : public torch::nn::Module {
 public:
  // Validates `config` (ConfigError). `embedding_dim` is the width d of the embeddings; required
  // (> 0) when gamma > 0 with kernel mahalanobis or hmk.
  explicit ObjectiveImpl(ObjectiveConfig config, int64_t embedding_dim = 0);

  // Loss and metrics for one batch. Throws ConfigError naming a missing or mis-shaped input, or
  // pair_weights given with aot / aot_unpaired (sorted losses have no per-pair elements).
  ObjectiveOutput forward(const PairInputs& inputs);

  // D̄ (§6) from the final hidden states of policy and reference, [2B, T, H] each (chosen rows
  // first) with their lm_head weights [V, H], and the completion mask [2B, T]. Only the penalised
  // rows (penalty_on: the chosen half, or both) are projected, config().penalty_chunk_size
  // positions at a time with a recomputing backward (token_penalty.h). `embeddings` [V, H] for
  // wasserstein. Feed the result to PairInputs::token_penalty.
  at::Tensor penalty(const LmHeadStates& policy, const LmHeadStates& reference,
                     const at::Tensor& completion_mask, const at::Tensor& embeddings = {}) const;
  // Same with a cached top-k reference: ids / log-probs [R, T, k], R = B (chosen rows only) or
  // 2B.
  at::Tensor penalty_topk(const LmHeadStates& policy, const at::Tensor& ref_topk_ids,
                          const at::Tensor& ref_topk_logps, const at::Tensor& completion_mask,
                          const at::Tensor& embeddings = {}) const;

  // The learned kernel / HMK parameters (empty for fixed kernels or gamma = 0): their own
  // optimizer group, learning rate config().kernel_learning_rate, no weight decay (§5).
  std::vector<at::Tensor> kernel_parameters() const { return parameters(); }
  bool needs_embeddings() const { return config_.semantic_enabled(); }
  bool needs_token_penalty() const { return config_.penalty_enabled(); }
  const Requirements& requirements() const { return requirements_; }
  // True when the semantic term cannot change training: placement = additive with embeddings
  // that carry no gradient (reference / precomputed) and no learned kernel parameters (§3: the
  // trainer warns).
  bool semantic_term_is_constant() const;
  // Mahalanobis (or HMK's mahalanobis) `init = data` from embeddings [N, d] (normalised first when
  // config().normalize). Throws ConfigError when the kernel has no mahalanobis part.
  void init_kernel_from_data(const at::Tensor& embeddings);
  const ObjectiveConfig& config() const { return config_; }

 private:
  at::Tensor semantic_margin(const PairInputs& inputs);
  // Checked, detached WPO weights [B].
  at::Tensor pair_weights(const at::Tensor& weights, int64_t batch) const;

  ObjectiveConfig config_;
  Requirements requirements_;
  std::vector<std::pair<LossType, double>> losses_;
  ScoreMap score_map_;
  Placement placement_;
  EmbeddingSource source_;
  KernelType kernel_type_;
  TokenDivergenceOptions divergence_options_;
  PenaltyOn penalty_on_;
  Kernel kernel_{nullptr};
  Hmk hmk_{nullptr};
};
TORCH_MODULE(Objective);

// Token-mean NLL of the chosen completions over the batch, −Σ ℓ_θ(y⁺) / Σ |y⁺| (TRL's `sft` loss,
// dpo_trainer.py: the mean of −log p over every chosen completion token). The one definition
// behind `loss_type: sft` and `dpok sft`. chosen_logps, chosen_lengths [B] → scalar; a defined
// `token_count` (scalar) replaces Σ |y⁺| as the divisor (PairInputs::chosen_token_count).
at::Tensor chosen_token_nll(const at::Tensor& chosen_logps, const at::Tensor& chosen_lengths,
                            const at::Tensor& token_count = {});

}  // namespace dpok::objective
