// Token-level divergence penalty (objective.md §6): supports, chunking, reduction.
#include "dpok/objective/token_penalty.h"

#include <torch/csrc/autograd/autograd.h>
#include <torch/csrc/autograd/custom_function.h>

#include <algorithm>
#include <cmath>
#include <vector>

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

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

void check_sequences(const at::Tensor& policy_logits, const at::Tensor& mask) {
  if (policy_logits.dim() != 3 || mask.dim() != 2 || mask.size(0) != policy_logits.size(0) ||
      mask.size(1) != policy_logits.size(1)) {
    DPOK_THROW(ConfigError, kComponent,
               "token penalty needs logits [R, T, V] and a mask [R, T]; got {} and {}",
               c10::str(policy_logits.sizes()), c10::str(mask.sizes()));
  }
}

void check_states(const LmHeadStates& states, const at::Tensor& mask, const char* side) {
  const auto& h = states.hidden;
  const auto& w = states.weight;
  if (!h.defined() || !w.defined() || h.dim() != 3 || mask.dim() != 2 ||
      mask.size(0) != h.size(0) || mask.size(1) != h.size(1) || w.dim() != 2 ||
      w.size(1) != h.size(2) || w.scalar_type() != h.scalar_type()) {
    DPOK_THROW(ConfigError, kComponent,
               "token penalty needs {} hidden states [R, T, H] with a mask [R, T] and an lm_head "
               "weight [V, H] of the same dtype; got {}, {} and {}",
               side, h.defined() ? c10::str(h.sizes()) : "none", c10::str(mask.sizes()),
               w.defined() ? c10::str(w.sizes()) : "none");
  }
}

// What a chunk is compared against, none of it differentiable: the reference as hidden rows +
// weight (online) or as top-k ids + log-probs (cached), and wasserstein's embedding matrix. Kept
// out of the autograd inputs (an undefined tensor cannot be one).
struct ChunkReference {
  bool cached = false;
  at::Tensor a, b;  // online: hidden rows [M, H], weight [V, H]; cached: ids, log-probs [M, k]
  at::Tensor embeddings;
};

// Per-position D of positions [start, start + n): policy rows h [n, H] through w [V, H].
at::Tensor chunk_divergence(const at::Tensor& h, const at::Tensor& w, const ChunkReference& ref,
                            int64_t start, int64_t n, const TokenDivergenceOptions& options) {
  const auto& embeddings = ref.embeddings;
  const auto p = at::log_softmax(upcast(h.matmul(w.t())), -1);
  if (ref.cached) {
    return token_divergence_topk(p, ref.a.narrow(0, start, n), ref.b.narrow(0, start, n), options,
                                 embeddings);
  }
  at::Tensor q;
  {
    at::NoGradGuard no_grad;
    q = at::log_softmax(upcast(ref.a.narrow(0, start, n).matmul(ref.b.t())), -1);
  }
  return token_divergence(p, q, options, embeddings);
}

// D per projected position, chunk_size positions at a time; the backward recomputes each chunk
// (activation checkpointing), so neither pass holds more than one chunk's [n, V] tensors.
// Gradients flow into the policy rows and weight only.
class ChunkedPenaltyFunction : public torch::autograd::Function<ChunkedPenaltyFunction> {
 public:
  static variable_list forward(AutogradContext* ctx, const at::Tensor& rows,
                               const at::Tensor& weight, const ChunkReference& ref,
                               const TokenDivergenceOptions& options, int64_t chunk_size) {
    std::vector<at::Tensor> values;
    for (int64_t start = 0; start < rows.size(0); start += chunk_size) {
      const int64_t n = std::min(chunk_size, rows.size(0) - start);
      values.push_back(chunk_divergence(rows.narrow(0, start, n), weight, ref, start, n, options));
    }
    ctx->save_for_backward({rows, weight});
    ctx->saved_data["cached"] = ref.cached;
    ctx->saved_data["ref_a"] = ref.a;
    ctx->saved_data["ref_b"] = ref.b;
    ctx->saved_data["embeddings"] = ref.embeddings;
    ctx->saved_data["divergence"] = static_cast<int64_t>(options.divergence);
    ctx->saved_data["renyi_order"] = options.renyi_order;
    ctx->saved_data["topk"] = options.topk;
    ctx->saved_data["sinkhorn_epsilon"] = options.sinkhorn_epsilon;
    ctx->saved_data["sinkhorn_iterations"] = options.sinkhorn_iterations;
    ctx->saved_data["chunk_size"] = chunk_size;
    return {at::cat(values)};
  }

  static variable_list backward(AutogradContext* ctx, variable_list grad_outputs) {
    const auto saved = ctx->get_saved_variables();
    const auto& rows = saved[0];
    const auto& weight = saved[1];
    auto& data = ctx->saved_data;
    const ChunkReference ref{data["cached"].toBool(), data["ref_a"].toTensor(),
                             data["ref_b"].toTensor(), data["embeddings"].toTensor()};
    TokenDivergenceOptions options;
    options.divergence = static_cast<Divergence>(data["divergence"].toInt());
    options.renyi_order = data["renyi_order"].toDouble();
    options.topk = data["topk"].toInt();
    options.sinkhorn_epsilon = data["sinkhorn_epsilon"].toDouble();
    options.sinkhorn_iterations = data["sinkhorn_iterations"].toInt();
    const int64_t chunk_size = data["chunk_size"].toInt();
    const auto& grad = grad_outputs[0];
    auto grad_rows = at::zeros_like(rows);
    auto grad_weight = at::zeros(weight.sizes(), weight.options().dtype(grad.scalar_type()));
    at::AutoGradMode enable_grad(true);
    for (int64_t start = 0; start < rows.size(0); start += chunk_size) {
      const int64_t n = std::min(chunk_size, rows.size(0) - start);
      const auto h = rows.narrow(0, start, n).detach().requires_grad_(true);
      const auto w = weight.detach().requires_grad_(true);
      const auto values = chunk_divergence(h, w, ref, start, n, options);
      const auto grads = torch::autograd::grad({values}, {h, w}, {grad.narrow(0, start, n)});
      grad_rows.narrow(0, start, n).copy_(grads[0]);
      grad_weight.add_(grads[1].to(grad_weight.scalar_type()));
    }
    return {grad_rows, grad_weight.to(weight.scalar_type()), {}, {}, {}};
  }
};

// Runs the chunked function over the masked positions of `policy` and averages per sequence.
at::Tensor penalty_over_positions(const LmHeadStates& policy, const at::Tensor& mask,
                                  const at::Tensor& index, const ChunkReference& ref,
                                  const TokenDivergenceOptions& options, int64_t chunk_size) {
  DPOK_CHECK(chunk_size >= 1, "chunk_size must be >= 1, got {}", chunk_size);
  const auto dtype = policy.hidden.scalar_type() == at::kDouble ? at::kDouble : at::kFloat;
  TokenPenaltyAccumulator accumulator(mask.size(0), policy.hidden.options().dtype(dtype));
  if (index.size(0) == 0) return accumulator.per_sequence();
  const auto rows =
      policy.hidden.reshape({-1, policy.hidden.size(2)}).index_select(0, index);  // [M, H]
  const auto values =
      ChunkedPenaltyFunction::apply(rows, policy.weight, ref, options, chunk_size)[0];
  accumulator.add(values, at::div(index, mask.size(1), "floor"));
  return accumulator.per_sequence();
}

at::Tensor detached(const at::Tensor& t) {
  return t.defined() ? t.detach() : t;
}

at::Tensor masked_positions(const at::Tensor& mask) {
  return mask.reshape({-1}).to(at::kBool).nonzero().reshape({-1});
}

// The plain mean over masked positions of per-position values d [R, T].
at::Tensor masked_sequence_mean(const at::Tensor& d, const at::Tensor& mask) {
  const auto weights = mask.to(d.scalar_type());
  return (d * weights).sum(1) / weights.sum(1).clamp_min(1.0);
}

void check_topk(const at::Tensor& ids, const at::Tensor& logps, const at::Tensor& mask) {
  if (ids.dim() != 3 || ids.size(0) != mask.size(0) || ids.size(1) != mask.size(1) ||
      ids.sizes() != logps.sizes()) {
    DPOK_THROW(ConfigError, kComponent,
               "cached top-k reference must be ids and log-probs [R, T, k] matching the mask {}; "
               "got {} and {}",
               c10::str(mask.sizes()), c10::str(ids.sizes()), c10::str(logps.sizes()));
  }
}

}  // namespace

at::Tensor sequence_token_divergence(const LmHeadStates& policy, const LmHeadStates& reference,
                                     const at::Tensor& mask, const TokenDivergenceOptions& options,
                                     int64_t chunk_size, const at::Tensor& embeddings) {
  check_states(policy, mask, "policy");
  check_states(reference, mask, "reference");
  const auto index = masked_positions(mask);
  const auto ref_rows =
      reference.hidden.detach().reshape({-1, reference.hidden.size(2)}).index_select(0, index);
  return penalty_over_positions(
      policy, mask, index,
      {/*cached=*/false, ref_rows, reference.weight.detach(), detached(embeddings)}, options,
      chunk_size);
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
  return masked_sequence_mean(d, mask);
}

at::Tensor sequence_token_divergence_topk(const LmHeadStates& policy,
                                          const at::Tensor& ref_topk_ids,
                                          const at::Tensor& ref_topk_logps, const at::Tensor& mask,
                                          const TokenDivergenceOptions& options, int64_t chunk_size,
                                          const at::Tensor& embeddings) {
  check_states(policy, mask, "policy");
  check_topk(ref_topk_ids, ref_topk_logps, mask);
  const int64_t k = ref_topk_ids.size(2);
  const auto index = masked_positions(mask);
  const ChunkReference ref{/*cached=*/true, ref_topk_ids.reshape({-1, k}).index_select(0, index),
                           ref_topk_logps.reshape({-1, k}).index_select(0, index),
                           detached(embeddings)};
  return penalty_over_positions(policy, mask, index, ref, options, chunk_size);
}

at::Tensor sequence_token_divergence_topk_reference(const at::Tensor& policy_logits,
                                                    const at::Tensor& ref_topk_ids,
                                                    const at::Tensor& ref_topk_logps,
                                                    const at::Tensor& mask,
                                                    const TokenDivergenceOptions& options,
                                                    const at::Tensor& embeddings) {
  check_sequences(policy_logits, mask);
  check_topk(ref_topk_ids, ref_topk_logps, mask);
  const int64_t vocab = policy_logits.size(2), k = ref_topk_ids.size(2);
  const auto p = at::log_softmax(upcast(policy_logits), -1).reshape({-1, vocab});
  const auto d = token_divergence_topk(p, ref_topk_ids.reshape({-1, k}),
                                       ref_topk_logps.reshape({-1, k}), options, embeddings)
                     .reshape(mask.sizes());
  return masked_sequence_mean(d, mask);
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
