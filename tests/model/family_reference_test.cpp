// Qwen3 and Mistral have no transformers fixture in the shared assets, so each architecture is
// checked here against tests/model/llama_family_reference.py: the families' forward written
// independently in plain PyTorch (fp64) from transformers' modeling code, reading the checkpoint
// dpok saved. Weights are random and norms are not all ones, so a misplaced q/k norm, a wrong
// head_dim or a swapped projection shows.
#include <gtest/gtest.h>

#include <cstdio>
#include <memory>
#include <nlohmann/json.hpp>

#include <ATen/CPUGeneratorImpl.h>

#include "dpok/model/causal_lm.h"
#include "dpok/model/save.h"
#include "model/test_util.h"
#include "support/testing.h"

namespace dpok::model {
namespace {

std::string run_reference(const std::filesystem::path& dir, const std::string& ids_json) {
  const auto script = std::filesystem::path(__FILE__).parent_path() / "llama_family_reference.py";
  const std::string command =
      "/usr/bin/python3 " + script.string() + " " + dir.string() + " '" + ids_json + "' 2>&1";
  std::string output;
  std::unique_ptr<FILE, int (*)(FILE*)> pipe(popen(command.c_str(), "r"), pclose);
  if (!pipe) return output;
  char buffer[4096];
  while (size_t n = fread(buffer, 1, sizeof(buffer), pipe.get())) output.append(buffer, n);
  return output;
}

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
  if (!std::filesystem::exists("/usr/bin/python3")) {
    if (dpok::testing::running_in_ci()) FAIL() << "/usr/bin/python3 is required under CI";
    GTEST_SKIP() << "/usr/bin/python3 not found";
  }
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
  const auto output = run_reference(tmp.path(), nlohmann::json(ids).dump());
  auto expected = nlohmann::json::parse(output, nullptr, false);
  if (expected.is_discarded() && output.find("No module named 'torch'") != std::string::npos &&
      !dpok::testing::running_in_ci()) {
    GTEST_SKIP() << "Debian's python3-torch is not installed";
  }
  ASSERT_FALSE(expected.is_discarded()) << output;
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
