// Greedy and temperature/top-k/top-p sampling (see sampling.h).
#include "dpok/model/sampling.h"

#include <limits>

#include "dpok/core/error.h"

namespace dpok::model {

void validate(const SamplingOptions& options) {
  if (!(options.temperature >= 0) || options.top_k < 0 || !(options.top_p > 0) ||
      options.top_p > 1) {
    DPOK_THROW(ConfigError, "model.sampling",
               "invalid sampling options: temperature {} (>= 0), top_k {} (>= 0), top_p {} "
               "(in (0, 1])",
               options.temperature, options.top_k, options.top_p);
  }
}

at::Tensor process_logits(const at::Tensor& logits, const SamplingOptions& options) {
  const double kNegInf = -std::numeric_limits<double>::infinity();
  auto scores = logits.to(at::kFloat) / options.temperature;
  const int64_t vocab = scores.size(0);
  if (options.top_k > 0 && options.top_k < vocab) {
    // Keep every token scoring at least the k-th best (ties at the threshold survive, as in HF).
    auto threshold = std::get<0>(scores.topk(options.top_k)).min();
    scores = scores.masked_fill(scores < threshold, kNegInf);
  }
  if (options.top_p < 1.0) {
    // transformers' TopPLogitsWarper: sort ascending, drop the tokens whose cumulative
    // probability stays within 1 - top_p, always keeping the most likely one.
    auto [sorted, order] = scores.sort(/*dim=*/0, /*descending=*/false);
    auto cumulative = sorted.softmax(0).cumsum(0);
    auto drop_sorted = cumulative <= (1.0 - options.top_p);
    drop_sorted.narrow(0, vocab - 1, 1).fill_(false);
    auto drop = at::zeros_like(drop_sorted).scatter(0, order, drop_sorted);
    scores = scores.masked_fill(drop, kNegInf);
  }
  return scores;
}

int64_t sample_token(const at::Tensor& logits, const SamplingOptions& options,
                     at::Generator& generator) {
  auto row = logits.to(at::kCPU, at::kFloat);
  if (options.temperature == 0.0) return row.argmax().item<int64_t>();
  auto probs = process_logits(row, options).softmax(0);
  return at::multinomial(probs, 1, /*replacement=*/false, generator).item<int64_t>();
}

}  // namespace dpok::model
