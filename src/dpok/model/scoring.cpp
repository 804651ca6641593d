// Per-sequence completion log-probabilities from one forward pass (see scoring.h).
#include "dpok/model/scoring.h"

#include "dpok/model/logprobs.h"

namespace dpok::model {

SequenceScores score_sequences(CausalLM& model, const torch::Tensor& input_ids,
                               const torch::Tensor& attention_mask,
                               const torch::Tensor& completion_mask, int64_t chunk_rows) {
  SequenceScores out;
  out.targets = completion_targets(input_ids, completion_mask);
  out.hidden = model->forward_hidden(input_ids, attention_mask);
  auto tokens =
      chunked_token_logprobs(out.hidden, model->lm_head_weight(), out.targets, chunk_rows);
  out.token_logps = tokens.logps;
  out.logps = tokens.logps.sum(1);
  out.lengths = (out.targets >= 0).sum(1).to(torch::kFloat);
  out.logits_mean = tokens.logits_mean.sum(1) / out.lengths.clamp_min(1.0);
  return out;
}

}  // namespace dpok::model
