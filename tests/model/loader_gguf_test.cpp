// GGUF loading (stories260K, GGUF v1): the llama2.c oracle's 200 greedy tokens, agreement with
// the Hugging Face conversion, config from metadata, refusal of other architectures.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "dpok/core/error.h"
#include "dpok/core/file_util.h"
#include "dpok/model/generate.h"
#include "dpok/model/loader.h"
#include "model/test_util.h"
#include "support/testing.h"

namespace dpok::model {
namespace {

constexpr const char* kGguf = "models/stories260k/stories260k-f32.gguf";

std::vector<int64_t> oracle_ids(const std::filesystem::path& hf_dir) {
  return nlohmann::json::parse(read_file(hf_dir / "greedy.json"))["greedy_ids"]
      .get<std::vector<int64_t>>();
}

std::vector<int64_t> greedy_200(CausalLM& model) {
  GenerationOptions options;
  options.max_new_tokens = 200;
  return generate(model, {1}, options);  // from BOS, like llama2.c's test
}

TEST(LoaderGguf, Stories260kGreedyMatchesOracle) {
  DPOK_REQUIRE_ASSET(gguf, kGguf);
  DPOK_REQUIRE_ASSET(hf, "models/stories260k/hf");
  EXPECT_EQ(detect_format(gguf), CheckpointFormat::kGguf);
  auto model = load_model(gguf);
  EXPECT_EQ(greedy_200(model), oracle_ids(hf));
}

TEST(LoaderGguf, Stories260kHfDirectoryGreedyMatchesOracle) {
  DPOK_REQUIRE_ASSET(hf, "models/stories260k/hf");
  auto model = load_model(hf);
  EXPECT_EQ(greedy_200(model), oracle_ids(hf));
}

TEST(LoaderGguf, LogitsAgreeWithHuggingFaceConversion) {
  DPOK_REQUIRE_ASSET(gguf, kGguf);
  DPOK_REQUIRE_ASSET(hf, "models/stories260k/hf");
  auto from_gguf = load_model(gguf);
  const auto expected = io::SafetensorsFile::open(hf / "expected.safetensors");
  at::NoGradGuard no_grad;
  auto out = from_gguf->forward(testing::read_tensor(expected, "input_ids"),
                                testing::read_tensor(expected, "attention_mask"));
  EXPECT_LE(testing::max_abs_diff(out.logits, testing::read_tensor(expected, "logits")), 1e-4);
}

TEST(LoaderGguf, ConfigFromMetadata) {
  DPOK_REQUIRE_ASSET(gguf, kGguf);
  std::string stored;
  const auto c = read_model_config(gguf, &stored);
  EXPECT_EQ(c.architecture, "LlamaForCausalLM");
  EXPECT_EQ(c.hidden_size, 64);
  EXPECT_EQ(c.intermediate_size, 172);
  EXPECT_EQ(c.num_hidden_layers, 5);
  EXPECT_EQ(c.num_attention_heads, 8);
  EXPECT_EQ(c.num_key_value_heads, 4);
  EXPECT_EQ(c.head_dim, 8);
  EXPECT_EQ(c.vocab_size, 512);
  EXPECT_EQ(c.max_position_embeddings, 512);
  EXPECT_EQ(c.bos_token_id, 1);
  EXPECT_EQ(c.eos_token_ids, std::vector<int64_t>{2});
  EXPECT_EQ(stored, "float32");
}

TEST(LoaderGguf, RefusesOtherArchitecturesByName) {
  DPOK_REQUIRE_ASSET(gguf, kGguf);
  std::string bytes = read_file(gguf);
  // general.architecture's value "llama" (same length keeps the file valid) becomes "gemma".
  const auto key = bytes.find("general.architecture");
  ASSERT_NE(key, std::string::npos);
  const auto value = bytes.find("llama", key);
  ASSERT_NE(value, std::string::npos);
  bytes.replace(value, 5, "gemma");
  dpok::testing::TempDir tmp;
  write_file_atomic(tmp / "gemma.gguf", bytes);
  EXPECT_TRUE(::dpok::testing::throws_with<UnsupportedError>(
      [&] { load_model(tmp / "gemma.gguf"); }, {"'gemma'", "llama, qwen2, qwen3"}));
}

TEST(Loader, DetectsFormatsAndRefusesUnknownFiles) {
  dpok::testing::TempDir tmp;
  EXPECT_THROW(detect_format(tmp / "absent"), IoError);
  write_file_atomic(tmp / "weights.pt", "not a model");
  EXPECT_THROW(load_model(tmp / "weights.pt"), UnsupportedError);
  EXPECT_EQ(detect_format(tmp.path()), CheckpointFormat::kHuggingFace);
  EXPECT_THROW(load_model(tmp.path()), IoError);  // no config.json
}

}  // namespace
}  // namespace dpok::model
