// The token-level divergence penalty of objective.md §6 (mode B):
//   D̄ = (1/T) Σ_t D(π_θ(·|x, y_<t) ‖ π_ref(·|x, y_<t)) over completion tokens.
//
// Does: per-position divergences for a chunk of positions (full reference distributions, or a
// cached reference given as top-k ids and log-probs plus a tail bucket); sequence-level means
// computed from final hidden states and the lm_head weight, projecting only the masked positions
// chunk by chunk with a recomputing backward, so at most one chunk of [n, V] log-probabilities
// exists at a time (plain unchunked references from full logits sit next to them and tests
// compare them); a streaming per-sequence accumulator; the D̄ reduction.
// Does not: run the model, or decide α (the Objective multiplies).
//
// Layouts: hidden states [R, T, H] or logits [R, T, V] with R sequences (TRL's concatenated batch:
// R = 2B, chosen rows first), masks [R, T] (bool or 0/1) marking completion positions whose
// next-token distributions count. Logits of half types are upcast to fp32; fp64 stays fp64.
#pragma once

#include <ATen/ATen.h>

#include <cstdint>

#include "dpok/objective/config.h"

namespace dpok::objective {

// A per-position support of the two top-k sets plus one tail bucket.
struct SupportUnion {
  at::Tensor ids;           // [n, 2k] token ids; duplicates of an earlier entry carry no mass
  at::Tensor policy_logps;  // [n, 2k+1] log-masses (entries, then tail), floored, sums to 1
  at::Tensor ref_logps;     // [n, 2k+1]
};

// Union of the policy's and the reference's top-k tokens (k clamped to V), from full log-probs
// [n, V]; masses exact, tail = 1 − Σ union.
SupportUnion topk_support(const at::Tensor& policy_logps, const at::Tensor& ref_logps, int64_t k);

// Same, for a cached reference: ref_topk_ids [n, k] (int64) and ref_topk_logps [n, k]. A policy
// top-k token outside the reference's top-k gets an equal share of the reference's tail mass,
// (1 − Σ_topk q)/(V − k); the tail bucket keeps the rest. With k = V this is exact.
SupportUnion cached_topk_support(const at::Tensor& policy_logps, const at::Tensor& ref_topk_ids,
                                 const at::Tensor& ref_topk_logps);

// Per-position D for one chunk: policy_logps, ref_logps [n, V] (log_softmax outputs) → [n].
// wasserstein needs `embeddings` [V, H] (the model's input embedding matrix; no gradient flows
// into it) and runs on topk_support(options.topk). Throws ConfigError on shape mismatch or a
// missing embedding matrix.
at::Tensor token_divergence(const at::Tensor& policy_logps, const at::Tensor& ref_logps,
                            const TokenDivergenceOptions& options,
                            const at::Tensor& embeddings = {});

// Per-position D for one chunk against a cached top-k reference, on cached_topk_support.
at::Tensor token_divergence_topk(const at::Tensor& policy_logps, const at::Tensor& ref_topk_ids,
                                 const at::Tensor& ref_topk_logps,
                                 const TokenDivergenceOptions& options,
                                 const at::Tensor& embeddings = {});

// Final hidden states (after the final norm) and the lm_head weight that projects them:
// logits = hidden · weightᵀ, upcast to fp32 as CausalLM::logits does.
struct LmHeadStates {
  at::Tensor hidden;  // [R, T, H]
  at::Tensor weight;  // [V, H], same dtype and device
};

// Per-sequence mean of D over masked positions [R] (0 for a sequence without positions), from
// hidden states: the masked positions are selected first, then projected and compared
// chunk_size positions at a time, and the backward recomputes each chunk, so no [R, T, V] tensor
// and no more than one chunk's [n, V] tensors exist in either pass. Gradients flow into
// policy.hidden and policy.weight; none into the reference or `embeddings`.
at::Tensor sequence_token_divergence(const LmHeadStates& policy, const LmHeadStates& reference,
                                     const at::Tensor& mask, const TokenDivergenceOptions& options,
                                     int64_t chunk_size, const at::Tensor& embeddings = {});

// The plain reference of sequence_token_divergence, from full logits [R, T, V] (hidden · Wᵀ):
// log_softmax over everything at once.
at::Tensor sequence_token_divergence_reference(const at::Tensor& policy_logits,
                                               const at::Tensor& ref_logits, const at::Tensor& mask,
                                               const TokenDivergenceOptions& options,
                                               const at::Tensor& embeddings = {});

// Cached-reference variant: ref_topk_ids [R, T, k] (int64), ref_topk_logps [R, T, k].
at::Tensor sequence_token_divergence_topk(const LmHeadStates& policy,
                                          const at::Tensor& ref_topk_ids,
                                          const at::Tensor& ref_topk_logps, const at::Tensor& mask,
                                          const TokenDivergenceOptions& options, int64_t chunk_size,
                                          const at::Tensor& embeddings = {});

// The plain reference of sequence_token_divergence_topk, from full policy logits [R, T, V].
at::Tensor sequence_token_divergence_topk_reference(const at::Tensor& policy_logits,
                                                    const at::Tensor& ref_topk_ids,
                                                    const at::Tensor& ref_topk_logps,
                                                    const at::Tensor& mask,
                                                    const TokenDivergenceOptions& options,
                                                    const at::Tensor& embeddings = {});

// Streaming reducer: add per-position values of any chunk with their sequence indices; read the
// per-sequence means. Keeps autograd history (values are summed out of place).
class TokenPenaltyAccumulator {
 public:
  // `options` give dtype and device of the sums (the caller's choice, e.g. values.options()).
  TokenPenaltyAccumulator(int64_t num_sequences, const at::TensorOptions& options);
  // values [n] and sequence_index [n] (int64, in [0, num_sequences)).
  void add(const at::Tensor& values, const at::Tensor& sequence_index);
  // [R]: sum / count per sequence (0 where count is 0).
  at::Tensor per_sequence() const;

 private:
  at::Tensor sums_, counts_;
};

// D̄ from per-sequence means [2B] (chosen rows first): kChosen → mean over the chosen rows;
// kBoth → that plus the mean over the rejected rows. Scalar.
at::Tensor token_penalty(const at::Tensor& per_sequence, PenaltyOn on);

}  // namespace dpok::objective
