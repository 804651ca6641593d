// TRL 1.x re-weightings of the log-probabilities that feed the preference loss: WPO pair weights
// (`use_weighting`) and LD-DPO's length-desensitised sequence log-probs (`ld_alpha`).
//
// Does: per-position log Σ_v p_v² from one chunk of logits (with its plain reference), the WPO
// pair weight from per-token log-probs, and the LD-DPO sequence log-prob, all as TRL 1.16's
// DPOTrainer computes them. Pure tensor code: any floating dtype, shapes below, no I/O.
// Does not: run the model or hold [2B, T, V] logits (the trainer calls log_sum_squared_probs on
// each chunk of positions it already projects for the log-probs), nor apply the weights (the
// Objective does, through PairInputs::pair_weights).
//
// Layout: rows are the concatenated batch [2B, ...], the B chosen sequences first, as everywhere
// in dpok. `completion_mask` [2B, T] is 1 on completion tokens, aligned with `per_token_logps`
// (position t scores token t), bool or integer.
//
// Wiring in the trainer (a few lines):
//   WPO:    in the chunked log-prob loop, also keep lssp[:, chunk] = log_sum_squared_probs(logits
//           of the chunk) (no grad); then inputs.pair_weights = wpo_pair_weights(per_token_logps,
//           lssp, completion_mask).
//   LD-DPO: replace the masked sum of per-token log-probs by length_desensitized_logps(...), for
//           the policy and the reference alike (a cached reference must be computed with the
//           same ld_alpha).
#pragma once

#include <ATen/ATen.h>

namespace dpok::objective {

// log Σ_v softmax(z)_v² = logsumexp(2s) − 2·logsumexp(s), s = z − max(z), over the last dim:
// logits [..., V] -> [...], detached (TRL marks it non-differentiable). Accurate for logits of
// any magnitude.
at::Tensor log_sum_squared_probs(const at::Tensor& logits);
// Plain reference: log(Σ_v softmax(z)_v²), for tests.
at::Tensor log_sum_squared_probs_reference(const at::Tensor& logits);

// WPO weight of each pair [B] (WPO paper eq. 2, TRL 1.16 `use_weighting`): per sequence
// w(y) = exp(mean over y's completion tokens of (log p_t − log Σ_v p_v²)) (mean over at least one
// token), and the pair weight w(y⁺)·w(y⁻). Detached. per_token_logps, log_sum_sq_probs,
// completion_mask [2B, T]; masked positions are ignored whatever they hold.
at::Tensor wpo_pair_weights(const at::Tensor& per_token_logps, const at::Tensor& log_sum_sq_probs,
                            const at::Tensor& completion_mask);

// LD-DPO sequence log-probs [2B] (TRL 1.16 `ld_alpha`): with n = min(|y⁺|, |y⁻|) per pair, the
// first n completion tokens of each sequence count fully and the rest ("verbose" tail) count with
// weight ld_alpha: ℓ = Σ_{k ≤ n} log p_k + ld_alpha·Σ_{k > n} log p_k. ld_alpha = 1 is the plain
// masked sum; 0 drops the tail. per_token_logps, completion_mask [2B, T]. Differentiable in
// per_token_logps.
at::Tensor length_desensitized_logps(const at::Tensor& per_token_logps,
                                     const at::Tensor& completion_mask, double ld_alpha);

}  // namespace dpok::objective
