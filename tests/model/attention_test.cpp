// The causal/padding mask and cached attention.
#include "dpok/model/attention.h"

#include <gtest/gtest.h>

#include "dpok/core/error.h"
#include "dpok/core/torch/torch_compat.h"
#include "dpok/model/rope.h"
#include "model/test_util.h"

namespace dpok::model {
namespace {

at::Tensor keep_of(const AttentionBias& bias) {
  return bias.mask->eq(0);
}

TEST(AttentionMask, UnpaddedIsPlainCausal) {
  auto bias = make_attention_bias(at::ones({2, 5}, at::kLong), 5, 0, at::TensorOptions());
  // Fused SDPA (2.x) takes no mask tensor; the 1.13 path gets one shared causal mask.
  EXPECT_EQ(bias.mask.has_value(), !compat::kHasSdpa);
  if (bias.mask) {
    EXPECT_FALSE(bias.is_causal);
    EXPECT_TRUE(at::equal(keep_of(bias)[0][0], at::ones({5, 5}, at::kBool).tril()));
  } else {
    EXPECT_TRUE(bias.is_causal);
  }
  auto step = make_attention_bias(at::Tensor(), 1, 7, at::TensorOptions());
  EXPECT_FALSE(step.mask.has_value());
  EXPECT_FALSE(step.is_causal);
}

TEST(AttentionMask, PaddedKeysAreHiddenAndPaddedQueriesSeeEarlierTokens) {
  auto padding = at::tensor({1, 1, 1, 0, 0}, at::kLong).view({1, 5});
  auto bias = make_attention_bias(padding, 5, 0, at::TensorOptions());
  ASSERT_TRUE(bias.mask.has_value());
  auto keep = keep_of(bias)[0][0];
  auto expected =
      at::tensor({1, 0, 0, 0, 0, 1, 1, 0, 0, 0, 1, 1, 1, 0, 0, 1, 1, 1, 0, 0, 1, 1, 1, 0, 0},
                 at::kLong)
          .to(at::kBool)
          .view({5, 5});
  EXPECT_TRUE(at::equal(keep, expected));
}

TEST(AttentionMask, AllPaddingRowFallsBackToFirstKey) {
  auto bias = make_attention_bias(at::zeros({1, 3}, at::kLong), 3, 0, at::TensorOptions());
  auto keep = keep_of(bias)[0][0];
  EXPECT_TRUE(keep.select(1, 0).all().item<bool>());
  EXPECT_EQ(keep.sum().item<int64_t>(), 3);
}

TEST(AttentionMask, ChunkAfterCacheIsOffsetCausal) {
  auto bias = make_attention_bias(at::Tensor(), 2, 3, at::TensorOptions());
  auto keep = keep_of(bias)[0][0];
  auto expected = at::tensor({1, 1, 1, 1, 0, 1, 1, 1, 1, 1}, at::kLong).to(at::kBool).view({2, 5});
  EXPECT_TRUE(at::equal(keep, expected));
}

TEST(Attention, CachedStepsEqualFullForward) {
  const auto config = testing::tiny_config("Qwen3ForCausalLM");
  Attention attention(config, at::TensorOptions());
  for (auto& p : attention->parameters()) p.data().normal_(0, 0.2);
  RotaryEmbedding rope(config.rope, config.head_dim);
  auto x = at::randn({2, 6, config.hidden_size});
  at::NoGradGuard no_grad;
  auto [cos, sin] = rope.cos_sin(at::arange(6, at::kLong), at::kFloat);
  auto full = attention(x, cos, sin, AttentionBias{});

  KVCache cache(config, 2, 6, at::TensorOptions());
  std::vector<at::Tensor> pieces;
  for (auto [start, len] : {std::pair<int64_t, int64_t>{0, 3}, {3, 2}, {5, 1}}) {
    auto [c, s] = rope.cos_sin(at::arange(start, start + len, at::kLong), at::kFloat);
    auto bias = make_attention_bias(at::Tensor(), len, start, at::TensorOptions());
    pieces.push_back(attention(x.narrow(1, start, len), c, s, bias, &cache, 0));
    cache.advance(len);
  }
  EXPECT_LE(testing::max_abs_diff(at::cat(pieces, 1), full), 1e-5);
  EXPECT_THROW(cache.append(0, at::zeros({2, 2, 1, 8}), at::zeros({2, 2, 1, 8})), ConfigError);
}

}  // namespace
}  // namespace dpok::model
