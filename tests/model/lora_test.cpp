// LoRA adapters on a loaded model (lora.h, adapter.h): PEFT's initialisation and freezing, the
// adapter switch giving the base model back bit for bit, gradients reaching only the adapters, the
// PEFT files round trip, merging, and the refusals. Parity with peft itself is tested on a trained
// adapter in tests/train/trainer_lora_test.cpp.
#include "dpok/model/lora.h"

#include <ATen/CPUGeneratorImpl.h>
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>

#include "dpok/core/error.h"
#include "dpok/core/file_util.h"
#include "dpok/model/adapter.h"
#include "dpok/model/loader.h"
#include "support/testing.h"
#include "test_util.h"

namespace dpok::model {
namespace {

using testing::max_abs_diff;

LoraSettings all_linear(std::vector<std::string> modules_to_save = {}) {
  LoraSettings s;
  s.r = 4;
  s.alpha = 8;
  s.dropout = 0.0;
  s.target_modules = resolve_target_modules({"all-linear"}, "lora_target_modules");
  s.modules_to_save = std::move(modules_to_save);
  return s;
}

// Every lora_B and copy moved away from its initial value, so the adapter changes the model.
void perturb(CausalLM& model, uint64_t seed) {
  at::NoGradGuard no_grad;
  auto generator = at::make_generator<at::CPUGeneratorImpl>(seed);
  for (auto& [name, p] : adapter_parameters(*model)) {
    if (name.find("lora_A") != std::string::npos) continue;
    p.add_(at::normal(0.0, 0.05, p.sizes(), generator, p.options()));
  }
}

at::Tensor ids_of(const CausalLM& model) {
  return at::randint(0, model->config().vocab_size, {2, 9}, at::kLong);
}

TEST(Lora, InitFreezesTheBaseAndStartsAtTheBaseModel) {
  DPOK_REQUIRE_ASSET(dir, "models/stories260k/hf");
  auto base = load_model(dir);
  auto model = load_model(dir);
  apply_lora(model, all_linear({"lm_head"}));
  int adapters = 0;
  for (const auto& item : model->named_parameters()) {
    const bool adapter = is_adapter_parameter(item.key());
    EXPECT_EQ(item.value().requires_grad(), adapter) << item.key();
    if (item.key().find("lora_A") != std::string::npos) {
      // kaiming_uniform(a = √5) on [r, in]: U(-1/√in, 1/√in).
      const double bound = 1.0 / std::sqrt(static_cast<double>(item.value().size(1)));
      EXPECT_LE(item.value().abs().max().item<double>(), bound) << item.key();
      EXPECT_GT(item.value().abs().max().item<double>(), 0.5 * bound) << item.key();
      ++adapters;
    }
    if (item.key().find("lora_B") != std::string::npos) {
      EXPECT_EQ(item.value().abs().max().item<double>(), 0.0) << item.key();
    }
  }
  EXPECT_EQ(adapters, 7 * model->config().num_hidden_layers);
  EXPECT_EQ(adapter_parameters(*model).back().first, "base_model.model.lm_head.weight");
  const auto ids = ids_of(model);
  at::NoGradGuard no_grad;
  EXPECT_TRUE(at::equal(model->forward(ids).logits, base->forward(ids).logits));
}

TEST(Lora, SwitchedOffIsTheBaseModelAndGradientsReachOnlyTheAdapters) {
  DPOK_REQUIRE_ASSET(dir, "models/stories260k/hf");
  auto base = load_model(dir);
  auto model = load_model(dir);
  apply_lora(model, all_linear({"lm_head", "embed_tokens"}));
  perturb(model, 3);
  const auto ids = ids_of(model);
  at::Tensor on, off, reference;
  {
    at::NoGradGuard no_grad;
    on = model->forward(ids).logits;
    {
      const AdaptersDisabled base_only(*model);
      off = model->forward(ids).logits;
    }
    reference = base->forward(ids).logits;
  }
  EXPECT_TRUE(model->adapters_enabled());
  EXPECT_TRUE(at::equal(off, reference));
  EXPECT_GT(max_abs_diff(on, reference), 1e-3);

  // One backward with B = 0 (as at the first step): B gets a gradient, A none (B A's gradient
  // with respect to A is Bᵀ · ... = 0), the base weights none at all.
  auto fresh = load_model(dir);
  apply_lora(fresh, all_linear());
  fresh->forward(ids).logits.logsumexp(-1).sum().backward();
  for (const auto& item : fresh->named_parameters()) {
    const auto& grad = item.value().grad();
    if (item.key().find("lora_B") != std::string::npos) {
      ASSERT_TRUE(grad.defined()) << item.key();
      EXPECT_TRUE(std::isfinite(grad.abs().sum().item<double>())) << item.key();
      EXPECT_GT(grad.abs().sum().item<double>(), 0.0) << item.key();
    } else if (item.key().find("lora_A") != std::string::npos) {
      EXPECT_EQ(grad.abs().sum().item<double>(), 0.0) << item.key();
    } else {
      EXPECT_FALSE(grad.defined()) << item.key();
    }
  }
}

TEST(Lora, AdapterFilesRoundTripAndMergeToTheSameLogits) {
  for (const char* fixture : {"models/stories260k/hf", "models/hf-tiny/llama-untied"}) {
    DPOK_REQUIRE_ASSET(dir, fixture);
    auto model = load_model(dir);
    auto settings = all_linear({"lm_head"});
    settings.use_rslora = true;
    apply_lora(model, settings);
    perturb(model, 5);
    dpok::testing::TempDir tmp;
    save_adapter(*model, {settings, dir.string()}, tmp.path());
    const auto config = nlohmann::json::parse(read_file(tmp / "adapter_config.json"));
    EXPECT_EQ(config["peft_type"], "LORA");
    EXPECT_EQ(config["task_type"], "CAUSAL_LM");
    EXPECT_EQ(config["r"], 4);
    EXPECT_EQ(config["lora_alpha"], 8);
    EXPECT_EQ(config["use_rslora"], true);
    EXPECT_EQ(config["base_model_name_or_path"], dir.string());
    EXPECT_EQ(config["target_modules"].size(), 7u);
    EXPECT_EQ(config["modules_to_save"], nlohmann::json({"lm_head"}));
    EXPECT_NEAR(settings.scaling(), 8.0 / 2.0, 1e-12);  // rsLoRA: alpha / √r

    auto loaded = load_model(tmp.path());  // an adapter directory: base + adapter
    ASSERT_TRUE(loaded->has_adapters());
    const auto ids = ids_of(model);
    at::NoGradGuard no_grad;
    const auto expected = model->forward(ids).logits;
    EXPECT_TRUE(at::equal(loaded->forward(ids).logits, expected)) << fixture;
    auto merged = merge_adapter(tmp.path());
    EXPECT_FALSE(merged->has_adapters());
    EXPECT_FALSE(merged->config().tie_word_embeddings);  // the trained head is its own now
    // W + s·B A in one matrix rounds differently from x Wᵀ + s·(x Aᵀ) Bᵀ: fp32 rounding through
    // every layer (logits of magnitude ~10).
    EXPECT_LT(max_abs_diff(merged->forward(ids).logits, expected), 1e-4) << fixture;
  }
}

TEST(Lora, RefusesWhatItCannotHonour) {
  EXPECT_THROW(resolve_target_modules({"q_proj", "c_attn", "lm_head"}, "lora_target_modules"),
               ConfigError);
  try {
    resolve_target_modules({"q_proj", "c_attn"}, "lora_target_modules");
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("'lora_target_modules'"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("c_attn"), std::string::npos);
  }
  EXPECT_EQ(resolve_target_modules({}, "k"), (std::vector<std::string>{"q_proj", "v_proj"}));
  EXPECT_EQ(resolve_target_modules({"v_proj", "q_proj", "v_proj"}, "k"),
            (std::vector<std::string>{"q_proj", "v_proj"}));
  EXPECT_THROW(check_modules_to_save({"score"}, "lora_modules_to_save"), ConfigError);

  DPOK_REQUIRE_ASSET(dir, "models/stories260k/hf");
  auto model = load_model(dir);
  apply_lora(model, all_linear());
  dpok::testing::TempDir tmp;
  save_adapter(*model, {all_linear(), dir.string()}, tmp.path());
  auto config = nlohmann::json::parse(read_file(tmp / "adapter_config.json"));
  config["use_dora"] = true;
  write_file_atomic(tmp / "adapter_config.json", config.dump());
  EXPECT_THROW(load_model(tmp.path()), UnsupportedError);
  config["use_dora"] = false;
  config["target_modules"] = {"q_proj"};  // the file holds more than the config describes
  write_file_atomic(tmp / "adapter_config.json", config.dump());
  EXPECT_THROW(load_model(tmp.path()), FormatError);
  config["target_modules"] = "all-linear";
  config["base_model_name_or_path"] = (tmp / "missing").string();
  write_file_atomic(tmp / "adapter_config.json", config.dump());
  EXPECT_THROW(load_model(tmp.path()), ConfigError);
  EXPECT_NO_THROW(load_adapter_model(tmp.path(), {}, dir));  // --base overrides it
}

}  // namespace
}  // namespace dpok::model
