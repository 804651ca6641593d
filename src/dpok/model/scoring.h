// One model pass over a batch of sequences, reduced to what the objective needs: per-sequence
// summed completion log-probabilities, completion lengths and mean logits, computed from the final
// hidden states with the chunked log-prob function (logprobs.h), so no [R, T, V] tensor is held.
//
// Does not: pick devices (tensors must already be on the model's device), choose the reference,
// or compute losses.
#pragma once

#include <torch/types.h>

#include <cstdint>

#include "dpok/model/causal_lm.h"

namespace dpok::model {

struct SequenceScores {
  torch::Tensor logps;        // [R] fp32: Σ_t log p(x_t | x_<t) over completion tokens
  torch::Tensor token_logps;  // [R, T] fp32: the per-position terms of that sum (0 elsewhere)
  torch::Tensor lengths;      // [R] fp32: completion tokens per row
  torch::Tensor logits_mean;  // [R] fp32 (no grad): mean logit over completion positions and V
  torch::Tensor hidden;       // [R, T, H] final hidden states (model dtype)
  torch::Tensor targets;      // [R, T] int64 shifted completion targets, -1 elsewhere
};

// input_ids / attention_mask / completion_mask [R, T] (PreferenceBatch layout). Gradients flow
// into the model's parameters unless the caller holds a NoGradGuard. `chunk_rows` as in
// chunked_token_logprobs (0 = automatic).
SequenceScores score_sequences(CausalLM& model, const torch::Tensor& input_ids,
                               const torch::Tensor& attention_mask,
                               const torch::Tensor& completion_mask, int64_t chunk_rows);

}  // namespace dpok::model
