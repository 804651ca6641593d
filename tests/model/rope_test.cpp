// RoPE frequencies and rotation against closed-form values.
#include "dpok/model/rope.h"

#include <gtest/gtest.h>

#include <cmath>
#include <numbers>

namespace dpok::model {
namespace {

TEST(Rope, DefaultFrequencies) {
  RopeConfig rope;
  auto inv = rope_inverse_frequencies(rope, 8);
  ASSERT_EQ(inv.numel(), 4);
  for (int i = 0; i < 4; ++i) {
    EXPECT_NEAR(inv[i].item<double>(), std::pow(10000.0, -2.0 * i / 8), 1e-7);
  }
  rope.type = "linear";
  rope.factor = 4;
  EXPECT_NEAR(rope_inverse_frequencies(rope, 8)[1].item<double>(), 0.1 / 4, 1e-7);
}

TEST(Rope, Llama3ScalingBands) {
  RopeConfig rope{.theta = 500000,
                  .type = "llama3",
                  .factor = 8,
                  .low_freq_factor = 1,
                  .high_freq_factor = 4,
                  .original_max_position_embeddings = 64};
  auto base = rope_inverse_frequencies(RopeConfig{.theta = 500000}, 16);
  auto scaled = rope_inverse_frequencies(rope, 16);
  for (int64_t i = 0; i < base.numel(); ++i) {
    const double f = base[i].item<double>(), s = scaled[i].item<double>();
    const double wavelen = 2 * std::numbers::pi / f;
    if (wavelen < 64.0 / 4) {
      EXPECT_NEAR(s, f, 1e-9);  // high frequency: unchanged
    } else if (wavelen > 64.0) {
      EXPECT_NEAR(s, f / 8, 1e-9);  // low frequency: divided by factor
    } else {
      const double smooth = (64.0 / wavelen - 1) / (4 - 1);
      EXPECT_NEAR(s, (1 - smooth) * f / 8 + smooth * f, 1e-7);
    }
  }
}

TEST(Rope, RotationPreservesNormAndRelativePosition) {
  RotaryEmbedding rope(RopeConfig{}, 8);
  auto [cos, sin] = rope.cos_sin(at::arange(6, at::kLong), at::kFloat);
  EXPECT_EQ(cos.sizes(), (std::vector<int64_t>{6, 8}));
  auto q = at::randn({1, 1, 1, 8}).expand({1, 1, 6, 8}).contiguous();
  auto k = at::randn({1, 1, 1, 8}).expand({1, 1, 6, 8}).contiguous();
  auto rq = apply_rotary(q, cos, sin), rk = apply_rotary(k, cos, sin);
  EXPECT_TRUE(at::allclose(rq.norm(2, -1), q.norm(2, -1), 1e-5, 1e-5));
  // <R(m) q, R(n) k> depends only on m - n.
  auto dot = [&](int m, int n) { return (rq[0][0][m] * rk[0][0][n]).sum().item<double>(); };
  EXPECT_NEAR(dot(3, 1), dot(4, 2), 1e-4);
  EXPECT_NEAR(dot(0, 0), (q[0][0][0] * k[0][0][0]).sum().item<double>(), 1e-4);
}

}  // namespace
}  // namespace dpok::model
