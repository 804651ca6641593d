// Qwen3 and Mistral have no transformers fixture in the shared assets, so each architecture is
// checked here against tests/model/llama_family_reference.py: the families' forward written
// independently in plain PyTorch (fp64) from transformers' modeling code, reading the checkpoint
// dpok saved. Weights are random and norms are not all ones, so a misplaced q/k norm, a wrong
// head_dim or a swapped projection shows.
#include <gtest/gtest.h>

#include <ATen/CPUGeneratorImpl.h>

#include "dpok/core/file_util.h"
#include "dpok/model/causal_lm.h"
#include "dpok/model/save.h"
#include "model/test_util.h"
#include "support/python_oracle.h"

namespace dpok::model {
namespace {

ModelConfig family_config(const std::string& architecture) {
  auto config = testing::tiny_config(architecture);
  if (architecture == "Qwen3ForCausalLM") {
    config.head_dim = 16;  // explicit, unlike hidden / heads = 8, as in Qwen3-0.6B
    config.rope.theta = 1e6;
  } else if (architecture == "MistralForCausalLM") {
    config.model_type = "mistral";
    config.sliding_window = 4096;
  }
  return config;
}

class FamilyReference : public ::testing::TestWithParam<std::string> {};

TEST_P(FamilyReference, LogitsMatchIndependentPythonForward) {
  DPOK_REQUIRE_PYTHON("torch");
  const auto config = family_config(GetParam());
  CausalLM model(config);
  {
    at::NoGradGuard no_grad;
    auto generator = at::make_generator<at::CPUGeneratorImpl>(7);
    for (auto& p : model->parameters()) {
      auto noise = at::normal(0.0, 0.2, p.sizes(), generator, at::TensorOptions(at::kFloat));
      p.copy_(p.dim() == 1 ? 1.0 + noise : noise);
    }
  }
  dpok::testing::TempDir tmp;
  save_pretrained(model, tmp.path());
  const std::vector<std::vector<int64_t>> ids = {{1, 17, 42, 5, 96, 3, 60},
                                                 {1, 8, 8, 33, 2, 71, 14}};
  const auto script = std::filesystem::path(__FILE__).parent_path() / "llama_family_reference.py";
  const auto answer = dpok::testing::run_python(read_file(script),
                                                {{"model_dir", tmp.path().string()}, {"ids", ids}});
  ASSERT_TRUE(answer.has_value() && !answer->is_discarded()) << "reference script failed";
  const auto& expected = *answer;
  std::vector<double> flat;
  for (const auto& row : expected) {
    for (const auto& position : row) {
      for (const auto& value : position) flat.push_back(value.get<double>());
    }
  }
  at::NoGradGuard no_grad;
  std::vector<int64_t> flat_ids;
  for (const auto& row : ids) flat_ids.insert(flat_ids.end(), row.begin(), row.end());
  const auto logits = model->forward(at::tensor(flat_ids).view({2, 7})).logits;
  ASSERT_EQ(static_cast<int64_t>(flat.size()), logits.numel());
  const double worst = testing::max_abs_diff(logits, at::tensor(flat).view(logits.sizes()));
  EXPECT_LE(worst, 1e-4) << GetParam();
}

INSTANTIATE_TEST_SUITE_P(Architectures, FamilyReference,
                         ::testing::Values("LlamaForCausalLM", "MistralForCausalLM",
                                           "Qwen2ForCausalLM", "Qwen3ForCausalLM"),
                         [](const auto& info) {
                           return info.param.substr(0, info.param.find('F'));
                         });

}  // namespace
}  // namespace dpok::model
