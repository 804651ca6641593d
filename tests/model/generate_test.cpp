// KV-cached generation: equality with uncached decoding, EOS handling, seeded sampling.
#include "dpok/model/generate.h"

#include <gtest/gtest.h>

#include "dpok/core/error.h"
#include "model/test_util.h"

namespace dpok::model {
namespace {

CausalLM random_model(const std::string& architecture = "LlamaForCausalLM") {
  CausalLM model(testing::tiny_config(architecture));
  model->init_weights(/*seed=*/7, /*std=*/0.3);  // large enough for varied argmaxes
  return model;
}

// Greedy decoding by re-running the whole sequence every step (no cache).
std::vector<int64_t> uncached_greedy(CausalLM& model, std::vector<int64_t> ids, int64_t steps) {
  at::NoGradGuard no_grad;
  std::vector<int64_t> out;
  for (int64_t i = 0; i < steps; ++i) {
    auto input = at::tensor(ids, at::kLong).view({1, -1});
    auto logits = model->forward(input).logits[0][-1];
    out.push_back(logits.argmax().item<int64_t>());
    ids.push_back(out.back());
  }
  return out;
}

TEST(Generate, CachedGreedyEqualsUncachedArgmax) {
  for (const char* arch : {"LlamaForCausalLM", "Qwen2ForCausalLM", "Qwen3ForCausalLM"}) {
    auto model = random_model(arch);
    const std::vector<int64_t> prompt = {1, 5, 9, 33, 4};
    GenerationOptions options;
    options.max_new_tokens = 20;
    options.eos_token_ids = {-1};  // never stop early
    auto cached = generate(model, prompt, options);
    EXPECT_EQ(cached, uncached_greedy(model, prompt, 20)) << arch;
    EXPECT_EQ(cached.size(), 20u);
  }
}

TEST(Generate, StopsAtEosUnlessMinNewTokens) {
  auto model = random_model();
  const std::vector<int64_t> prompt = {1, 5, 9};
  GenerationOptions options;
  options.max_new_tokens = 10;
  options.eos_token_ids = {-1};
  const auto free_run = generate(model, prompt, options);
  ASSERT_EQ(free_run.size(), 10u);
  // Declaring the 3rd greedy token an EOS stops right after it...
  options.eos_token_ids = {free_run[2]};
  const auto stopped = generate(model, prompt, options);
  const auto first = std::find(free_run.begin(), free_run.end(), free_run[2]) - free_run.begin();
  EXPECT_EQ(stopped, std::vector<int64_t>(free_run.begin(), free_run.begin() + first + 1));
  // ...while min_new_tokens masks it out for that many steps.
  options.min_new_tokens = 10;
  const auto forced = generate(model, prompt, options);
  EXPECT_EQ(forced.size(), 10u);
  EXPECT_EQ(std::count(forced.begin(), forced.end(), free_run[2]), 0);
}

TEST(Generate, SeededSamplingIsReproducible) {
  auto model = random_model();
  GenerationOptions options;
  options.max_new_tokens = 16;
  options.temperature = 1.5;
  options.top_k = 20;
  options.top_p = 0.95;
  options.eos_token_ids = {-1};
  options.seed = 3;
  const auto a = generate(model, {1, 2, 3}, options);
  const auto b = generate(model, {1, 2, 3}, options);
  EXPECT_EQ(a, b);
  options.seed = 4;
  EXPECT_NE(generate(model, {1, 2, 3}, options), a);
}

TEST(Generate, RejectsBadArguments) {
  auto model = random_model();
  GenerationOptions options;
  EXPECT_THROW(generate(model, {}, options), ConfigError);
  EXPECT_THROW(generate(model, {1, 500}, options), ConfigError);
  options.temperature = -1;
  EXPECT_THROW(generate(model, {1}, options), ConfigError);
  options.temperature = 1;
  options.top_p = 0;
  EXPECT_THROW(generate(model, {1}, options), ConfigError);
  options.top_p = 1;
  options.max_new_tokens = 0;
  EXPECT_TRUE(generate(model, {1}, options).empty());
}

}  // namespace
}  // namespace dpok::model
