// The decoder on CUDA against the CPU on the transformers fixtures: fp32 logits within 1e-4 of the
// CPU's, bf16 within 2% (relative norm, as the CPU's own bf16 test); a Q4_0 base with LoRA
// adapters (its blocks decoded on the GPU) against the same on the CPU. Skipped without a GPU.
#include <gtest/gtest.h>

#include "dpok/io/gguf_quants.h"
#include "dpok/model/loader.h"
#include "dpok/model/lora.h"
#include "dpok/model/quantized_base.h"
#include "model/test_util.h"
#include "support/cuda.h"
#include "support/testing.h"

namespace dpok::model {
namespace {

using testing::max_abs_diff;
using testing::read_tensor;

struct Logits {
  at::Tensor cpu, cuda;
};

Logits cpu_and_cuda_logits(const std::filesystem::path& dir, c10::ScalarType cuda_dtype) {
  const auto expected = io::SafetensorsFile::open(dir / "expected.safetensors");
  const auto ids = read_tensor(expected, "input_ids");
  const auto mask = read_tensor(expected, "attention_mask");
  at::NoGradGuard no_grad;
  auto cpu = load_model(dir);
  auto cuda = load_model(dir, {.dtype = cuda_dtype, .device = c10::Device(c10::kCUDA)});
  return {cpu->forward(ids, mask).logits, cuda->forward(ids.cuda(), mask.cuda()).logits.cpu()};
}

class CudaParity : public ::testing::TestWithParam<std::string> {};

TEST_P(CudaParity, Fp32LogitsMatchTheCpu) {
  DPOK_REQUIRE_CUDA();
  DPOK_REQUIRE_ASSET(dir, GetParam());
  const auto logits = cpu_and_cuda_logits(dir, at::kFloat);
  EXPECT_LE(max_abs_diff(logits.cuda, logits.cpu), 1e-4);
}

TEST_P(CudaParity, Bf16LogitsAreCloseToFp32) {
  DPOK_REQUIRE_CUDA();
  DPOK_REQUIRE_ASSET(dir, GetParam());
  const auto logits = cpu_and_cuda_logits(dir, at::kBFloat16);
  EXPECT_EQ(logits.cuda.scalar_type(), at::kFloat);
  const double relative =
      (logits.cuda - logits.cpu).norm().item<double>() / logits.cpu.norm().item<double>();
  EXPECT_LE(relative, 2e-2);
  EXPECT_GT(relative, 0.0);  // it really ran in bf16
}

INSTANTIATE_TEST_SUITE_P(Fixtures, CudaParity,
                         ::testing::Values("models/stories260k/hf", "models/hf-tiny/llama-gqa-tied",
                                           "models/hf-tiny/llama-untied",
                                           "models/hf-tiny/llama3-rope-scaled",
                                           "models/hf-tiny/qwen2-bias"),
                         [](const auto& info) {
                           std::string name = info.param;
                           for (char& c : name) {
                             if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
                           }
                           return name;
                         });

TEST(CudaQuantizedBase, LogitsAndAdapterGradientsMatchTheCpu) {
  DPOK_REQUIRE_CUDA();
  DPOK_REQUIRE_ASSET(dir, "models/stories260k/hf");
  auto cpu = load_model(dir, {.quantize_projections = io::kQ4_0});
  auto cuda =
      load_model(dir, {.device = c10::Device(c10::kCUDA), .quantize_projections = io::kQ4_0});
  for (const auto& [name, weight] : quantized_weights(*cuda)) {
    EXPECT_TRUE(weight->blocks.is_cuda()) << name;
  }
  LoraSettings settings;
  settings.r = 4;
  settings.dropout = 0.0;
  settings.target_modules = resolve_target_modules({"all-linear"}, "lora_target_modules");
  apply_lora(cpu, settings);
  apply_lora(cuda, settings);
  {
    at::NoGradGuard no_grad;
    const auto from = adapter_parameters(*cpu), to = adapter_parameters(*cuda);
    for (size_t i = 0; i < from.size(); ++i) to[i].second.copy_(from[i].second.add_(0.01));
  }
  const auto ids = at::randint(0, cpu->config().vocab_size, {2, 9}, at::kLong);
  const auto loss = [](CausalLM& model, const at::Tensor& input) {
    return model->forward(input).logits.log_softmax(-1).select(-1, 7).sum();
  };
  const auto on_cpu = loss(cpu, ids), on_cuda = loss(cuda, ids.cuda());
  EXPECT_NEAR(on_cuda.item<double>(), on_cpu.item<double>(),
              1e-4 * std::abs(on_cpu.item<double>()));
  on_cpu.backward();
  on_cuda.backward();
  const auto want = adapter_parameters(*cpu), got = adapter_parameters(*cuda);
  for (size_t i = 0; i < want.size(); ++i) {
    const auto& expected = want[i].second.grad();
    const double scale = expected.abs().max().item<double>();
    EXPECT_LE(max_abs_diff(got[i].second.grad().cpu(), expected), 1e-4 * (1 + scale))
        << want[i].first;
  }
}

}  // namespace
}  // namespace dpok::model
