// Quantized bases (quantized_base.h): every loader keeps the decoder projections quantized; the
// model then computes what the float model with the dequantized weights computes (forward and the
// adapters' gradients, within fp32 rounding); a GGUF file's quantized tensors are kept block for
// block; the float parameters are gone; saving writes the dequantized weights.
#include "dpok/model/quantized_base.h"

#include <ATen/CPUGeneratorImpl.h>
#include <gtest/gtest.h>

#include "dpok/io/gguf.h"
#include "dpok/io/gguf_quants.h"
#include "dpok/model/loader.h"
#include "dpok/model/lora.h"
#include "dpok/model/save.h"
#include "dpok/model/weights.h"
#include "support/testing.h"
#include "test_util.h"

namespace dpok::model {
namespace {

using testing::max_abs_diff;

using io::kQ4_0, io::kQ8_0, io::kQ4_K;

at::Tensor some_ids(int64_t vocab) {
  auto generator = at::make_generator<at::CPUGeneratorImpl>(3);
  return at::randint(0, vocab, {2, 11}, generator, at::kLong);
}

// A float model whose projections hold `quantized`'s dequantized weights.
CausalLM dequantized_twin(const std::filesystem::path& path, CausalLM& quantized) {
  auto twin = load_model(path);
  at::NoGradGuard no_grad;
  auto params = twin->named_parameters();
  for (const auto& [name, weight] : quantized_weights(*quantized)) {
    params[name].copy_(weight->dequantize());
  }
  return twin;
}

// Loads `path` with its projections quantized to `type`: 7 per layer, no float copies listed,
// logits equal to the dequantized twin's (and, for a trained model, different from the float
// model's: quantization is not a no-op).
void expect_quantized_model(const std::filesystem::path& path, uint32_t type, bool trained) {
  SCOPED_TRACE(path.string() + " " + io::ggml_type_name(type));
  auto quantized = load_model(path, {at::kFloat, at::kCPU, type});
  const auto& config = quantized->config();
  const auto weights = quantized_weights(*quantized);
  ASSERT_EQ(static_cast<int64_t>(weights.size()), 7 * config.num_hidden_layers);
  for (const auto& [name, weight] : weights) {
    EXPECT_EQ(weight->ggml_type, type) << name;
    EXPECT_EQ(quantized->named_parameters().find(name), nullptr) << name;
  }
  EXPECT_NE(describe_quantized(*quantized).find(io::ggml_type_name(type)), std::string::npos);
  auto twin = dequantized_twin(path, quantized);
  auto plain = load_model(path);
  at::NoGradGuard no_grad;
  const auto ids = some_ids(config.vocab_size);
  const auto logits = quantized->forward(ids).logits;
  EXPECT_LT(max_abs_diff(logits, twin->forward(ids).logits), 1e-5);
  if (trained) {
    EXPECT_GT(max_abs_diff(logits, plain->forward(ids).logits), 1e-4);
  }
}

TEST(QuantizedBase, EveryLoaderQuantizesTheProjections) {
  DPOK_REQUIRE_ASSET(hf, "models/stories260k/hf");
  DPOK_REQUIRE_ASSET(gguf, "models/stories260k/stories260k-f32.gguf");
  // intermediate_size 172 is not whole blocks: down_proj's rows are padded (never seen).
  for (uint32_t type : {kQ8_0, kQ4_0}) expect_quantized_model(hf, type, true);
  expect_quantized_model(gguf, kQ4_0, true);  // float GGUF tensors, q/k rows permuted first
  DPOK_REQUIRE_ASSET(qwen2, "models/hf-tiny/qwen2-bias");
  expect_quantized_model(qwen2, kQ8_0, false);  // q/k/v biases stay float
}

// LoRA on a quantized base: the adapters' gradients equal those on the dequantized twin.
TEST(QuantizedBase, AdapterGradientsEqualTheDequantizedModels) {
  DPOK_REQUIRE_ASSET(hf, "models/stories260k/hf");
  auto quantized = load_model(hf, {at::kFloat, at::kCPU, kQ4_0});
  auto twin = dequantized_twin(hf, quantized);
  LoraSettings settings;
  settings.r = 4;
  settings.dropout = 0.0;
  settings.target_modules = resolve_target_modules({"all-linear"}, "lora_target_modules");
  for (auto* model : {&quantized, &twin}) {
    at::manual_seed(5);
    apply_lora(*model, settings);
    at::NoGradGuard no_grad;
    for (auto& [name, p] : adapter_parameters(**model)) p.add_(0.01);  // B ≠ 0: A gets gradients
  }
  const auto ids = some_ids(quantized->config().vocab_size);
  const auto loss = [&](CausalLM& model) {
    return model->forward(ids).logits.log_softmax(-1).select(-1, 7).sum();
  };
  loss(quantized).backward();
  loss(twin).backward();
  const auto got = adapter_parameters(*quantized), want = adapter_parameters(*twin);
  ASSERT_EQ(got.size(), want.size());
  ASSERT_EQ(got.size(), 2u * 7 * 5);
  for (size_t i = 0; i < got.size(); ++i) {
    ASSERT_TRUE(got[i].second.grad().defined()) << got[i].first;
    const double scale = want[i].second.grad().abs().max().item<double>();
    EXPECT_LT(max_abs_diff(got[i].second.grad(), want[i].second.grad()), 1e-5 * (1 + scale))
        << got[i].first;
  }
}

// A quantized GGUF file (SmolLM2 Q4_1) keeps its blocks whatever type was asked for: the bytes
// as stored (q/k rows reordered whole), and the logits of transformers-style loading, which
// dequantizes the same blocks. Saving writes the dequantized weights.
TEST(QuantizedBase, GgufBlocksAreKeptAsStored) {
  DPOK_REQUIRE_MODEL(path, "smollm2-135m-instruct/SmolLM2-135M-Instruct.Q4_1.gguf");
  auto quantized = load_model(path, {at::kFloat, at::kCPU, kQ4_K});
  const auto file = io::GgufFile::open(path);
  const auto& config = quantized->config();
  const auto weights = quantized_weights(*quantized);
  ASSERT_EQ(static_cast<int64_t>(weights.size()), 7 * config.num_hidden_layers);
  for (const auto& [name, weight] : weights) {
    EXPECT_NE(weight->ggml_type, kQ4_K) << name;
  }
  const auto stored = [&](const char* name) { return QuantizedWeight::from_gguf(file, name); };
  const auto kept = [&](const std::string& name) {
    for (const auto& [n, weight] : weights) {
      if (n == name) return weight->blocks;
    }
    ADD_FAILURE() << "no quantized " << name;
    return at::Tensor();
  };
  EXPECT_TRUE(at::equal(kept("model.layers.0.mlp.down_proj.weight"),
                        stored("blk.0.ffn_down.weight").blocks));
  EXPECT_TRUE(at::equal(
      kept("model.layers.3.self_attn.q_proj.weight"),
      meta_to_hf_rope_rows(stored("blk.3.attn_q.weight").blocks, config.num_attention_heads)));
  auto plain = load_model(path);
  at::NoGradGuard no_grad;
  const auto ids = some_ids(config.vocab_size);
  const auto logits = quantized->forward(ids).logits;
  EXPECT_LT(max_abs_diff(logits, plain->forward(ids).logits), 1e-4);

  dpok::testing::TempDir tmp;
  save_pretrained(quantized, tmp.path());
  auto saved = load_model(tmp.path());
  EXPECT_LT(max_abs_diff(saved->forward(ids).logits, logits), 1e-4);
}

}  // namespace
}  // namespace dpok::model
