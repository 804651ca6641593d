// The combined per-batch objective (objective.md §1–§6) and its metrics.
#include "dpok/objective/objective.h"

#include <utility>

#include "dpok/core/error.h"
#include "dpok/objective/losses.h"
#include "dpok/objective/score_maps.h"
#include "dpok/objective/semantic.h"
#include "dpok/objective/token_penalty.h"

namespace dpok::objective {
namespace {

constexpr const char* kComponent = "objective";

// §0: objective math in fp32 (fp64 kept for tests).
at::Tensor upcast(const at::Tensor& t) {
  if (!t.defined()) return t;
  return t.scalar_type() == at::kDouble ? t : t.to(at::kFloat);
}

void require_pair_tensor(const at::Tensor& t, const char* name, int64_t batch) {
  if (!t.defined()) {
    DPOK_THROW(ConfigError, kComponent, "PairInputs.{} is missing", name);
  }
  if (t.dim() != 1 || t.size(0) != batch) {
    DPOK_THROW(ConfigError, kComponent, "PairInputs.{} has shape {}; expected [B = {}]", name,
               c10::str(t.sizes()), batch);
  }
}

void require_embedding(const at::Tensor& t, const char* name, int64_t batch) {
  if (!t.defined() || t.dim() != 2 || t.size(0) != batch) {
    DPOK_THROW(ConfigError, kComponent, "gamma > 0 needs PairInputs.{} as [B = {}, d]; got {}",
               name, batch, t.defined() ? c10::str(t.sizes()) : "none");
  }
}

}  // namespace

at::Tensor ObjectiveImpl::pair_weights(const at::Tensor& weights, int64_t batch) const {
  require_pair_tensor(weights, "pair_weights", batch);
  for (const auto& [type, weight] : losses_) {
    if (type == LossType::kAot || type == LossType::kAotUnpaired) {
      DPOK_THROW(ConfigError, kComponent,
                 "WPO pair weights (use_weighting) cannot apply to loss '{}', which sorts the "
                 "batch so that its elements are not pairs",
                 to_string(type));
    }
  }
  return upcast(weights).detach();
}

ObjectiveImpl::ObjectiveImpl(ObjectiveConfig config, int64_t embedding_dim)
    : config_(std::move(config)) {
  config_.validate();
  requirements_ = objective::requirements(config_);
  losses_ = config_.loss_terms();
  score_map_ = config_.divergence;
  placement_ = config_.placement;
  source_ = config_.embedding_source;
  kernel_type_ = config_.kernel;
  divergence_options_ = config_.token_divergence_options();
  penalty_on_ = config_.penalty_on;
  if (!config_.semantic_enabled()) return;  // γ = 0: no kernel, no parameters
  const bool needs_dim =
      kernel_type_ == KernelType::kMahalanobis || kernel_type_ == KernelType::kHmk;
  if (needs_dim && embedding_dim <= 0) {
    DPOK_THROW(ConfigError, kComponent,
               "kernel '{}' needs the embedding dimension (hidden size or precomputed width); "
               "got {}",
               to_string(config_.kernel), embedding_dim);
  }
  if (kernel_type_ == KernelType::kHmk) {
    hmk_ = register_module("hmk", Hmk(config_.kernel_options, embedding_dim));
  } else {
    kernel_ =
        register_module("kernel", Kernel(kernel_type_, config_.kernel_options, embedding_dim));
  }
}

at::Tensor ObjectiveImpl::semantic_margin(const PairInputs& in) {
  const int64_t batch = in.policy_chosen_logps.size(0);
  require_embedding(in.prompt_embedding, "prompt_embedding", batch);
  require_embedding(in.chosen_embedding, "chosen_embedding", batch);
  require_embedding(in.rejected_embedding, "rejected_embedding", batch);
  auto x = upcast(in.prompt_embedding), pos = upcast(in.chosen_embedding),
       neg = upcast(in.rejected_embedding);
  if (source_ != EmbeddingSource::kPolicy) {  // §3: only policy embeddings carry gradient
    x = x.detach(), pos = pos.detach(), neg = neg.detach();
  }
  if (config_.normalize) {
    x = l2_normalize(x), pos = l2_normalize(pos), neg = l2_normalize(neg);
  }
  return hmk_ ? hmk_->margin(x, pos, neg) : kernel_->margin(x, pos, neg);
}

ObjectiveOutput ObjectiveImpl::forward(const PairInputs& in) {
  require_pair_tensor(in.policy_chosen_logps, "policy_chosen_logps",
                      in.policy_chosen_logps.defined() ? in.policy_chosen_logps.size(0) : 0);
  const int64_t batch = in.policy_chosen_logps.size(0);
  require_pair_tensor(in.policy_rejected_logps, "policy_rejected_logps", batch);
  require_pair_tensor(in.ref_chosen_logps, "ref_chosen_logps", batch);
  require_pair_tensor(in.ref_rejected_logps, "ref_rejected_logps", batch);

  const auto policy_chosen = upcast(in.policy_chosen_logps);
  const auto policy_rejected = upcast(in.policy_rejected_logps);
  const auto ref_chosen = upcast(in.ref_chosen_logps), ref_rejected = upcast(in.ref_rejected_logps);
  LossTerms terms;
  terms.chosen_logratios = policy_chosen - ref_chosen;
  terms.rejected_logratios = policy_rejected - ref_rejected;
  terms.policy_logratios = policy_chosen - policy_rejected;
  terms.ref_logratios = ref_chosen - ref_rejected;
  terms.chosen_scores =
      apply_score_map(score_map_, terms.chosen_logratios, config_.divergence_alpha);
  terms.rejected_scores =
      apply_score_map(score_map_, terms.rejected_logratios, config_.divergence_alpha);
  terms.chosen_lengths = in.chosen_lengths;
  terms.rejected_lengths = in.rejected_lengths;
  if (in.chosen_lengths.defined()) {
    terms.chosen_nll =
        chosen_token_nll(policy_chosen, in.chosen_lengths, in.chosen_token_count).expand({batch});
  }

  ObjectiveOutput out;
  auto& metrics = out.metrics;
  at::Tensor margin;
  if (config_.semantic_enabled()) {
    margin = semantic_margin(in);
    if (placement_ == Placement::kLogit) terms.margin = margin * config_.gamma;
    metrics["semantic/margin"] = margin.detach().mean();
  }
  const LossOptions options{config_.beta, config_.label_smoothing, config_.discopop_tau};
  at::Tensor per_pair;
  // Σ_i w_i·loss_i per pair; a weight of exactly 1 is not multiplied, so a single unit-weight loss
  // is bit-identical to the loss itself (§9: γ = 0 reproduces plain DPO exactly).
  for (const auto& [type, weight] : losses_) {
    auto term = preference_loss(type, terms, options);
    metrics["loss/" + to_string(type)] = term.detach().mean();
    if (type == LossType::kSft) metrics["nll_loss"] = term.detach().mean();
    if (weight != 1.0) term = term * weight;
    per_pair = per_pair.defined() ? per_pair + term : term;
  }
  if (in.pair_weights.defined()) per_pair = per_pair * pair_weights(in.pair_weights, batch);
  if (margin.defined() && placement_ == Placement::kAdditive) {
    per_pair = per_pair - margin * config_.gamma;
  }
  out.loss = per_pair.mean();
  if (hmk_) {
    const auto entropy = hmk_->entropy_penalty();
    if (config_.hmk_entropy_weight > 0) out.loss = out.loss + config_.hmk_entropy_weight * entropy;
    metrics["hmk/entropy_penalty"] = entropy.detach();
    for (const auto& [name, weight] : hmk_->weights()) metrics["hmk/weights/" + name] = weight;
  }
  if (config_.penalty_enabled()) {
    if (!in.token_penalty.defined() || in.token_penalty.dim() != 0) {
      DPOK_THROW(ConfigError, kComponent,
                 "penalty_alpha > 0 needs PairInputs.token_penalty as a scalar (from penalty())");
    }
    const auto penalty = upcast(in.token_penalty);
    out.loss = out.loss + config_.penalty_alpha * penalty;
    metrics["divergence/value"] = penalty.detach();
  }

  const auto chosen_rewards = (terms.chosen_logratios * config_.beta).detach();
  const auto rejected_rewards = (terms.rejected_logratios * config_.beta).detach();
  metrics["rewards/chosen"] = chosen_rewards.mean();
  metrics["rewards/rejected"] = rejected_rewards.mean();
  metrics["rewards/margins"] = (chosen_rewards - rejected_rewards).mean();
  metrics["rewards/accuracies"] =
      (chosen_rewards > rejected_rewards).to(chosen_rewards.scalar_type()).mean();
  metrics["logps/chosen"] = policy_chosen.detach().mean();
  metrics["logps/rejected"] = policy_rejected.detach().mean();
  if (in.policy_chosen_logits_mean.defined()) {
    metrics["logits/chosen"] = upcast(in.policy_chosen_logits_mean).detach().mean();
  }
  if (in.policy_rejected_logits_mean.defined()) {
    metrics["logits/rejected"] = upcast(in.policy_rejected_logits_mean).detach().mean();
  }
  return out;
}

namespace {

// The rows the penalty covers, as a narrow of the concatenated [2B, ...] layout (chosen first).
int64_t penalty_rows(const at::Tensor& hidden, PenaltyOn on) {
  if (!hidden.defined() || hidden.dim() != 3 || hidden.size(0) % 2 != 0) {
    DPOK_THROW(ConfigError, kComponent,
               "penalty needs concatenated hidden states [2B, T, H] (chosen rows first); got {}",
               hidden.defined() ? c10::str(hidden.sizes()) : "none");
  }
  return on == PenaltyOn::kChosen ? hidden.size(0) / 2 : hidden.size(0);
}

LmHeadStates first_rows(const LmHeadStates& states, int64_t rows) {
  return {states.hidden.narrow(0, 0, rows), states.weight};
}

at::Tensor reduce_penalty(const at::Tensor& per_sequence, PenaltyOn on) {
  return on == PenaltyOn::kChosen ? per_sequence.mean() : token_penalty(per_sequence, on);
}

}  // namespace

at::Tensor ObjectiveImpl::penalty(const LmHeadStates& policy, const LmHeadStates& reference,
                                  const at::Tensor& completion_mask,
                                  const at::Tensor& embeddings) const {
  const int64_t rows = penalty_rows(policy.hidden, penalty_on_);
  const auto per_sequence = sequence_token_divergence(
      first_rows(policy, rows), first_rows(reference, rows), completion_mask.narrow(0, 0, rows),
      divergence_options_, config_.penalty_chunk_size, embeddings);
  return reduce_penalty(per_sequence, penalty_on_);
}

at::Tensor ObjectiveImpl::penalty_topk(const LmHeadStates& policy, const at::Tensor& ref_topk_ids,
                                       const at::Tensor& ref_topk_logps,
                                       const at::Tensor& completion_mask,
                                       const at::Tensor& embeddings) const {
  const int64_t rows = penalty_rows(policy.hidden, penalty_on_);
  const auto per_sequence = sequence_token_divergence_topk(
      first_rows(policy, rows), ref_topk_ids.narrow(0, 0, rows), ref_topk_logps.narrow(0, 0, rows),
      completion_mask.narrow(0, 0, rows), divergence_options_, config_.penalty_chunk_size,
      embeddings);
  return reduce_penalty(per_sequence, penalty_on_);
}

bool ObjectiveImpl::semantic_term_is_constant() const {
  return config_.semantic_enabled() && placement_ == Placement::kAdditive &&
         source_ != EmbeddingSource::kPolicy && parameters().empty();
}

void ObjectiveImpl::init_kernel_from_data(const at::Tensor& embeddings) {
  const auto e = config_.normalize ? l2_normalize(embeddings.detach()) : embeddings.detach();
  if (hmk_) {
    hmk_->init_from_data(e);
  } else if (kernel_) {
    kernel_->init_from_data(e);
  } else {
    DPOK_THROW(ConfigError, kComponent,
               "init_kernel_from_data: the semantic term is off (gamma = 0)");
  }
}

at::Tensor chosen_token_nll(const at::Tensor& chosen_logps, const at::Tensor& chosen_lengths,
                            const at::Tensor& token_count) {
  const auto logps = upcast(chosen_logps);
  const auto count = token_count.defined() ? token_count : chosen_lengths.sum();
  return -logps.sum() / count.to(logps.device(), logps.scalar_type()).clamp_min(1.0);
}

}  // namespace dpok::objective
