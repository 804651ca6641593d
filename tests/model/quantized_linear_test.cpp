// Quantized frozen weights (quantized_linear.h): the blocks equal gguf_quantize's and decode as
// gguf_quants' (in parallel, by row ranges); the quantized linear map equals x·dequant(W)ᵀ + b;
// gradients of the input, the bias and a LoRA-like path on top equal the reference computed with
// the dequantized weight as a constant, chunked or not; k-quant blocks as a GGUF file stores them
// (SmolLM2's Q4_1/Q8_0 tensors when fetched); the refusals; memory, dequantization speed and
// the time of a forward and backward against float32 (printed, not asserted).
#include "dpok/model/quantized_linear.h"

#include <ATen/CPUGeneratorImpl.h>
#include <gtest/gtest.h>

#include <chrono>
#include <cstring>
#include <random>

#include "dpok/core/error.h"
#include "dpok/io/gguf.h"
#include "dpok/io/gguf_quantize.h"
#include "dpok/io/gguf_quants.h"
#include "support/testing.h"
#include "test_util.h"

namespace dpok::model {
namespace {

using ::dpok::testing::throws_with;
using testing::max_abs_diff;

using io::kQ4_0, io::kQ4_1, io::kQ8_0, io::kQ4_K, io::kQ6_K;

at::Tensor randn(std::vector<int64_t> shape, uint64_t seed, double scale = 1.0) {
  auto generator = at::make_generator<at::CPUGeneratorImpl>(seed);
  return at::randn(shape, generator, at::kFloat) * scale;
}

std::vector<std::byte> bytes_of(const at::Tensor& t) {
  std::vector<std::byte> bytes(t.nbytes());
  std::memcpy(bytes.data(), t.data_ptr(), bytes.size());
  return bytes;
}

// Random k-quant blocks with finite, small fp16 scales (as gguf_quants_reference.py makes them).
QuantizedWeight random_kquant(uint32_t type_id, int64_t out, int64_t in, uint64_t seed) {
  const io::GgmlTypeInfo& type = *io::find_ggml_type(type_id);
  std::mt19937 rng(static_cast<uint32_t>(seed));
  std::vector<std::byte> bytes(static_cast<size_t>(out * in / type.block_size * type.type_size));
  for (auto& b : bytes) b = static_cast<std::byte>(rng() & 0xFF);
  std::uniform_real_distribution<float> scale(0.0f, 0.01f);
  const std::vector<size_t> fields =
      type_id == kQ4_K ? std::vector<size_t>{0, 2} : std::vector<size_t>{208};  // Q6_K
  for (size_t block = 0; block < bytes.size() / type.type_size; ++block) {
    for (size_t offset : fields) {
      const uint16_t half = io::float_to_half(scale(rng));
      std::memcpy(bytes.data() + block * type.type_size + offset, &half, 2);
    }
  }
  return QuantizedWeight::from_bytes(type_id, out, in, bytes);
}

TEST(QuantizedLinear, BlocksAndValuesEqualTheSerialCodecs) {
  const at::Tensor w = randn({37, 256}, 1, 0.05);
  for (uint32_t type : {kQ4_0, kQ4_1, kQ8_0, kQ4_K}) {
    const QuantizedWeight q = QuantizedWeight::quantize(w, type);
    std::vector<std::byte> serial(io::quantized_nbytes(type, w.numel()));
    io::quantize(type, std::span(w.data_ptr<float>(), w.numel()), serial);
    EXPECT_EQ(bytes_of(q.blocks), serial) << io::ggml_type_name(type);
    std::vector<float> values(w.numel());
    io::dequantize(type, serial, values);
    const at::Tensor dq = q.dequantize();
    EXPECT_EQ(std::memcmp(dq.data_ptr<float>(), values.data(), values.size() * 4), 0);
    EXPECT_TRUE(at::equal(q.dequantize_rows(5, 17), dq.slice(0, 5, 17)));
    const QuantizedWeight copy = QuantizedWeight::from_bytes(type, 37, 256, serial);
    EXPECT_TRUE(at::equal(copy.dequantize(), dq));
  }
}

TEST(QuantizedLinear, MemoryIsTheBlocks) {
  const at::Tensor w = randn({576, 1536}, 2, 0.02);
  const QuantizedWeight q4 = QuantizedWeight::quantize(w, kQ4_0);
  EXPECT_EQ(q4.nbytes(), 576u * 1536 / 32 * 18);  // 4.5 bits per weight
  EXPECT_EQ(q4.fp32_nbytes(), 576u * 1536 * 4);
  const QuantizedWeight q8 = QuantizedWeight::quantize(w, kQ8_0);
  EXPECT_EQ(q8.nbytes(), 576u * 1536 / 32 * 34);
  const QuantizedWeight k4 = random_kquant(kQ4_K, 576, 1536, 3);
  EXPECT_EQ(k4.nbytes(), 576u * 1536 / 256 * 144);
  for (const QuantizedWeight* q : {&q4, &q8, &k4}) std::printf("%s\n", q->describe().c_str());
  EXPECT_NE(q4.describe().find("0.141x"), std::string::npos) << q4.describe();
}

// y = quantized_linear(x, W, b) + s·(x·Aᵀ)·Bᵀ with x itself computed from a parameter; every
// gradient against the same graph with the dequantized W as a constant.
void check_against_dequantized(const QuantizedWeight& q, bool with_bias, int64_t chunk_rows) {
  SCOPED_TRACE(q.describe() + (with_bias ? " with bias" : "") + " chunk " +
               std::to_string(chunk_rows));
  const int64_t in = q.in_features, out = q.out_features, r = 4;
  const at::Tensor dq = q.dequantize();
  const at::Tensor x0 = randn({2, 5, in}, 11);
  const at::Tensor scale0 = randn({in}, 12, 0.1) + 1.0;
  const at::Tensor a0 = randn({r, in}, 13, 0.1), b0 = randn({out, r}, 14, 0.1);
  const at::Tensor bias0 = randn({out}, 15, 0.1);
  const at::Tensor upstream = randn({2, 5, out}, 16);

  struct Run {
    at::Tensor y, scale, a, b, bias;
  };
  auto run = [&](bool quantized) {
    Run run{at::Tensor(), scale0.clone().requires_grad_(true), a0.clone().requires_grad_(true),
            b0.clone().requires_grad_(true),
            with_bias ? bias0.clone().requires_grad_(true) : at::Tensor()};
    const at::Tensor x = x0 * run.scale;  // an upstream parameter
    const at::Tensor base =
        quantized ? quantized_linear(x, q, run.bias, chunk_rows) : at::linear(x, dq, run.bias);
    run.y = base + 2.0 * at::linear(at::linear(x, run.a), run.b);
    (run.y * upstream).sum().backward();
    return run;
  };
  const Run got = run(true), want = run(false);
  const double tol = 1e-5 * std::max(1.0, want.y.abs().max().item<double>());
  EXPECT_LE(max_abs_diff(got.y, want.y), tol);
  EXPECT_LE(max_abs_diff(got.scale.grad(), want.scale.grad()),
            1e-5 * std::max(1.0, want.scale.grad().abs().max().item<double>()));
  EXPECT_LE(max_abs_diff(got.a.grad(), want.a.grad()),
            1e-5 * std::max(1.0, want.a.grad().abs().max().item<double>()));
  EXPECT_LE(max_abs_diff(got.b.grad(), want.b.grad()),
            1e-5 * std::max(1.0, want.b.grad().abs().max().item<double>()));
  if (with_bias) {
    EXPECT_LE(max_abs_diff(got.bias.grad(), want.bias.grad()), 1e-5);
  }
}

TEST(QuantizedLinear, ForwardAndGradientsEqualTheDequantizedWeight) {
  const at::Tensor w = randn({48, 64}, 3, 0.1);
  for (uint32_t type : {kQ4_0, kQ4_1, kQ8_0}) {
    const QuantizedWeight q = QuantizedWeight::quantize(w, type);
    check_against_dequantized(q, /*with_bias=*/true, /*chunk_rows=*/0);
    check_against_dequantized(q, /*with_bias=*/false, /*chunk_rows=*/0);
    check_against_dequantized(q, /*with_bias=*/true, /*chunk_rows=*/7);  // uneven chunks
  }
  check_against_dequantized(QuantizedWeight::quantize(randn({40, 512}, 4, 0.1), kQ4_K), true, 0);
  check_against_dequantized(random_kquant(kQ4_K, 40, 512, 4), true, 0);
  check_against_dequantized(random_kquant(kQ6_K, 24, 256, 5), false, 16);
}

TEST(QuantizedLinear, ForwardIsTheLinearMapBitForBit) {
  const QuantizedWeight q = QuantizedWeight::quantize(randn({32, 96}, 6), kQ8_0);
  const at::Tensor x = randn({3, 96}, 7), bias = randn({32}, 8);
  EXPECT_TRUE(at::equal(quantized_linear(x, q), at::linear(x, q.dequantize())));
  EXPECT_TRUE(at::equal(quantized_linear(x, q, bias), at::linear(x, q.dequantize()) + bias));
  // The weight gets no gradient and an input without one gives an output without one.
  EXPECT_FALSE(quantized_linear(x, q).requires_grad());
  const at::Tensor bf16 = quantized_linear(x.to(at::kBFloat16), q);
  EXPECT_EQ(bf16.scalar_type(), at::kBFloat16);
}

TEST(QuantizedLinear, GgufTensorsAsTheyAreStored) {
  DPOK_REQUIRE_MODEL(model, "smollm2-135m-instruct/SmolLM2-135M-Instruct.Q4_1.gguf");
  const io::GgufFile file = io::GgufFile::open(model);
  std::set<uint32_t> seen;
  for (const io::GgufTensorInfo& info : file.tensor_infos()) {
    if (info.shape.size() != 2 || info.ggml_type == 0 || !seen.insert(info.ggml_type).second)
      continue;
    const QuantizedWeight q = QuantizedWeight::from_gguf(file, info.name);
    std::printf("%s: %s\n", info.name.c_str(), q.describe().c_str());
    const std::vector<float> want = file.dequantize(info.name);
    const at::Tensor got = q.dequantize();
    ASSERT_EQ(got.numel(), static_cast<int64_t>(want.size()));
    EXPECT_EQ(std::memcmp(got.data_ptr<float>(), want.data(), want.size() * 4), 0) << info.name;
    const at::Tensor x = randn({3, q.in_features}, 9);
    EXPECT_TRUE(at::equal(quantized_linear(x, q), at::linear(x, got)));
  }
  EXPECT_TRUE(seen.count(kQ4_1) && seen.count(kQ8_0));
}

// A row of 48 is two Q4_0 blocks, the second padded with zeros: the blocks equal those of the
// zero-padded [4, 64] weight, and the values, products and gradients have 48 columns.
TEST(QuantizedLinear, RowsThatAreNotWholeBlocksArePadded) {
  for (uint32_t type : {kQ4_0, kQ8_0, kQ4_K}) {
    const int64_t block = io::find_ggml_type(type)->block_size;
    const at::Tensor w = randn({4, block + 16}, 10);
    const auto q = QuantizedWeight::quantize(w, type);
    const auto padded = QuantizedWeight::quantize(at::constant_pad_nd(w, {0, block - 16}), type);
    EXPECT_TRUE(at::equal(q.blocks, padded.blocks));
    EXPECT_EQ(q.in_features, block + 16);
    const at::Tensor dense = q.dequantize();
    EXPECT_EQ(dense.sizes(), w.sizes());
    EXPECT_TRUE(at::equal(dense, padded.dequantize().narrow(1, 0, block + 16)));
    const at::Tensor x = randn({3, block + 16}, 11).requires_grad_(true);
    const at::Tensor y = quantized_linear(x, q);
    y.sum().backward();
    EXPECT_LT(max_abs_diff(y, at::linear(x, dense)), 1e-5);
    EXPECT_LT(max_abs_diff(x.grad(), dense.sum(0).expand({3, block + 16})), 1e-5);
  }
}

// What a GPU weight runs (tensor operations on the blocks' device) decodes to the codecs' bits,
// on random weights (rows padded or not) and on SmolLM2's stored Q4_1 / Q8_0 blocks when fetched.
TEST(QuantizedLinear, TensorOpsDecodeAsTheCodecs) {
  for (uint32_t type : {kQ8_0, kQ4_0, kQ4_1}) {
    for (int64_t in : {64, 48}) {
      const auto q = QuantizedWeight::quantize(randn({6, in}, 12, 0.3), type);
      EXPECT_TRUE(decodes_on_device(type));
      EXPECT_TRUE(at::equal(dequantize_rows_by_tensor_ops(q, 0, 6), q.dequantize())) << type;
      EXPECT_TRUE(at::equal(dequantize_rows_by_tensor_ops(q, 2, 5), q.dequantize_rows(2, 5)));
    }
  }
  const auto k = random_kquant(kQ4_K, 2, 256, 13);
  EXPECT_FALSE(decodes_on_device(kQ4_K));
  EXPECT_EQ(k.to(c10::Device(c10::kCPU)).blocks.data_ptr(), k.blocks.data_ptr());
  EXPECT_THROW(dequantize_rows_by_tensor_ops(k, 0, 1), UnsupportedError);
  const auto path =
      dpok::testing::find_model("smollm2-135m-instruct/SmolLM2-135M-Instruct.Q4_1.gguf");
  if (path.empty()) return;
  const auto file = io::GgufFile::open(path);
  for (const char* name : {"blk.0.ffn_down.weight", "blk.0.attn_v.weight"}) {
    const auto q = QuantizedWeight::from_gguf(file, name);
    if (!decodes_on_device(q.ggml_type)) continue;
    EXPECT_TRUE(at::equal(dequantize_rows_by_tensor_ops(q, 0, q.out_features), q.dequantize()))
        << name;
  }
}

TEST(QuantizedLinear, Refusals) {
  EXPECT_TRUE(throws_with<UnsupportedError>(
      [&] {
        QuantizedWeight::quantize(randn({4, 256}, 1), kQ6_K);
      },
      {"Q6_K", "Q4_K"}));
  std::vector<std::byte> bytes(4 * 18);
  EXPECT_TRUE(throws_with<UnsupportedError>([&] { QuantizedWeight::from_bytes(16, 4, 256, bytes); },
                                            {"IQ2_XXS"}));
  EXPECT_TRUE(throws_with<FormatError>([&] { QuantizedWeight::from_bytes(kQ4_0, 4, 64, bytes); },
                                       {"72 bytes", "expected 144"}));
  EXPECT_TRUE(throws_with<FormatError>([&] { QuantizedWeight::from_bytes(kQ4_0, 4, 40, bytes); },
                                       {"whole blocks"}));
  EXPECT_EQ(ggml_type_from_name("q4_k"), kQ4_K);
  EXPECT_EQ(ggml_type_from_name("Q8_0"), kQ8_0);
  EXPECT_TRUE(throws_with<ConfigError>([] { ggml_type_from_name("nf4"); }, {"nf4", "Q4_0"}));
}

// Dequantization speed on a 2048×2048 weight (no assertion: the figure is for the report).
TEST(QuantizedLinear, DequantizationThroughput) {
  const at::Tensor w = randn({2048, 2048}, 17, 0.02);
  for (uint32_t type : {kQ4_0, kQ4_1, kQ8_0}) {
    const QuantizedWeight q = QuantizedWeight::quantize(w, type);
    q.dequantize();  // warm up
    const auto start = std::chrono::steady_clock::now();
    constexpr int kReps = 3;
    for (int i = 0; i < kReps; ++i) q.dequantize();
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() / kReps;
    std::printf("%s 2048x2048 dequantize: %.1f ms, %.2f Gweights/s on %d threads\n",
                std::string(io::ggml_type_name(type)).c_str(), seconds * 1e3,
                2048.0 * 2048.0 / seconds / 1e9, at::get_num_threads());
  }
}

// Forward + backward of one SmolLM2-shaped projection (576 → 1536) on 512 tokens, quantized
// against float32 (no assertion: the figures are for the report).
TEST(QuantizedLinear, StepTimeAgainstFloat32) {
  const at::Tensor w = randn({1536, 576}, 18, 0.02);
  const at::Tensor x0 = randn({512, 576}, 19);
  auto time = [&](auto&& linear) {
    double best = 1e9;
    for (int rep = 0; rep < 3; ++rep) {
      const at::Tensor x = x0.clone().requires_grad_(true);
      const auto start = std::chrono::steady_clock::now();
      linear(x).sum().backward();
      best = std::min(
          best, std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    }
    return best * 1e3;
  };
  const double fp32 = time([&](const at::Tensor& x) { return at::linear(x, w); });
  for (uint32_t type : {kQ4_0, kQ4_1, kQ8_0}) {  // 576 is not whole Q4_K blocks of 256
    const QuantizedWeight q = QuantizedWeight::quantize(w, type);
    const double ms = time([&](const at::Tensor& x) { return quantized_linear(x, q); });
    std::printf(
        "%s forward+backward [512, 576] x [1536, 576]: %.2f ms (float32 %.2f ms) on %d threads\n",
        std::string(io::ggml_type_name(type)).c_str(), ms, fp32, at::get_num_threads());
  }
}

}  // namespace
}  // namespace dpok::model
