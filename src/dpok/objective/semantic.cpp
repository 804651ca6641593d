// Pooling, normalisation and bandwidth for the semantic term (objective.md §3, §4).
#include "dpok/objective/semantic.h"

#include "dpok/core/error.h"

namespace dpok::objective {

at::Tensor l2_normalize(const at::Tensor& x) {
  // rsqrt(clamp(Σx², ε²)): the clamp's gradient is 0 below ε², so a zero vector gets a zero
  // gradient instead of the 0/0 of x/‖x‖.
  const auto squared = x.square().sum(-1, /*keepdim=*/true);
  return x * at::rsqrt(squared.clamp_min(kNormEpsilon * kNormEpsilon));
}

at::Tensor masked_mean_pool(const at::Tensor& hidden, const at::Tensor& mask) {
  if (hidden.dim() != 3 || mask.dim() != 2 || hidden.size(0) != mask.size(0) ||
      hidden.size(1) != mask.size(1)) {
    DPOK_THROW(
        ConfigError, "objective",
        "masked_mean_pool: hidden {} and mask {} do not match; expected [R, T, H] and [R, T]",
        c10::str(hidden.sizes()), c10::str(mask.sizes()));
  }
  const auto weights = mask.to(hidden.scalar_type()).unsqueeze(-1);  // [R, T, 1]
  const auto counts = weights.sum(1).clamp_min(1.0);                 // [R, 1]
  return (hidden * weights).sum(1) / counts;
}

PairEmbeddings pool_pair_embeddings(const at::Tensor& hidden, const at::Tensor& prompt_mask,
                                    const at::Tensor& completion_mask) {
  if (hidden.dim() != 3 || hidden.size(0) % 2 != 0) {
    DPOK_THROW(ConfigError, "objective",
               "pool_pair_embeddings: hidden {} is not [2B, T, H] (chosen rows then rejected)",
               c10::str(hidden.sizes()));
  }
  const int64_t b = hidden.size(0) / 2;
  const auto completions = masked_mean_pool(hidden, completion_mask);
  PairEmbeddings out;
  out.prompt = masked_mean_pool(hidden.narrow(0, 0, b), prompt_mask.narrow(0, 0, b));
  out.chosen = completions.narrow(0, 0, b);
  out.rejected = completions.narrow(0, b, b);
  return out;
}

at::Tensor median_heuristic_sigma(const at::Tensor& u, const at::Tensor& v) {
  DPOK_CHECK(u.sizes() == v.sizes() && u.dim() == 2 && u.size(0) > 0,
             "median_heuristic_sigma needs two equal non-empty [N, d] tensors, got {} and {}",
             c10::str(u.sizes()), c10::str(v.sizes()));
  const auto distances = (u.detach() - v.detach()).square().sum(-1).sqrt();
  return distances.median().clamp_min(kNormEpsilon);
}

}  // namespace dpok::objective
