// The causal/padding mask and cached attention.
#include "dpok/model/attention.h"

#include <gtest/gtest.h>

#include "dpok/core/error.h"
#include "dpok/model/rope.h"
#include "model/test_util.h"

namespace dpok::model {
namespace {

at::Tensor keep_of(const AttentionBias& bias) {
  return bias.mask->eq(0);
}

TEST(AttentionMask, UnpaddedIsPlainCausal) {
  auto bias = make_attention_bias(at::ones({2, 5}, at::kLong), 5, 0, at::TensorOptions());
  // No mask tensor: SDPA's fused causal kernels apply.
  EXPECT_FALSE(bias.mask.has_value());
  EXPECT_TRUE(bias.is_causal);
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

// SDPA's fused causal kernel and its masked path both equal softmax(q kᵀ/√D + mask) v, also for a
// batch with a padded sequence and scores of tens of MB.
TEST(Attention, ScaledDotProductMatchesPlainFormula) {
  at::manual_seed(0);
  const int64_t b = 5, h = 4, t = 512, d = 16;
  auto q = at::randn({b, h, t, d}), k = at::randn({b, h, t, d}), v = at::randn({b, h, t, d});
  auto keep = at::ones({t, t}, at::kBool).tril().view({1, 1, t, t}).repeat({b, 1, 1, 1});
  auto causal_mask = at::zeros({b, 1, t, t}).masked_fill(keep.logical_not(), -INFINITY);
  auto plain = [&](const at::Tensor& mask) {
    auto scores = at::matmul(q, k.transpose(-2, -1)) / std::sqrt(static_cast<double>(d)) + mask;
    return at::matmul(at::softmax(scores, -1), v);
  };
  auto fused = at::scaled_dot_product_attention(q, k, v, std::nullopt, 0.0, /*is_causal=*/true);
  EXPECT_TRUE(at::allclose(fused, plain(causal_mask), 1e-5, 1e-5));
  keep.narrow(0, 3, 1).narrow(3, t - 7, 7).fill_(false);  // sequence 3: 7 padded keys
  auto mask = at::zeros({b, 1, t, t}).masked_fill(keep.logical_not(), -INFINITY);
  auto masked = at::scaled_dot_product_attention(q, k, v, mask, 0.0, /*is_causal=*/false);
  EXPECT_TRUE(at::allclose(masked, plain(mask), 1e-5, 1e-5));
}

}  // namespace
}  // namespace dpok::model
