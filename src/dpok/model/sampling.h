// Choosing the next token from logits: greedy, or sampling with temperature, top-k and top-p
// (nucleus), in the order transformers' logits processors apply them (temperature → top-k →
// top-p). Pure tensor code over one row of logits; the generator makes sampling reproducible.
#pragma once

#include <ATen/ATen.h>

#include <cstdint>

namespace dpok::model {

struct SamplingOptions {
  double temperature = 0.0;  // 0 = greedy (argmax, first index on ties)
  int64_t top_k = 0;         // 0 = off
  double top_p = 1.0;        // 1 = off
};

// Throws ConfigError on a negative temperature or top_k, or top_p outside (0, 1].
void validate(const SamplingOptions& options);

// logits [V] fp32 (any device) → the chosen token id. `generator` is a CPU generator.
int64_t sample_token(const at::Tensor& logits, const SamplingOptions& options,
                     at::Generator& generator);

// The processed logits sampling draws from (masked entries -inf), for tests. logits [V] fp32.
at::Tensor process_logits(const at::Tensor& logits, const SamplingOptions& options);

}  // namespace dpok::model
