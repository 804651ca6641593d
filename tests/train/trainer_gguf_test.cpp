// Training a real quantized GGUF model (SmolLM2-135M-Instruct Q4_1, from scripts/fetch_models.sh):
// one DPO update, then the saved checkpoint is a standard Hugging Face one: transformers loads the
// weights to dpok's logits and the written tokenizer.json to the GGUF tokenizer's ids.
#include <gtest/gtest.h>

#include <fstream>

#include "dpok/model/loader.h"
#include "dpok/text/tokenizer.h"
#include "dpok/train/trainer.h"
#include "support/python_oracle.h"
#include "support/testing.h"

namespace dpok::train {
namespace {

namespace fs = std::filesystem;

constexpr const char* kReference = R"PY(
import json, sys
import torch
from transformers import AutoModelForCausalLM, AutoTokenizer
request = json.load(sys.stdin)
model = AutoModelForCausalLM.from_pretrained(request["dir"], dtype=torch.float32).eval()
tokenizer = AutoTokenizer.from_pretrained(request["dir"])
with torch.no_grad():
    logits = model(torch.tensor(request["ids"])).logits
json.dump({"logits": logits[0].tolist(), "encoded": [tokenizer(t)["input_ids"] for t in request["texts"]]},
          sys.stdout)
)PY";

TEST(TrainerGguf, SmolLM2TrainsAndSavesATransformersCheckpoint) {
  DPOK_REQUIRE_PYTHON("transformers torch");
  DPOK_REQUIRE_MODEL(model, "smollm2-135m-instruct/SmolLM2-135M-Instruct.Q4_1.gguf");
  dpok::testing::TempDir tmp;
  {
    std::ofstream pairs(tmp / "pairs.jsonl");
    for (int i = 0; i < 4; ++i) {
      pairs << nlohmann::json{{"prompt", fmt::format("What is {} plus {}?", i, i + 1)},
                              {"chosen", fmt::format(" It is {}.", 2 * i + 1)},
                              {"rejected", " I do not know."}}
                   .dump()
            << "\n";
    }
  }
  YAML::Node root;
  root["model"] = model.string();
  root["output_dir"] = (tmp / "run").string();
  root["max_steps"] = 1;
  root["per_device_train_batch_size"] = 4;
  root["learning_rate"] = 1e-4;
  root["max_length"] = 48;
  root["data"]["train_files"].push_back((tmp / "pairs.jsonl").string());
  root["data"]["eval_fraction"] = 0.0;
  root["data"]["cache"] = false;
  TrainOptions options;
  options.show_progress = false;
  Trainer trainer(TrainConfig::from_yaml(root, {}), options);
  const auto result = trainer.run();
  ASSERT_EQ(result.losses.size(), 1u);
  EXPECT_NEAR(result.losses[0], std::log(2.0), 1e-5);
  const fs::path dir = result.last_checkpoint;
  for (const char* file :
       {"config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json"}) {
    EXPECT_TRUE(fs::exists(dir / file)) << file;
  }

  const std::vector<std::string> texts = {
      "\n\nHuman: Can you help me plan a trip?\n\nAssistant: Sure! Where to?",
      "<|im_start|>user\nHi there<|im_end|>\n"};
  const std::vector<int64_t> ids = {1, 4093, 216, 7219, 2, 198, 504, 3658, 30};
  const auto answer = dpok::testing::run_python(
      kReference, {{"dir", dir.string()}, {"ids", {ids}}, {"texts", texts}});
  ASSERT_TRUE(answer.has_value()) << "transformers could not load " << dir;
  const auto gguf_tokenizer = text::Tokenizer::load(model);
  for (size_t i = 0; i < texts.size(); ++i) {
    const auto expected = gguf_tokenizer->encode(texts[i]);
    EXPECT_EQ(answer->at("encoded")[i].get<std::vector<int32_t>>(), expected) << texts[i];
  }
  auto saved = model::load_model(dir);
  at::NoGradGuard no_grad;
  const auto logits = saved->forward(at::tensor(ids).view({1, -1})).logits[0];
  std::vector<float> flat;
  for (const auto& row : answer->at("logits")) {
    for (const auto& value : row) flat.push_back(value.get<float>());
  }
  ASSERT_EQ(static_cast<int64_t>(flat.size()), logits.numel());
  const double worst = (logits - at::tensor(flat).view(logits.sizes())).abs().max().item<double>();
  EXPECT_LE(worst, 1e-4);
  // The trained weights moved away from the GGUF's.
  auto base = model::load_model(model);
  EXPECT_FALSE(at::equal(base->forward(at::tensor(ids).view({1, -1})).logits[0], logits));
}

}  // namespace
}  // namespace dpok::train
