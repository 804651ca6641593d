// LoRA training (use_peft) end to end on stories260K: the checkpoint is a PEFT adapter that
// peft.PeftModel.from_pretrained loads to dpok's logits, its merge is a checkpoint transformers
// loads to the same logits, the base weights never move, the reference is the base (adapters
// off) online and precomputed, and resume is bit-identical.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <fstream>

#include "dpok/core/file_util.h"
#include "dpok/io/gguf_quants.h"
#include "dpok/model/adapter.h"
#include "dpok/model/loader.h"
#include "dpok/model/quantized_base.h"
#include "dpok/model/save.h"
#include "dpok/train/trainer.h"
#include "support/python_oracle.h"
#include "support/testing.h"
#include "trainer_fixture.h"

namespace dpok::train {
namespace {
namespace fs = std::filesystem;

class TrainerLoraTest : public test_support::TrainerFixture {
 protected:
  // r = 4 on every projection with a trained LM-head copy, rsLoRA, dropout on: every piece of the
  // adapter format takes part.
  TrainConfig lora_config(const fs::path& out, std::vector<std::string> overrides = {}) const {
    std::vector<std::string> all = {"use_peft=true",
                                    "lora_r=4",
                                    "lora_alpha=8",
                                    "lora_dropout=0.1",
                                    "lora_target_modules=all-linear",
                                    "lora_modules_to_save=[lm_head]",
                                    "use_rslora=true",
                                    "learning_rate=1e-2"};
    all.insert(all.end(), overrides.begin(), overrides.end());
    return config(out, all);
  }
};

constexpr const char* kPeftReference = R"PY(
import json, sys
import torch
from transformers import AutoModelForCausalLM
from peft import PeftModel
request = json.load(sys.stdin)
ids = torch.tensor(request["ids"])
base = AutoModelForCausalLM.from_pretrained(request["base"], dtype=torch.float32).eval()
model = PeftModel.from_pretrained(base, request["adapter"]).eval()
merged = AutoModelForCausalLM.from_pretrained(request["merged"], dtype=torch.float32).eval()
with torch.no_grad():
    adapter = model(ids).logits[0]
    with model.disable_adapter():
        off = model(ids).logits[0]
    merged_logits = merged(ids).logits[0]
json.dump({"adapter": adapter.tolist(), "off": off.tolist(), "merged": merged_logits.tolist()},
          sys.stdout)
)PY";

double max_abs_diff(const torch::Tensor& a, const torch::Tensor& b) {
  return (a.to(torch::kDouble) - b.to(torch::kDouble)).abs().max().item<double>();
}

TEST_F(TrainerLoraTest, AdapterLoadsInPeftAndMergesForTransformers) {
  REQUIRE_MODEL();
  DPOK_REQUIRE_PYTHON("transformers peft torch");
  Trainer trainer(lora_config(tmp_ / "run"), quiet());
  EXPECT_FALSE(trainer.reference_info().model_loaded);  // the policy with its adapters off
  EXPECT_TRUE(trainer.reference_info().model_kept);
  const auto result = trainer.run();
  ASSERT_EQ(result.losses.size(), 4u);
  const fs::path dir = result.last_checkpoint;
  for (const char* file : {"adapter_config.json", "adapter_model.safetensors", "tokenizer.model",
                           "optimizer.pt", "trainer_state.json"}) {
    EXPECT_TRUE(fs::exists(dir / file)) << file;
  }
  EXPECT_FALSE(fs::exists(dir / "model.safetensors"));

  // The base weights never moved; the adapters did.
  auto base = model::load_model(model_dir_);
  const auto base_params = base->named_parameters();
  for (const auto& item : trainer.policy()->named_parameters()) {
    if (model::is_adapter_parameter(item.key())) {
      if (item.key().find("lora_B") != std::string::npos) {
        EXPECT_GT(item.value().abs().sum().item<double>(), 0.0) << item.key();
      }
      continue;
    }
    EXPECT_TRUE(torch::equal(item.value(), base_params[item.key()])) << item.key();
  }

  const fs::path merged_dir = tmp_ / "merged";
  auto merged = model::merge_adapter(dir);
  model::save_pretrained(merged, merged_dir);
  const std::vector<int64_t> ids = {1, 403, 52, 9, 77, 3, 260, 18, 11};
  const auto answer = dpok::testing::run_python(kPeftReference, {{"base", model_dir_.string()},
                                                                 {"adapter", dir.string()},
                                                                 {"merged", merged_dir.string()},
                                                                 {"ids", {ids}}});
  ASSERT_TRUE(answer.has_value()) << "peft could not load " << dir;
  const auto as_tensor = [](const nlohmann::json& rows) {
    std::vector<torch::Tensor> out;
    for (const auto& row : rows) out.push_back(torch::tensor(row.get<std::vector<double>>()));
    return torch::stack(out).to(torch::kFloat);
  };
  auto adapter = model::load_model(dir);  // an adapter directory: base + adapter
  torch::NoGradGuard no_grad;
  const auto input = torch::tensor(ids, torch::kLong).unsqueeze(0);
  const auto dpok_logits = adapter->forward(input).logits[0];
  const auto base_logits = base->forward(input).logits[0];
  EXPECT_GT(max_abs_diff(dpok_logits, base_logits), 1e-3);  // the adapter does something
  EXPECT_LT(max_abs_diff(as_tensor(answer->at("adapter")), dpok_logits), 1e-5);
  EXPECT_LT(max_abs_diff(as_tensor(answer->at("off")), base_logits), 1e-5);
  // transformers reads the merged checkpoint to dpok's merged model; merging itself changes the
  // logits by fp32 rounding only (W + s·B A in one matrix).
  const auto merged_logits = merged->forward(input).logits[0];
  EXPECT_LT(max_abs_diff(as_tensor(answer->at("merged")), merged_logits), 1e-5);
  EXPECT_LT(max_abs_diff(merged_logits, dpok_logits), 1e-4);
  // The trainer's reference: the same policy with its adapters switched off is the base model.
  const model::AdaptersDisabled base_only(*trainer.policy());
  EXPECT_TRUE(torch::equal(trainer.policy()->forward(input).logits[0], base_logits));
}

TEST_F(TrainerLoraTest, ResumeIsBitIdentical) {
  REQUIRE_MODEL();
  // Adapters, the LM-head copy and their AdamW moments come back from the PEFT checkpoint.
  expect_resume_is_bit_identical([&](const fs::path& out) { return lora_config(out); });
}

TEST_F(TrainerLoraTest, PrecomputedReferenceIsTheBaseAlsoAfterResume) {
  REQUIRE_MODEL();
  const auto cache = [&](const char* name) { return "ref_cache_dir=" + (tmp_ / name).string(); };
  Trainer online(lora_config(tmp_ / "online"), quiet());
  const auto a = online.run();
  auto two_steps = quiet();
  two_steps.stop_at_step = 2;
  {
    Trainer t(lora_config(tmp_ / "cached", {"precompute_ref_log_probs=true", cache("c1")}),
              two_steps);
    t.run();
  }
  // Resumed with trained adapters and an empty cache: the tables are computed again, adapters off.
  auto resume = quiet();
  resume.resume = "";
  Trainer resumed(lora_config(tmp_ / "cached", {"precompute_ref_log_probs=true", cache("c2")}),
                  resume);
  const auto b = resumed.run();
  ASSERT_EQ(b.losses.size(), 2u);
  for (size_t i = 0; i < 2; ++i) EXPECT_NEAR(a.losses[2 + i], b.losses[i], 1e-5);
  EXPECT_NEAR(a.final_eval.at("eval_loss"), b.final_eval.at("eval_loss"), 1e-5);
  for (const auto& entry : fs::directory_iterator(tmp_ / "c1")) {
    const auto twin = tmp_ / "c2" / entry.path().filename();
    ASSERT_TRUE(fs::exists(twin)) << twin;
    EXPECT_EQ(read_file(entry.path()), read_file(twin)) << twin;
  }
}

// QLoRA (load_in_4bit): the base's projections stay Q4_0 blocks; the reference is that quantized
// base (adapters off), so the first loss is ln 2 and its log-probs differ from the float base's
// (the reference cache does not mistake one for the other); the saved adapter, loaded on the
// quantized base, gives the trained policy back; resume is bit-identical.
TEST_F(TrainerLoraTest, QuantizedBaseTrainsAdaptersAgainstTheQuantizedBase) {
  REQUIRE_MODEL();
  const std::string cache = "ref_cache_dir=" + (tmp_ / "cache").string();
  Trainer plain(lora_config(tmp_ / "plain", {"precompute_ref_log_probs=true", cache}), quiet());
  EXPECT_EQ(plain.reference_info().train_logps, "computed");
  Trainer trainer(
      lora_config(tmp_ / "q4", {"load_in_4bit=true", "precompute_ref_log_probs=true", cache}),
      quiet());
  EXPECT_EQ(trainer.reference_info().train_logps, "computed");  // not the float base's table
  EXPECT_FALSE(trainer.reference_info().model_loaded);
  const auto quantized = model::quantized_weights(*trainer.policy());
  ASSERT_EQ(quantized.size(), 7u * 5);
  for (const auto& [name, weight] : quantized) EXPECT_EQ(weight->ggml_type, io::kQ4_0) << name;
  const auto result = trainer.run();
  ASSERT_EQ(result.losses.size(), 4u);
  EXPECT_NEAR(result.losses[0], std::log(2.0), 1e-6);
  for (double loss : result.losses) EXPECT_TRUE(std::isfinite(loss));

  const std::vector<int64_t> ids = {1, 403, 52, 9, 77, 3, 260, 18, 11};
  const auto input = torch::tensor(ids, torch::kLong).unsqueeze(0);
  auto adapter = model::load_model(result.last_checkpoint, {torch::kFloat, torch::kCPU, io::kQ4_0});
  torch::NoGradGuard no_grad;
  trainer.policy()->eval();
  const auto trained = trainer.policy()->forward(input).logits;
  EXPECT_LT(max_abs_diff(adapter->forward(input).logits, trained), 1e-6);
  const model::AdaptersDisabled base_only(*trainer.policy());
  auto float_base = model::load_model(model_dir_);
  EXPECT_GT(
      max_abs_diff(trainer.policy()->forward(input).logits, float_base->forward(input).logits),
      1e-4);
}

TEST_F(TrainerLoraTest, QuantizedBaseResumeIsBitIdentical) {
  REQUIRE_MODEL();
  expect_resume_is_bit_identical(
      [&](const fs::path& out) { return lora_config(out, {"load_in_8bit=true"}); });
}

TEST_F(TrainerLoraTest, ConfigurationErrorsNameTheKey) {
  REQUIRE_MODEL();
  const auto error_of = [&](std::vector<std::string> overrides) -> std::string {
    try {
      lora_config(tmp_ / "x", std::move(overrides));
    } catch (const ConfigError& e) {
      return e.what();
    }
    return "";
  };
  auto msg = error_of({"lora_target_modules=[q_proj, qkv_proj, c_attn]"});
  EXPECT_NE(msg.find("key 'lora_target_modules'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("qkv_proj, c_attn"), std::string::npos) << msg;
  EXPECT_NE(error_of({"lora_r=0"}).find("key 'lora_r'"), std::string::npos);
  EXPECT_NE(error_of({"lora_dropout=1"}).find("key 'lora_dropout'"), std::string::npos);
  EXPECT_NE(error_of({"lora_modules_to_save=[score]"}).find("key 'lora_modules_to_save'"),
            std::string::npos);
  EXPECT_NE(error_of({"sync_ref_model=true"}).find("key 'sync_ref_model'"), std::string::npos);
  // TRL's ModelConfig defaults.
  const TrainConfig defaults;
  EXPECT_FALSE(defaults.use_peft);
  EXPECT_EQ(defaults.lora_r, 16);
  EXPECT_EQ(defaults.lora_alpha, 32);
  EXPECT_DOUBLE_EQ(defaults.lora_dropout, 0.05);
  // A LoRA checkpoint is not a model to train from.
  Trainer t(lora_config(tmp_ / "run", {"max_steps=1"}), quiet());
  const auto checkpoint = t.run().last_checkpoint;
  EXPECT_THROW(Trainer(config(tmp_ / "again", {"model=" + checkpoint.string()}), quiet()),
               ConfigError);
}

}  // namespace
}  // namespace dpok::train
