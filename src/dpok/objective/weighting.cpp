// WPO pair weights and LD-DPO sequence log-probs, as TRL 1.16's DPOTrainer computes them.
#include "dpok/objective/weighting.h"

#include <tuple>

#include "dpok/core/error.h"

namespace dpok::objective {
namespace {

void check_rows(const at::Tensor& per_token, const at::Tensor& mask) {
  DPOK_CHECK(
      per_token.dim() == 2 && per_token.size(0) % 2 == 0 && mask.sizes() == per_token.sizes(),
      "expected per-token values and completion mask [2B, T]; got {} and {}",
      c10::str(per_token.sizes()), c10::str(mask.sizes()));
}

// Per-token values with the non-completion positions set to exactly 0 (they may hold anything,
// e.g. −inf for padding, which a multiplication by the mask would turn into NaN).
at::Tensor masked(const at::Tensor& per_token, const at::Tensor& mask) {
  return at::where(mask.to(at::kBool), per_token, at::zeros({}, per_token.options()));
}

}  // namespace

at::Tensor log_sum_squared_probs(const at::Tensor& logits) {
  // Shifted by the row max, as TRL's kernel accumulates: the two logsumexps are then O(log V), so
  // their difference keeps full precision for logits of any magnitude.
  const auto z = logits.detach();
  const auto shifted = z - std::get<0>(z.max(-1, /*keepdim=*/true));
  return at::logsumexp(shifted * 2.0, -1) - at::logsumexp(shifted, -1) * 2.0;
}

at::Tensor log_sum_squared_probs_reference(const at::Tensor& logits) {
  return at::log(at::softmax(logits, -1).square().sum(-1));
}

at::Tensor wpo_pair_weights(const at::Tensor& per_token_logps, const at::Tensor& log_sum_sq_probs,
                            const at::Tensor& completion_mask) {
  check_rows(per_token_logps, completion_mask);
  DPOK_CHECK(log_sum_sq_probs.sizes() == per_token_logps.sizes(),
             "log_sum_sq_probs has shape {}; expected {}", c10::str(log_sum_sq_probs.sizes()),
             c10::str(per_token_logps.sizes()));
  const auto aligned =
      masked(per_token_logps.detach() - log_sum_sq_probs.detach(), completion_mask);
  const auto lengths = completion_mask.to(aligned.scalar_type()).sum(1).clamp_min(1.0);
  const auto weights = at::exp(aligned.sum(1) / lengths);
  const int64_t pairs = weights.size(0) / 2;
  return weights.narrow(0, 0, pairs) * weights.narrow(0, pairs, pairs);
}

at::Tensor length_desensitized_logps(const at::Tensor& per_token_logps,
                                     const at::Tensor& completion_mask, double ld_alpha) {
  check_rows(per_token_logps, completion_mask);
  const auto mask = completion_mask.to(at::kBool);
  const auto position = mask.to(at::kLong).cumsum(1);  // k: 1-based index among completion tokens
  const auto lengths = position.select(1, -1);
  const int64_t pairs = lengths.size(0) / 2;
  const auto shared = at::minimum(lengths.narrow(0, 0, pairs), lengths.narrow(0, pairs, pairs));
  const auto shared_rows = at::cat({shared, shared}).unsqueeze(1);
  const auto values = masked(per_token_logps, mask);
  const auto zero = at::zeros({}, values.options());
  const auto shared_sum = at::where(position <= shared_rows, values, zero).sum(1);
  const auto tail_sum = at::where(position > shared_rows, values, zero).sum(1);
  return shared_sum + tail_sum * ld_alpha;
}

}  // namespace dpok::objective
