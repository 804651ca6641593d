// GGUF models against transformers' own GGUF loading (tests/model/gguf_reference.py), which
// dequantizes to float32: small random llama / qwen2 / qwen3 models written as llama.cpp's
// converter writes them with quantized weights, and the real SmolLM2-135M-Instruct Q4_1 file.
#include <gtest/gtest.h>

#include "dpok/core/file_util.h"
#include "dpok/io/gguf.h"
#include "dpok/model/loader.h"
#include "model/test_util.h"
#include "support/python_oracle.h"

namespace dpok::model {
namespace {

namespace fs = std::filesystem;

const fs::path kScript = fs::path(__FILE__).parent_path() / "gguf_reference.py";

// Runs the reference on a list of requests in one process.
std::optional<nlohmann::json> reference(const nlohmann::json& requests) {
  return dpok::testing::run_python(read_file(kScript), requests);
}

// The float32 logits the reference wrote for one answer.
at::Tensor reference_logits(const nlohmann::json& answer, const fs::path& file) {
  const std::string bytes = read_file(file);
  auto logits = at::empty(answer.at("shape").get<std::vector<int64_t>>(), at::kFloat);
  EXPECT_EQ(bytes.size(), static_cast<size_t>(logits.numel()) * sizeof(float));
  std::memcpy(logits.data_ptr<float>(), bytes.data(),
              std::min(bytes.size(), static_cast<size_t>(logits.numel()) * sizeof(float)));
  return logits;
}

// dpok's logits for the answer's ids, from the GGUF file `gguf`, minus the reference's.
double worst_logit_difference(const fs::path& gguf, const nlohmann::json& answer,
                              const fs::path& logits_file) {
  const auto ids = answer.at("ids").get<std::vector<std::vector<int64_t>>>();
  std::vector<int64_t> flat;
  for (const auto& row : ids) flat.insert(flat.end(), row.begin(), row.end());
  auto model = load_model(gguf);
  at::NoGradGuard no_grad;
  const auto input = at::tensor(flat).view({static_cast<int64_t>(ids.size()), -1});
  return testing::max_abs_diff(model->forward(input).logits, reference_logits(answer, logits_file));
}

struct Case {
  const char* arch;
  const char* qtype;
};

// Small random llama/qwen2/qwen3 models with quantized weights: configuration read from the GGUF
// hyperparameters, logits equal to transformers' within fp32 rounding.
TEST(GgufReference, SmallModelsOfEachArchitectureMatchTransformers) {
  DPOK_REQUIRE_PYTHON("transformers gguf torch");
  const std::vector<Case> cases = {{"llama", "Q4_1"},
                                   {"llama", "Q8_0"},
                                   {"qwen2", "Q5_0"},
                                   {"qwen3", "Q4_0"},
                                   {"qwen3", "Q5_1"}};
  const std::vector<std::vector<int64_t>> ids = {{1, 5, 9, 200, 17, 3}, {2, 300, 44, 8, 8, 0}};
  dpok::testing::TempDir tmp;
  nlohmann::json requests = nlohmann::json::array();
  for (size_t i = 0; i < cases.size(); ++i) {
    requests.push_back({{"make", tmp.path().string()},
                        {"arch", cases[i].arch},
                        {"qtype", cases[i].qtype},
                        {"ids", ids},
                        {"out", (tmp / fmt::format("{}.bin", i)).string()}});
  }
  const auto answers = reference(requests);
  ASSERT_TRUE(answers.has_value() && answers->size() == cases.size()) << "reference failed";
  for (size_t i = 0; i < cases.size(); ++i) {
    SCOPED_TRACE(fmt::format("{} {}", cases[i].arch, cases[i].qtype));
    const fs::path gguf = (*answers)[i].at("path").get<std::string>();
    const auto config = read_model_config(gguf);
    const std::string arch = cases[i].arch;
    EXPECT_EQ(config.model_type, arch);
    EXPECT_EQ(config.qk_norm, arch == "qwen3");
    EXPECT_EQ(config.attention_bias, arch == "qwen2");
    EXPECT_EQ(config.head_dim, arch == "qwen3" ? 128 : 16);
    EXPECT_LE(worst_logit_difference(gguf, (*answers)[i], tmp / fmt::format("{}.bin", i)), 1e-4);
  }
}

TEST(GgufReference, SmolLM2LogitsMatchTransformersOnHhText) {
  DPOK_REQUIRE_PYTHON("transformers gguf torch");
  DPOK_REQUIRE_MODEL(model, "smollm2-135m-instruct/SmolLM2-135M-Instruct.Q4_1.gguf");
  const auto config = read_model_config(model);
  EXPECT_EQ(config.num_hidden_layers, 30);
  EXPECT_EQ(config.hidden_size, 576);
  EXPECT_EQ(config.num_key_value_heads, 3);
  EXPECT_TRUE(config.tie_word_embeddings);
  dpok::testing::TempDir tmp;
  const nlohmann::json texts = {
      "\n\nHuman: What are some cuss words in english?\n\nAssistant: Here's an incomplete list.",
      "\n\nHuman: What kind of noises did dinosaurs make?\n\nAssistant: Humans and dinosaurs"};
  const auto answers = reference(nlohmann::json::array(
      {{{"logits", model.string()}, {"texts", texts}, {"out", (tmp / "logits.bin").string()}}}));
  ASSERT_TRUE(answers.has_value() && answers->size() == 1) << "reference failed";
  EXPECT_LE(worst_logit_difference(model, (*answers)[0], tmp / "logits.bin"), 1e-4);
}

}  // namespace
}  // namespace dpok::model
