// llama2.c .bin loading: a checkpoint written here from the Hugging Face weights (Meta RoPE
// layout, llama2.c tensor order) loads back to the same model.
#include <gtest/gtest.h>

#include "dpok/core/error.h"
#include "dpok/core/file_util.h"
#include "dpok/model/loader.h"
#include "dpok/model/weights.h"
#include "model/test_util.h"
#include "support/testing.h"

namespace dpok::model {
namespace {

void append(std::string& out, const at::Tensor& t) {
  auto c = t.to(at::kFloat).contiguous();
  out.append(static_cast<const char*>(c.data_ptr()), c.nbytes());
}

// Writes `model` in llama2.c's legacy export format (export.py legacy_export).
void write_llama2c(CausalLM& model, const std::filesystem::path& path) {
  const auto& c = model->config();
  const int32_t header[7] = {
      static_cast<int32_t>(c.hidden_size),
      static_cast<int32_t>(c.intermediate_size),
      static_cast<int32_t>(c.num_hidden_layers),
      static_cast<int32_t>(c.num_attention_heads),
      static_cast<int32_t>(c.num_key_value_heads),
      static_cast<int32_t>(c.tie_word_embeddings ? c.vocab_size : -c.vocab_size),
      static_cast<int32_t>(c.max_position_embeddings)};
  std::string out(reinterpret_cast<const char*>(header), sizeof(header));
  auto params = model->named_parameters();
  auto layer_param = [&](int64_t i, const std::string& name) {
    return params["model.layers." + std::to_string(i) + "." + name];
  };
  append(out, params["model.embed_tokens.weight"]);
  const std::pair<const char*, int64_t> order[] = {
      {"input_layernorm.weight", 0},
      {"self_attn.q_proj.weight", c.num_attention_heads},
      {"self_attn.k_proj.weight", c.num_key_value_heads},
      {"self_attn.v_proj.weight", 0},
      {"self_attn.o_proj.weight", 0},
      {"post_attention_layernorm.weight", 0},
      {"mlp.gate_proj.weight", 0},
      {"mlp.down_proj.weight", 0},
      {"mlp.up_proj.weight", 0}};
  for (const auto& [name, rope_heads] : order) {
    for (int64_t i = 0; i < c.num_hidden_layers; ++i) {
      auto w = layer_param(i, name);
      append(out, rope_heads > 0 ? hf_to_meta_rope_rows(w, rope_heads) : w);
    }
  }
  append(out, params["model.norm.weight"]);
  append(out, at::zeros({2, c.max_position_embeddings, c.head_dim / 2}));  // freq_cis real, imag
  if (!c.tie_word_embeddings) append(out, params["lm_head.weight"]);
  write_file_atomic(path, out);
}

TEST(LoaderLlama2c, RoundTripGivesSameLogits) {
  DPOK_REQUIRE_ASSET(hf, "models/stories260k/hf");
  auto reference = load_model(hf);
  dpok::testing::TempDir tmp;
  write_llama2c(reference, tmp / "stories260k.bin");
  EXPECT_EQ(detect_format(tmp / "stories260k.bin"), CheckpointFormat::kLlama2c);
  auto loaded = load_model(tmp / "stories260k.bin");
  EXPECT_EQ(loaded->config().num_key_value_heads, 4);
  EXPECT_TRUE(loaded->config().tie_word_embeddings);
  auto ids = at::randint(0, 512, {2, 23}, at::kLong);
  at::NoGradGuard no_grad;
  EXPECT_LE(testing::max_abs_diff(loaded->forward(ids).logits, reference->forward(ids).logits),
            1e-5);
}

TEST(LoaderLlama2c, UntiedClassifierBecomesLmHead) {
  DPOK_REQUIRE_ASSET(hf, "models/hf-tiny/llama-untied");
  auto reference = load_model(hf);
  dpok::testing::TempDir tmp;
  write_llama2c(reference, tmp / "untied.bin");
  auto loaded = load_model(tmp / "untied.bin");
  EXPECT_FALSE(loaded->config().tie_word_embeddings);
  auto expected = reference->named_parameters();
  for (const auto& item : loaded->named_parameters()) {
    ASSERT_NE(expected.find(item.key()), nullptr) << item.key();
    EXPECT_TRUE(at::equal(item.value(), expected[item.key()])) << item.key();
  }
}

TEST(LoaderLlama2c, TruncatedFileIsRejected) {
  DPOK_REQUIRE_ASSET(hf, "models/stories260k/hf");
  auto reference = load_model(hf);
  dpok::testing::TempDir tmp;
  write_llama2c(reference, tmp / "full.bin");
  auto bytes = read_file(tmp / "full.bin");
  write_file_atomic(tmp / "cut.bin", std::string_view(bytes).substr(0, bytes.size() - 100));
  EXPECT_THROW(load_model(tmp / "cut.bin"), FormatError);
}

}  // namespace
}  // namespace dpok::model
