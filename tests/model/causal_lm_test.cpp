// Parity of the decoder with Hugging Face transformers (fixtures in models/hf-tiny and
// stories260k/hf), lean/full forward agreement, padding, bf16, and input validation.
#include "dpok/model/causal_lm.h"

#include <gtest/gtest.h>

#include "dpok/core/error.h"
#include "dpok/model/generate.h"
#include "dpok/model/loader.h"
#include "model/test_util.h"
#include "support/testing.h"

namespace dpok::model {
namespace {

using testing::max_abs_diff;
using testing::read_tensor;

class FixtureParity : public ::testing::TestWithParam<std::string> {};

TEST_P(FixtureParity, LogitsHiddenAndGreedyMatchTransformers) {
  DPOK_REQUIRE_ASSET(dir, GetParam());
  auto model = load_model(dir);
  const auto expected = io::SafetensorsFile::open(dir / "expected.safetensors");
  const auto ids = read_tensor(expected, "input_ids");
  const auto mask = read_tensor(expected, "attention_mask");
  ASSERT_EQ(mask.sum().item<int64_t>() < mask.numel(), true) << "fixture should pad row 1";

  at::NoGradGuard no_grad;
  auto out = model->forward(ids, mask);
  EXPECT_EQ(out.logits.scalar_type(), at::kFloat);
  EXPECT_LE(max_abs_diff(out.logits, read_tensor(expected, "logits")), 1e-4);
  EXPECT_LE(max_abs_diff(out.hidden, read_tensor(expected, "last_hidden_state")), 1e-4);
  // The lean mode returns the same hidden states.
  EXPECT_TRUE(at::equal(model->forward_hidden(ids, mask), out.hidden));

  const auto greedy = read_tensor(expected, "greedy_prompt5_new12");
  std::vector<int64_t> all(greedy.data_ptr<int64_t>(), greedy.data_ptr<int64_t>() + greedy.numel());
  std::vector<int64_t> prompt(all.begin(), all.begin() + 5), want(all.begin() + 5, all.end());
  GenerationOptions options;
  options.max_new_tokens = 12;
  options.min_new_tokens = 12;
  EXPECT_EQ(generate(model, prompt, options), want);
}

INSTANTIATE_TEST_SUITE_P(Fixtures, FixtureParity,
                         ::testing::Values("models/hf-tiny/llama-gqa-tied",
                                           "models/hf-tiny/llama-untied",
                                           "models/hf-tiny/llama3-rope-scaled",
                                           "models/hf-tiny/qwen2-bias", "models/stories260k/hf"),
                         [](const auto& info) {
                           std::string name = info.param.substr(info.param.find('/') + 1);
                           for (auto& c : name) {
                             if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
                           }
                           return name;
                         });

TEST(CausalLM, Bf16ForwardIsCloseToFp32) {
  DPOK_REQUIRE_ASSET(dir, "models/hf-tiny/llama-gqa-tied");
  auto fp32 = load_model(dir);
  auto bf16 = load_model(dir, {.dtype = at::kBFloat16});
  EXPECT_EQ(bf16->model->embed_tokens.scalar_type(), at::kBFloat16);
  const auto expected = io::SafetensorsFile::open(dir / "expected.safetensors");
  const auto ids = read_tensor(expected, "input_ids");
  const auto mask = read_tensor(expected, "attention_mask");
  at::NoGradGuard no_grad;
  auto reference = fp32->forward(ids, mask).logits;
  auto low = bf16->forward(ids, mask).logits;
  EXPECT_EQ(low.scalar_type(), at::kFloat);
  const double relative = (low - reference).norm().item<double>() / reference.norm().item<double>();
  EXPECT_LE(relative, 2e-2);
  EXPECT_GT(relative, 0.0);  // it really ran in bf16
}

TEST(CausalLM, PaddingDoesNotChangeRealTokens) {
  CausalLM model(testing::tiny_config());
  at::NoGradGuard no_grad;
  auto ids = at::randint(3, 97, {2, 9}, at::kLong);
  auto mask = at::ones({2, 9}, at::kLong);
  mask.narrow(1, 6, 3)[1].fill_(0);
  auto padded = model->forward_hidden(ids, mask);
  auto alone = model->forward_hidden(ids.narrow(0, 1, 1).narrow(1, 0, 6));
  EXPECT_LE(max_abs_diff(padded[1].narrow(0, 0, 6), alone[0]), 1e-5);
  EXPECT_LE(max_abs_diff(padded[0], model->forward_hidden(ids.narrow(0, 0, 1))[0]), 1e-5);
  // An all-padding row gives finite values, not NaN.
  auto empty_row = model->forward_hidden(ids, at::zeros({2, 9}, at::kLong));
  EXPECT_TRUE(at::isfinite(empty_row).all().item<bool>());
}

TEST(CausalLM, Qwen3QkNormParametersAndForward) {
  auto config = testing::tiny_config("Qwen3ForCausalLM");
  CausalLM model(config);
  auto params = model->named_parameters();
  EXPECT_NE(params.find("model.layers.0.self_attn.q_norm.weight"), nullptr);
  EXPECT_NE(params.find("model.layers.1.self_attn.k_norm.weight"), nullptr);
  EXPECT_NE(params.find("lm_head.weight"), nullptr);
  int64_t total = 0;
  for (const auto& p : params) total += p.value().numel();
  EXPECT_EQ(total, config.num_parameters());
  at::NoGradGuard no_grad;
  auto out = model->forward(at::randint(0, 97, {2, 5}, at::kLong));
  EXPECT_EQ(out.logits.sizes(), (std::vector<int64_t>{2, 5, 97}));
  EXPECT_EQ(out.hidden.sizes(), (std::vector<int64_t>{2, 5, 32}));
}

TEST(CausalLM, TiedModelHasNoLmHead) {
  auto config = testing::tiny_config("Qwen2ForCausalLM");
  config.tie_word_embeddings = true;
  CausalLM model(config);
  auto params = model->named_parameters();
  EXPECT_EQ(params.find("lm_head.weight"), nullptr);
  EXPECT_NE(params.find("model.layers.0.self_attn.q_proj.bias"), nullptr);
  EXPECT_EQ(params.find("model.layers.0.self_attn.o_proj.bias"), nullptr);
  EXPECT_TRUE(model->lm_head_weight().is_same(model->model->embed_tokens));
  int64_t total = 0;
  for (const auto& p : params) total += p.value().numel();
  EXPECT_EQ(total, config.num_parameters());
}

TEST(CausalLM, RejectsBadInputs) {
  CausalLM model(testing::tiny_config());
  at::NoGradGuard no_grad;
  EXPECT_THROW(model->forward(at::full({1, 3}, 97, at::kLong)), ConfigError);
  EXPECT_THROW(model->forward(at::full({1, 3}, -1, at::kLong)), ConfigError);
  EXPECT_THROW(model->forward(at::zeros({3}, at::kLong)), ConfigError);
  EXPECT_THROW(model->forward(at::zeros({1, 3}, at::kInt)), ConfigError);
  EXPECT_THROW(model->forward(at::zeros({1, 3}, at::kLong), at::ones({1, 4}, at::kLong)),
               ConfigError);
}

TEST(CausalLM, SlidingWindowBeyondItsLengthIsRefused) {
  auto config = testing::tiny_config("MistralForCausalLM");
  config.model_type = "mistral";
  config.sliding_window = 4;
  CausalLM model(config);
  at::NoGradGuard no_grad;
  EXPECT_NO_THROW(model->forward(at::zeros({1, 4}, at::kLong)));
  EXPECT_THROW(model->forward(at::zeros({1, 5}, at::kLong)), UnsupportedError);
}

}  // namespace
}  // namespace dpok::model
