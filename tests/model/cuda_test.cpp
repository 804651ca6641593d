// The decoder on CUDA against the CPU on the transformers fixtures: fp32 logits within 1e-4 of the
// CPU's, bf16 within 2% (relative norm, as the CPU's own bf16 test). Skipped without a GPU.
#include <gtest/gtest.h>

#include "dpok/model/loader.h"
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

}  // namespace
}  // namespace dpok::model
