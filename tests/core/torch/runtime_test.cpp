#include "dpok/core/torch/runtime.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include "dpok/core/error.h"
#include "dpok/core/torch/torch_compat.h"

namespace dpok {
namespace {

TEST(Runtime, ParsesDtypes) {
  EXPECT_EQ(parse_dtype("bf16"), c10::kBFloat16);
  EXPECT_EQ(parse_dtype("float32"), c10::kFloat);
  EXPECT_EQ(dtype_name(parse_dtype("fp16")), "fp16");
  EXPECT_THROW(parse_dtype("int7"), ConfigError);
}

TEST(Runtime, ParsesDevices) {
  EXPECT_TRUE(parse_device("cpu").is_cpu());
  EXPECT_THROW(parse_device("tpu:9"), ConfigError);
}

TEST(Compat, CausalAttentionMatchesExplicitMask) {
  at::manual_seed(0);
  auto q = at::randn({2, 3, 5, 4});
  auto k = at::randn({2, 3, 5, 4});
  auto v = at::randn({2, 3, 5, 4});
  auto causal = compat::scaled_dot_product_attention(q, k, v, std::nullopt, /*is_causal=*/true);
  auto keep = at::ones({5, 5}, at::kBool).tril();
  auto mask = at::zeros({5, 5}).masked_fill(keep.logical_not(), -INFINITY);
  auto masked = compat::scaled_dot_product_attention(q, k, v, mask, /*is_causal=*/false);
  EXPECT_TRUE(at::allclose(causal, masked, 1e-5, 1e-6));
}

// A batch whose scores exceed the per-call budget (5 × 4 heads × 512² fp32 = 21 MB) is computed
// in batch slices on LibTorch 1.13; with a per-sequence padding mask the result must equal the
// plain formula over the whole batch.
TEST(Compat, LargeBatchAttentionEqualsPlainFormula) {
  at::manual_seed(0);
  const int64_t b = 5, h = 4, t = 512, d = 16;
  auto q = at::randn({b, h, t, d}), k = at::randn({b, h, t, d}), v = at::randn({b, h, t, d});
  auto keep = at::ones({t, t}, at::kBool).tril().view({1, 1, t, t}).repeat({b, 1, 1, 1});
  keep.narrow(0, 3, 1).narrow(3, t - 7, 7).fill_(false);  // sequence 3: 7 padded keys
  auto mask = at::zeros({b, 1, t, t}).masked_fill(keep.logical_not(), -INFINITY);
  auto ours = compat::scaled_dot_product_attention(q, k, v, mask, /*is_causal=*/false);
  auto scores = at::matmul(q, k.transpose(-2, -1)) / std::sqrt(static_cast<double>(d)) + mask;
  auto plain = at::matmul(at::softmax(scores, -1), v);
  EXPECT_TRUE(at::allclose(ours, plain, 1e-5, 1e-6));
}

}  // namespace
}  // namespace dpok
