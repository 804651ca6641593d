// Chunked per-token log-probabilities with a recomputing backward, and the plain reference.
#include "dpok/model/logprobs.h"

#include <torch/csrc/autograd/custom_function.h>

#include <algorithm>

#include "dpok/core/error.h"

namespace dpok::model {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

// Accumulation dtype: fp64 stays fp64 (gradient checks), everything else reduces in fp32.
torch::ScalarType accumulate_dtype(const torch::Tensor& t) {
  return t.scalar_type() == torch::kDouble ? torch::kDouble : torch::kFloat;
}

// Inputs are already restricted to labelled rows: hidden [M, H], weight [V, H], targets [M].
// When all rows fit in one chunk, the forward keeps that chunk's logits for the backward instead
// of recomputing them: the memory bound (one chunk) is the same and a [M, H] × [H, V] product
// per step is saved.
class ChunkedLogProbFunction : public torch::autograd::Function<ChunkedLogProbFunction> {
 public:
  static variable_list forward(AutogradContext* ctx, const torch::Tensor& hidden,
                               const torch::Tensor& weight, const torch::Tensor& targets,
                               int64_t chunk_rows) {
    const int64_t rows = hidden.size(0);
    const auto acc = accumulate_dtype(hidden);
    auto opts = hidden.options().dtype(acc);
    auto logps = torch::empty({rows}, opts);
    auto lse = torch::empty({rows}, opts);
    auto mean = torch::empty({rows}, opts);
    const auto weight_t = weight.t();
    torch::Tensor kept;
    for (int64_t start = 0; start < rows; start += chunk_rows) {
      const int64_t end = std::min(rows, start + chunk_rows);
      auto logits = hidden.slice(0, start, end).matmul(weight_t).to(acc);  // [c, V]
      if (end - start == rows) kept = logits;
      auto chunk_lse = logits.logsumexp(-1);
      auto picked = logits.gather(1, targets.slice(0, start, end).unsqueeze(1)).squeeze(1);
      logps.slice(0, start, end).copy_(picked - chunk_lse);
      lse.slice(0, start, end).copy_(chunk_lse);
      mean.slice(0, start, end).copy_(logits.mean(-1));
    }
    ctx->save_for_backward({hidden, weight, targets, lse, kept});
    ctx->saved_data["chunk_rows"] = chunk_rows;
    ctx->mark_non_differentiable({mean});
    return {logps, mean};
  }

  static variable_list backward(AutogradContext* ctx, variable_list grad_outputs) {
    const auto saved = ctx->get_saved_variables();
    const auto& hidden = saved[0];
    const auto& weight = saved[1];
    const auto& targets = saved[2];
    const auto& lse = saved[3];
    const auto& kept = saved[4];
    const int64_t chunk_rows = ctx->saved_data["chunk_rows"].toInt();
    const auto acc = lse.scalar_type();
    auto grad = grad_outputs[0];
    auto grad_hidden = torch::zeros_like(hidden);
    auto grad_weight = torch::zeros(weight.sizes(), weight.options().dtype(acc));
    if (!grad.defined()) return {grad_hidden, grad_weight.to(weight.scalar_type()), {}, {}};
    grad = grad.to(acc);
    const auto weight_t = weight.t();
    for (int64_t start = 0; start < hidden.size(0); start += chunk_rows) {
      const int64_t end = std::min(hidden.size(0), start + chunk_rows);
      auto h = hidden.slice(0, start, end);
      auto g = grad.slice(0, start, end).unsqueeze(1);  // [c, 1]
      // d logp / d logits = onehot(target) − softmax(logits), recomputed from the saved lse.
      auto logits = kept.defined() ? kept : h.matmul(weight_t).to(acc);
      auto probs = (logits - lse.slice(0, start, end).unsqueeze(1)).exp_();
      auto grad_logits = probs.mul_(g.neg());
      grad_logits.scatter_add_(1, targets.slice(0, start, end).unsqueeze(1), g);
      auto grad_logits_w = grad_logits.to(weight.scalar_type());
      grad_hidden.slice(0, start, end).copy_(grad_logits_w.matmul(weight));
      grad_weight.add_(grad_logits_w.t().matmul(h).to(acc));
    }
    return {grad_hidden, grad_weight.to(weight.scalar_type()), {}, {}};
  }
};

void check_inputs(const torch::Tensor& hidden, const torch::Tensor& weight,
                  const torch::Tensor& targets) {
  DPOK_CHECK(hidden.dim() == 3, "hidden must be [N, T, H], got {} dims", hidden.dim());
  DPOK_CHECK(weight.dim() == 2 && weight.size(1) == hidden.size(2),
             "weight must be [V, {}], got [{}]", hidden.size(2),
             fmt::join(weight.sizes().vec(), ", "));
  DPOK_CHECK(weight.scalar_type() == hidden.scalar_type(), "hidden and weight dtypes differ");
  DPOK_CHECK(
      targets.dim() == 2 && targets.size(0) == hidden.size(0) && targets.size(1) == hidden.size(1),
      "targets must be [N, T] matching hidden");
  DPOK_CHECK(targets.scalar_type() == torch::kLong, "targets must be int64");
}

}  // namespace

int64_t auto_chunk_rows(int64_t vocab_size) {
  constexpr int64_t kBudgetBytes = int64_t{64} << 20;
  return std::max<int64_t>(16, kBudgetBytes / (std::max<int64_t>(1, vocab_size) * 4));
}

TokenLogProbs chunked_token_logprobs(const torch::Tensor& hidden, const torch::Tensor& weight,
                                     const torch::Tensor& targets, int64_t chunk_rows) {
  check_inputs(hidden, weight, targets);
  const int64_t n = hidden.size(0), t = hidden.size(1), h = hidden.size(2);
  const int64_t vocab = weight.size(0);
  if (chunk_rows <= 0) chunk_rows = auto_chunk_rows(vocab);
  const auto acc = accumulate_dtype(hidden);

  auto flat_targets = targets.reshape({n * t});
  auto index = (flat_targets >= 0).nonzero().squeeze(1);
  auto rows = hidden.reshape({n * t, h}).index_select(0, index);
  auto picked = flat_targets.index_select(0, index);
  if (picked.numel() > 0) {
    DPOK_CHECK(picked.max().item<int64_t>() < vocab, "a target id is >= the vocabulary size {}",
               vocab);
  }
  auto out = ChunkedLogProbFunction::apply(rows, weight, picked, chunk_rows);
  auto zeros = torch::zeros({n * t}, hidden.options().dtype(acc));
  TokenLogProbs result;
  result.logps = zeros.index_add(0, index, out[0]).reshape({n, t});
  result.logits_mean = zeros.index_add(0, index, out[1]).reshape({n, t});
  return result;
}

TokenLogProbs reference_token_logprobs(const torch::Tensor& hidden, const torch::Tensor& weight,
                                       const torch::Tensor& targets) {
  check_inputs(hidden, weight, targets);
  const auto acc = accumulate_dtype(hidden);
  auto logits = hidden.matmul(weight.t()).to(acc);  // [N, T, V]
  auto valid = targets >= 0;
  auto safe = targets.clamp_min(0).unsqueeze(-1);
  auto picked = logits.log_softmax(-1).gather(-1, safe).squeeze(-1);
  TokenLogProbs result;
  result.logps = picked.where(valid, torch::zeros_like(picked));
  auto mean = logits.detach().mean(-1);
  result.logits_mean = mean.where(valid, torch::zeros_like(mean));
  return result;
}

torch::Tensor completion_targets(const torch::Tensor& input_ids,
                                 const torch::Tensor& completion_mask) {
  DPOK_CHECK(input_ids.sizes() == completion_mask.sizes(), "ids and mask shapes differ");
  auto targets = torch::full_like(input_ids, -1);
  const int64_t t = input_ids.size(1);
  if (t < 2) return targets;
  auto next_ids = input_ids.slice(1, 1, t);
  auto next_mask = completion_mask.slice(1, 1, t).to(torch::kBool);
  targets.slice(1, 0, t - 1).copy_(next_ids.where(next_mask, torch::full_like(next_ids, -1)));
  return targets;
}

}  // namespace dpok::model
