// Autoregressive generation for one sequence with a KV cache: greedy or sampled (sampling.h).
//
// The prompt runs through the model once (prefill), then one token per step reuses the cached
// keys and values. Stops after max_new_tokens, or at an EOS id once min_new_tokens have been
// produced (before that EOS ids are masked out, like transformers'
// MinNewTokensLengthLogitsProcessor). Batched and beam-search generation are not provided.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "dpok/model/causal_lm.h"

namespace dpok::model {

struct GenerationOptions {
  int64_t max_new_tokens = 128;
  int64_t min_new_tokens = 0;
  double temperature = 0.0;  // 0 = greedy
  int64_t top_k = 0;
  double top_p = 1.0;
  uint64_t seed = 0;
  std::vector<int64_t> eos_token_ids;  // empty: the model config's
};

// Returns only the new tokens (an EOS that ends generation is included). Throws ConfigError for
// an empty prompt, ids outside the vocabulary, or invalid options. `on_token`, when given, is
// called with each new token as it is produced (streaming output).
std::vector<int64_t> generate(CausalLM& model, const std::vector<int64_t>& prompt_ids,
                              const GenerationOptions& options,
                              const std::function<void(int64_t)>& on_token = {});

}  // namespace dpok::model
