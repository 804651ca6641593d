// KV-cached generation loop (see generate.h).
#include "dpok/model/generate.h"

#include <ATen/CPUGeneratorImpl.h>

#include <algorithm>
#include <limits>

#include "dpok/core/error.h"
#include "dpok/model/sampling.h"

namespace dpok::model {

std::vector<int64_t> generate(CausalLM& model, const std::vector<int64_t>& prompt_ids,
                              const GenerationOptions& options,
                              const std::function<void(int64_t)>& on_token) {
  const SamplingOptions sampling{options.temperature, options.top_k, options.top_p};
  validate(sampling);
  if (prompt_ids.empty()) DPOK_THROW(ConfigError, "model.generate", "the prompt is empty");
  if (options.max_new_tokens < 0 || options.min_new_tokens < 0) {
    DPOK_THROW(ConfigError, "model.generate",
               "max_new_tokens ({}) and min_new_tokens ({}) must be >= 0", options.max_new_tokens,
               options.min_new_tokens);
  }
  const auto& eos =
      options.eos_token_ids.empty() ? model->config().eos_token_ids : options.eos_token_ids;
  at::NoGradGuard no_grad;
  auto generator = at::make_generator<at::CPUGeneratorImpl>(options.seed);
  const int64_t prompt_len = static_cast<int64_t>(prompt_ids.size());
  auto cache = model->make_cache(1, prompt_len + std::max<int64_t>(options.max_new_tokens, 1));
  auto input = at::tensor(prompt_ids, at::kLong).view({1, prompt_len});

  std::vector<int64_t> output;
  while (static_cast<int64_t>(output.size()) < options.max_new_tokens) {
    auto hidden = model->forward_cached(input, cache);
    auto logits = model->logits(hidden[0][-1]).to(at::kCPU);  // [V] fp32
    const bool allow_eos = static_cast<int64_t>(output.size()) >= options.min_new_tokens;
    if (!allow_eos) {
      for (int64_t id : eos) {
        if (id >= 0 && id < logits.size(0)) logits[id] = -std::numeric_limits<float>::infinity();
      }
    }
    const int64_t token = sample_token(logits, sampling, generator);
    output.push_back(token);
    if (on_token) on_token(token);
    if (std::find(eos.begin(), eos.end(), token) != eos.end()) break;
    input = at::full({1, 1}, token, at::kLong);
  }
  return output;
}

}  // namespace dpok::model
