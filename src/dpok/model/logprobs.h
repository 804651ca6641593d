// Per-token log-probabilities of the labels, computed from final hidden states and the lm_head
// weight in chunks, so that no full [N, T, V] fp32 log-softmax (or logits tensor) is ever held.
//
// Forward, per chunk of rows: logits = h · Wᵀ → logsumexp (fp32) → gathered log-prob. Only the
// hidden rows, the weight, the targets and one fp32 logsumexp per row are saved for backward,
// which recomputes each chunk's softmax to produce grad_hidden and grad_weight. Rows whose target
// is negative (prompt, padding) are never projected at all: the cost scales with completion tokens.
//
// The plain reference (full log_softmax + gather) lives in the same file; tests compare the two
// (values and gradients, fp64). Neither function shifts labels: the caller passes, for each
// position t, the token predicted *from* position t (completion token t+1), or -1.
#pragma once

#include <torch/types.h>

#include <cstdint>

namespace dpok::model {

struct TokenLogProbs {
  torch::Tensor logps;        // [N, T] fp32, 0 where target < 0; differentiable
  torch::Tensor logits_mean;  // [N, T] fp32 mean logit over the vocabulary (no grad), 0 where
                              // target < 0; TRL's logits/chosen and logits/rejected metrics
};

// hidden [N, T, H] (fp32 / bf16 / fp64), weight [V, H] same dtype and device, targets [N, T]
// int64 in [0, V) or < 0 (ignored). `chunk_rows` rows per slice (0 = automatic, about 64 MiB of
// fp32 logits per slice). Gradients flow into hidden and weight.
// Throws InternalError (DPOK_CHECK) on mismatched shapes, dtypes or out-of-range targets.
TokenLogProbs chunked_token_logprobs(const torch::Tensor& hidden, const torch::Tensor& weight,
                                     const torch::Tensor& targets, int64_t chunk_rows = 0);

// The reference: log_softmax(hidden · Wᵀ) gathered at targets, in fp32 (fp64 for fp64 inputs).
// Same shapes and masking as chunked_token_logprobs. Materialises [N, T, V].
TokenLogProbs reference_token_logprobs(const torch::Tensor& hidden, const torch::Tensor& weight,
                                       const torch::Tensor& targets);

// Rows per slice for the automatic choice: about 64 MiB of fp32 logits, at least 16 rows.
int64_t auto_chunk_rows(int64_t vocab_size);

// Shifts a [N, T] token matrix and a [N, T] completion mask into targets: target[n, t] =
// input_ids[n, t + 1] where completion_mask[n, t + 1], else -1 (last column always -1).
torch::Tensor completion_targets(const torch::Tensor& input_ids,
                                 const torch::Tensor& completion_mask);

}  // namespace dpok::model
