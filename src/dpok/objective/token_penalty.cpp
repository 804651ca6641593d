// Token-level divergence penalty (objective.md §6): supports, chunking, reduction.
#include "dpok/objective/token_penalty.h"

#include <algorithm>
#include <cmath>

#include "dpok/core/error.h"
#include "dpok/objective/divergences.h"
#include "dpok/objective/wasserstein.h"

namespace dpok::objective {
namespace {

constexpr const char* kComponent = "objective";

// Half types are upcast: §0 runs all divergence math in fp32 (fp64 stays fp64).
at::Tensor upcast(const at::Tensor& t) {
  return t.scalar_type() == at::kDouble ? t : t.to(at::kFloat);
}

// log(max(1 − Σ exp(entries), 0)) per row → [n, 1], floored where the tail is empty. The where()
// pair keeps log's gradient away from 0.
at::Tensor log_tail(const at::Tensor& entry_logps) {
  const auto tail = 1.0 - entry_logps.exp().sum(-1, /*keepdim=*/true);
  const auto positive = tail > 0;
  const auto safe = at::where(positive, tail, at::ones_like(tail));
  return at::where(positive, at::log(safe), at::full_like(tail, kLogProbFloor));
}

// [n, k] mask of policy top-k ids already present among the reference ids (counted once).
at::Tensor duplicates(const at::Tensor& policy_ids, const at::Tensor& ref_ids) {
  return (policy_ids.unsqueeze(-1) == ref_ids.unsqueeze(-2)).any(-1);
}

void check_pair(const at::Tensor& policy_logps, const at::Tensor& ref_logps) {
  if (policy_logps.dim() != 2 || policy_logps.sizes() != ref_logps.sizes()) {
    DPOK_THROW(ConfigError, kComponent,
               "token divergence needs policy and reference log-probs of equal shape [n, V]; got "
               "{} and {}",
               c10::str(policy_logps.sizes()), c10::str(ref_logps.sizes()));
  }
}

at::Tensor support_divergence(const SupportUnion& s, const TokenDivergenceOptions& o,
                              const at::Tensor& embeddings, int64_t vocab) {
  if (o.divergence != Divergence::kWasserstein) {
    return distribution_divergence(o.divergence, s.policy_logps, s.ref_logps, o.renyi_order);
  }
  if (!embeddings.defined() || embeddings.dim() != 2 || embeddings.size(0) != vocab) {
    DPOK_THROW(ConfigError, kComponent,
               "divergence 'wasserstein' needs the token embedding matrix [V = {}, H]; got {}",
               vocab, embeddings.defined() ? c10::str(embeddings.sizes()) : "none");
  }
  const auto cost = cosine_cost_with_tail(s.ids, embeddings, s.policy_logps.scalar_type());
  return sinkhorn_divergence(s.policy_logps, s.ref_logps, cost, o.sinkhorn_epsilon,
                             o.sinkhorn_iterations);
}

}  // namespace

SupportUnion topk_support(const at::Tensor& policy_logps, const at::Tensor& ref_logps, int64_t k) {
  check_pair(policy_logps, ref_logps);
  k = std::min(k, policy_logps.size(-1));
  const auto ref_ids = std::get<1>(ref_logps.detach().topk(k, -1));
  const auto policy_ids = std::get<1>(policy_logps.detach().topk(k, -1));
  const auto drop =
      at::cat({at::zeros_like(ref_ids, at::kBool), duplicates(policy_ids, ref_ids)}, -1);
  SupportUnion s;
  s.ids = at::cat({ref_ids, policy_ids}, -1);
  const auto p = policy_logps.gather(-1, s.ids).masked_fill(drop, kLogProbFloor);
  const auto q = ref_logps.gather(-1, s.ids).masked_fill(drop, kLogProbFloor);
  s.policy_logps = at::cat({p, log_tail(p)}, -1).clamp_min(kLogProbFloor);
  s.ref_logps = at::cat({q, log_tail(q)}, -1).clamp_min(kLogProbFloor);
  return s;
}

SupportUnion cached_topk_support(const at::Tensor& policy_logps, const at::Tensor& ref_topk_ids,
                                 const at::Tensor& ref_topk_logps) {
  const int64_t vocab = policy_logps.size(-1), k = ref_topk_ids.size(-1);
  if (policy_logps.dim() != 2 || ref_topk_ids.dim() != 2 ||
      ref_topk_ids.sizes() != ref_topk_logps.sizes() ||
      ref_topk_ids.size(0) != policy_logps.size(0) || k > vocab || k < 1) {
    DPOK_THROW(
        ConfigError, kComponent,
        "cached top-k reference: policy log-probs {} need ids and log-probs [n, k <= V]; got "
        "{} and {}",
        c10::str(policy_logps.sizes()), c10::str(ref_topk_ids.sizes()),
        c10::str(ref_topk_logps.sizes()));
  }
  const auto policy_ids = std::get<1>(policy_logps.detach().topk(k, -1));
  const auto dup = duplicates(policy_ids, ref_topk_ids);
  const auto drop = at::cat({at::zeros_like(dup), dup}, -1);
  SupportUnion s;
  s.ids = at::cat({ref_topk_ids, policy_ids}, -1);
  const auto p = policy_logps.gather(-1, s.ids).masked_fill(drop, kLogProbFloor);
  const auto ref = upcast(ref_topk_logps).to(p.scalar_type());
  const auto ref_tail = log_tail(ref);  // [n, 1]: mass outside the cached top-k
  at::Tensor share, rest;
  if (vocab > k) {
    // Unseen tokens share the tail equally; the bucket keeps what the m new entries did not take.
    const double unseen = static_cast<double>(vocab - k);
    const auto taken = (~dup).sum(-1, /*keepdim=*/true).to(p.scalar_type());
    share = (ref_tail - std::log(unseen)).expand({-1, k});
    rest = ref_tail + at::log1p(-(taken / unseen).clamp_max(1.0));
  } else {  // every token is cached: no unseen tokens, empty tail
    share = at::full_like(p.narrow(1, 0, k), kLogProbFloor);
    rest = at::full_like(ref_tail, kLogProbFloor);
  }
  const auto q = at::cat({ref, share}, -1).masked_fill(drop, kLogProbFloor);
  // With k = V the entries hold all of p; in fp32 1 − Σp is rounding noise (~1e-8) whose log
  // would meet the floored reference tail and add ~1e-4 of spurious divergence per position.
  const auto policy_tail = vocab > k ? log_tail(p) : at::full_like(ref_tail, kLogProbFloor);
  s.policy_logps = at::cat({p, policy_tail}, -1).clamp_min(kLogProbFloor);
  s.ref_logps = at::cat({q, rest}, -1).clamp_min(kLogProbFloor);
  return s;
}

at::Tensor token_divergence(const at::Tensor& policy_logps, const at::Tensor& ref_logps,
                            const TokenDivergenceOptions& options, const at::Tensor& embeddings) {
  check_pair(policy_logps, ref_logps);
  const auto p = upcast(policy_logps), q = upcast(ref_logps).to(p.scalar_type());
  if (options.divergence != Divergence::kWasserstein) {
    return distribution_divergence(options.divergence, p, q, options.renyi_order);
  }
  return support_divergence(topk_support(p, q, options.topk), options, embeddings, p.size(-1));
}

at::Tensor token_divergence_topk(const at::Tensor& policy_logps, const at::Tensor& ref_topk_ids,
                                 const at::Tensor& ref_topk_logps,
                                 const TokenDivergenceOptions& options,
                                 const at::Tensor& embeddings) {
  const auto p = upcast(policy_logps);
  return support_divergence(cached_topk_support(p, ref_topk_ids, ref_topk_logps), options,
                            embeddings, p.size(-1));
}

namespace {

void check_sequences(const at::Tensor& policy_logits, const at::Tensor& mask) {
  if (policy_logits.dim() != 3 || mask.dim() != 2 || mask.size(0) != policy_logits.size(0) ||
      mask.size(1) != policy_logits.size(1)) {
    DPOK_THROW(ConfigError, kComponent,
               "token penalty needs logits [R, T, V] and a mask [R, T]; got {} and {}",
               c10::str(policy_logits.sizes()), c10::str(mask.sizes()));
  }
}

// Walks the flattened positions of mask [R, T] in contiguous chunks of chunk_size; for a chunk c
// with masked positions calls per_chunk(c, local) with their indices inside the chunk and
// accumulates the returned [n] values into per-sequence means [R]. Callers slice their [R·T, V]
// tensors with split(chunk_size), whose backward assembles one gradient for all chunks (an
// index_select or narrow on the full tensor would allocate a full-size gradient per chunk).
template <typename PerChunk>
at::Tensor chunked_sequence_mean(const at::Tensor& mask, int64_t chunk_size,
                                 const at::TensorOptions& options, PerChunk&& per_chunk) {
  DPOK_CHECK(chunk_size >= 1, "chunk_size must be >= 1, got {}", chunk_size);
  const auto flat_mask = mask.reshape({-1}).to(at::kBool);
  const int64_t total = flat_mask.size(0), length = mask.size(1);
  TokenPenaltyAccumulator accumulator(mask.size(0), options);
  for (int64_t c = 0, start = 0; start < total; ++c, start += chunk_size) {
    const int64_t n = std::min(chunk_size, total - start);
    const auto local = flat_mask.narrow(0, start, n).nonzero().reshape({-1});
    if (local.size(0) == 0) continue;
    accumulator.add(per_chunk(static_cast<size_t>(c), local),
                    at::div(local + start, length, "floor"));
  }
  return accumulator.per_sequence();
}

at::TensorOptions math_options(const at::Tensor& logits) {
  return logits.options().dtype(logits.scalar_type() == at::kDouble ? at::kDouble : at::kFloat);
}

}  // namespace

at::Tensor sequence_token_divergence(const at::Tensor& policy_logits, const at::Tensor& ref_logits,
                                     const at::Tensor& mask, const TokenDivergenceOptions& options,
                                     int64_t chunk_size, const at::Tensor& embeddings) {
  check_sequences(policy_logits, mask);
  check_sequences(ref_logits, mask);
  const int64_t vocab = policy_logits.size(2);
  const auto policy_chunks = policy_logits.reshape({-1, vocab}).split(chunk_size);
  const auto ref_chunks = ref_logits.reshape({-1, vocab}).split(chunk_size);
  return chunked_sequence_mean(
      mask, chunk_size, math_options(policy_logits), [&](size_t c, const at::Tensor& local) {
        const auto p = at::log_softmax(upcast(policy_chunks[c].index_select(0, local)), -1);
        const auto q = at::log_softmax(upcast(ref_chunks[c].index_select(0, local)), -1);
        return token_divergence(p, q, options, embeddings);
      });
}

at::Tensor sequence_token_divergence_reference(const at::Tensor& policy_logits,
                                               const at::Tensor& ref_logits, const at::Tensor& mask,
                                               const TokenDivergenceOptions& options,
                                               const at::Tensor& embeddings) {
  check_sequences(policy_logits, mask);
  check_sequences(ref_logits, mask);
  const int64_t vocab = policy_logits.size(2);
  const auto p = at::log_softmax(upcast(policy_logits), -1).reshape({-1, vocab});
  const auto q = at::log_softmax(upcast(ref_logits), -1).reshape({-1, vocab});
  const auto d = token_divergence(p, q, options, embeddings).reshape(mask.sizes());
  const auto weights = mask.to(d.scalar_type());
  return (d * weights).sum(1) / weights.sum(1).clamp_min(1.0);
}

at::Tensor sequence_token_divergence_topk(const at::Tensor& policy_logits,
                                          const at::Tensor& ref_topk_ids,
                                          const at::Tensor& ref_topk_logps, const at::Tensor& mask,
                                          const TokenDivergenceOptions& options, int64_t chunk_size,
                                          const at::Tensor& embeddings) {
  check_sequences(policy_logits, mask);
  if (ref_topk_ids.dim() != 3 || ref_topk_ids.size(0) != mask.size(0) ||
      ref_topk_ids.size(1) != mask.size(1) || ref_topk_ids.sizes() != ref_topk_logps.sizes()) {
    DPOK_THROW(ConfigError, kComponent,
               "cached top-k reference must be ids and log-probs [R, T, k] matching the mask {}; "
               "got {} and {}",
               c10::str(mask.sizes()), c10::str(ref_topk_ids.sizes()),
               c10::str(ref_topk_logps.sizes()));
  }
  const int64_t vocab = policy_logits.size(2), k = ref_topk_ids.size(2);
  const auto policy_chunks = policy_logits.reshape({-1, vocab}).split(chunk_size);
  const auto id_chunks = ref_topk_ids.reshape({-1, k}).split(chunk_size);
  const auto logp_chunks = ref_topk_logps.reshape({-1, k}).split(chunk_size);
  return chunked_sequence_mean(
      mask, chunk_size, math_options(policy_logits), [&](size_t c, const at::Tensor& local) {
        const auto p = at::log_softmax(upcast(policy_chunks[c].index_select(0, local)), -1);
        return token_divergence_topk(p, id_chunks[c].index_select(0, local),
                                     logp_chunks[c].index_select(0, local), options, embeddings);
      });
}

TokenPenaltyAccumulator::TokenPenaltyAccumulator(int64_t num_sequences,
                                                 const at::TensorOptions& options)
    : sums_(at::zeros({num_sequences}, options)), counts_(at::zeros({num_sequences}, options)) {}

void TokenPenaltyAccumulator::add(const at::Tensor& values, const at::Tensor& sequence_index) {
  DPOK_CHECK(values.dim() == 1 && values.sizes() == sequence_index.sizes(),
             "accumulator add: values {} and indices {} must both be [n]", c10::str(values.sizes()),
             c10::str(sequence_index.sizes()));
  const auto v = values.to(sums_.scalar_type());
  sums_ = sums_.index_add(0, sequence_index, v);
  counts_ = counts_.index_add(0, sequence_index, at::ones_like(v));
}

at::Tensor TokenPenaltyAccumulator::per_sequence() const {
  return sums_ / counts_.clamp_min(1.0);
}

at::Tensor token_penalty(const at::Tensor& per_sequence, PenaltyOn on) {
  if (per_sequence.dim() != 1 || per_sequence.size(0) % 2 != 0 || per_sequence.size(0) == 0) {
    DPOK_THROW(ConfigError, kComponent,
               "token_penalty needs per-sequence values [2B] (chosen rows first); got {}",
               c10::str(per_sequence.sizes()));
  }
  const int64_t b = per_sequence.size(0) / 2;
  const auto chosen = per_sequence.narrow(0, 0, b).mean();
  if (on == PenaltyOn::kChosen) return chosen;
  return chosen + per_sequence.narrow(0, b, b).mean();
}

}  // namespace dpok::objective
