// config.json parsing (transformers 4.x and 5.x spellings), writing, and the architecture table.
#include "dpok/model/config.h"

#include <gtest/gtest.h>

#include "dpok/core/error.h"
#include "dpok/core/file_util.h"
#include "dpok/model/architecture.h"
#include "support/testing.h"

namespace dpok::model {
namespace {

using nlohmann::json;

json llama3_v4_style() {
  // A transformers 4.x config (Llama 3.2 style): rope_theta + rope_scaling with "rope_type".
  return json::parse(R"({
    "architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_act": "silu",
    "vocab_size": 512, "hidden_size": 64, "intermediate_size": 160, "num_hidden_layers": 2,
    "num_attention_heads": 4, "num_key_value_heads": 2, "head_dim": 16,
    "max_position_embeddings": 256, "rms_norm_eps": 1e-06, "rope_theta": 500000.0,
    "rope_scaling": {"factor": 8.0, "high_freq_factor": 4.0, "low_freq_factor": 1.0,
                     "original_max_position_embeddings": 64, "rope_type": "llama3"},
    "tie_word_embeddings": true, "attention_bias": false, "bos_token_id": 1,
    "eos_token_id": 2, "pad_token_id": 0, "torch_dtype": "float32"})");
}

TEST(ModelConfig, Parses5xFixture) {
  DPOK_REQUIRE_ASSET(dir, "models/hf-tiny/llama3-rope-scaled");
  const auto c = ModelConfig::from_hf_json(json::parse(read_file(dir / "config.json")), "fixture");
  EXPECT_EQ(c.architecture, "LlamaForCausalLM");
  EXPECT_EQ(c.num_key_value_heads, 2);
  EXPECT_EQ(c.head_dim, 16);
  EXPECT_EQ(c.rope.type, "llama3");
  EXPECT_DOUBLE_EQ(c.rope.theta, 500000.0);
  EXPECT_DOUBLE_EQ(c.rope.factor, 8.0);
  EXPECT_EQ(c.rope.original_max_position_embeddings, 64);
  EXPECT_TRUE(c.tie_word_embeddings);
  EXPECT_EQ(c.eos_token_ids, std::vector<int64_t>{2});
  EXPECT_EQ(c.torch_dtype, "float32");
  // The 4.x spelling of the same model parses to the same config.
  EXPECT_EQ(ModelConfig::from_hf_json(llama3_v4_style(), "v4"), c);
}

TEST(ModelConfig, Parses4xLegacyTypeKeyAndDefaults) {
  json j = llama3_v4_style();
  j["rope_scaling"] = {{"type", "linear"}, {"factor", 2.0}};
  j.erase("head_dim");
  j.erase("num_key_value_heads");
  j["eos_token_id"] = {2, 7};
  const auto c = ModelConfig::from_hf_json(j, "v4");
  EXPECT_EQ(c.rope.type, "linear");
  EXPECT_DOUBLE_EQ(c.rope.factor, 2.0);
  EXPECT_EQ(c.head_dim, 16);
  EXPECT_EQ(c.num_key_value_heads, 4);
  EXPECT_EQ(c.eos_token_ids, (std::vector<int64_t>{2, 7}));
  j["rope_scaling"] = nullptr;
  EXPECT_EQ(ModelConfig::from_hf_json(j, "v4").rope.type, "default");
}

TEST(ModelConfig, FamiliesFromTheTable) {
  json j = llama3_v4_style();
  j["architectures"] = {"Qwen2ForCausalLM"};
  auto qwen2 = ModelConfig::from_hf_json(j, "qwen2");
  EXPECT_TRUE(qwen2.attention_bias);
  EXPECT_FALSE(qwen2.attention_out_bias);
  EXPECT_FALSE(qwen2.qk_norm);
  j["architectures"] = {"Qwen3ForCausalLM"};
  auto qwen3 = ModelConfig::from_hf_json(j, "qwen3");
  EXPECT_TRUE(qwen3.qk_norm);
  EXPECT_FALSE(qwen3.attention_bias);
  EXPECT_EQ(qwen3.model_type, "qwen3");
  j["architectures"] = {"MistralForCausalLM"};
  j["sliding_window"] = 4096;
  EXPECT_EQ(ModelConfig::from_hf_json(j, "mistral").sliding_window, 4096);
  EXPECT_NE(find_architecture("LlamaForCausalLM"), nullptr);
  EXPECT_EQ(find_architecture("GPT2LMHeadModel"), nullptr);
}

TEST(ModelConfig, RefusesUnsupportedByName) {
  json j = llama3_v4_style();
  j["architectures"] = {"GPTNeoXForCausalLM"};
  EXPECT_TRUE(::dpok::testing::throws_with<UnsupportedError>(
      [&] { ModelConfig::from_hf_json(j, "neox/config.json"); },
      {"GPTNeoXForCausalLM", "neox/config.json"}));
  j = llama3_v4_style();
  j["rope_scaling"] = {{"rope_type", "yarn"}, {"factor", 4.0}};
  EXPECT_THROW(ModelConfig::from_hf_json(j, "yarn"), UnsupportedError);
  j = llama3_v4_style();
  j["hidden_act"] = "gelu";
  EXPECT_THROW(ModelConfig::from_hf_json(j, "gelu"), UnsupportedError);
}

TEST(ModelConfig, RejectsInvalidValues) {
  json j = llama3_v4_style();
  j.erase("hidden_size");
  EXPECT_THROW(ModelConfig::from_hf_json(j, "missing"), ConfigError);
  j = llama3_v4_style();
  j["num_key_value_heads"] = 3;
  EXPECT_THROW(ModelConfig::from_hf_json(j, "heads"), ConfigError);
  j = llama3_v4_style();
  j["vocab_size"] = "512";
  EXPECT_THROW(ModelConfig::from_hf_json(j, "type"), ConfigError);
  EXPECT_THROW(ModelConfig::from_hf_json(json::array(), "array"), ConfigError);
}

TEST(ModelConfig, WrittenJsonParsesBackInBothSpellings) {
  const auto c = ModelConfig::from_hf_json(llama3_v4_style(), "v4");
  json written = c.to_hf_json();
  EXPECT_EQ(ModelConfig::from_hf_json(written, "written"), c);
  EXPECT_EQ(written["rope_parameters"]["rope_type"], "llama3");
  EXPECT_EQ(written["rope_scaling"]["rope_type"], "llama3");
  // A 4.x reader ignores rope_parameters; a 5.x-only reader ignores rope_scaling.
  json v4_only = written;
  v4_only.erase("rope_parameters");
  EXPECT_EQ(ModelConfig::from_hf_json(v4_only, "v4 only"), c);
  json v5_only = written;
  v5_only.erase("rope_scaling");
  v5_only.erase("rope_theta");
  EXPECT_EQ(ModelConfig::from_hf_json(v5_only, "v5 only"), c);
}

TEST(ModelConfig, CountsParameters) {
  const auto c = ModelConfig::from_hf_json(llama3_v4_style(), "v4");
  // embed 512*64 + 2 layers * (q 64*64 + k,v 2*64*32 + o 64*64 + mlp 3*64*160 + norms 128) + 64
  EXPECT_EQ(c.num_parameters(), 512 * 64 + 2 * (4096 + 4096 + 4096 + 30720 + 128) + 64);
}

}  // namespace
}  // namespace dpok::model
