#include "dpok/objective/weighting.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "gradcheck.h"

namespace dpok::objective {
namespace {

using testing::leaf;

TEST(Weighting, LogSumSquaredProbsMatchesThePlainFormula) {
  at::manual_seed(0);
  for (const double scale : {1.0, 30.0}) {
    const auto logits = at::randn({3, 5, 11}, at::kDouble) * scale;
    const auto got = log_sum_squared_probs(logits);
    ASSERT_EQ(got.sizes(), at::IntArrayRef({3, 5}));
    EXPECT_TRUE(at::allclose(got, log_sum_squared_probs_reference(logits), 1e-12, 1e-12))
        << "scale " << scale;
  }
  // Uniform over V: Σ p² = 1/V, whatever the common logit.
  const auto uniform = log_sum_squared_probs(at::full({2, 8}, 1e4, at::kDouble));
  EXPECT_TRUE(at::allclose(uniform, at::full({2}, -std::log(8.0), at::kDouble), 0, 1e-12));
  // Logits of ±1e4 in fp32: both logsumexps stay finite, and a one-hot distribution gives log 1.
  const auto peaked = at::tensor({1e4f, -1e4f, -1e4f}).reshape({1, 3});
  EXPECT_NEAR(log_sum_squared_probs(peaked).item<double>(), 0.0, 1e-6);
  EXPECT_FALSE(log_sum_squared_probs(leaf(at::randn({2, 4}, at::kDouble))).requires_grad());
}

// Hand-computed: chosen aligned log-probs (log p − lssp) on its completion = [−0.5, −1], mean
// −0.75; rejected [−2, −0.5], mean −1.25; pair weight e^{−0.75}·e^{−1.25} = e^{−2}. Masked
// positions hold −inf and junk, which must not reach the result.
TEST(Weighting, WpoPairWeightIsTheProductOfLengthNormalisedProbabilities) {
  const double inf = std::numeric_limits<double>::infinity();
  const auto logps = at::tensor({-1.0, -2.0, -inf, -3.0, -inf, -1.0}, at::kDouble).reshape({2, 3});
  const auto lssp = at::tensor({-0.5, -1.0, 7.0, -1.0, 0.0, -0.5}, at::kDouble).reshape({2, 3});
  const auto mask = at::tensor({1, 1, 0, 1, 0, 1}, at::kLong).reshape({2, 3});
  const auto weights = wpo_pair_weights(leaf(logps), lssp, mask);
  ASSERT_EQ(weights.sizes(), at::IntArrayRef({1}));
  EXPECT_NEAR(weights.item<double>(), std::exp(-2.0), 1e-15);
  EXPECT_FALSE(weights.requires_grad());
  // An empty completion counts as length 1 with sum 0: weight 1 for that side.
  const auto empty = at::tensor({0, 0, 0, 1, 0, 1}, at::kLong).reshape({2, 3});
  EXPECT_NEAR(wpo_pair_weights(logps, lssp, empty).item<double>(), std::exp(-1.25), 1e-15);
}

// Two pairs, T = 5 (rows: chosen 0, chosen 1, rejected 0, rejected 1). Pair 0: chosen has 4
// completion tokens, rejected 2, so the chosen side's last 2 are its tail; pair 1: chosen 2,
// rejected 3, so the rejected side's last one is. Position values outside the mask (9) must not
// count. All values are exact in binary, so the sums are compared exactly.
TEST(Weighting, LengthDesensitizedLogpsWeighTheTailByAlpha) {
  const auto logps = at::tensor({9.0,  -1.0, -2.0, -3.0, -4.0,  //
                                 -1.0, -1.0, 9.0,  9.0,  9.0,   //
                                 9.0,  9.0,  -5.0, -6.0, 9.0,   //
                                 -2.0, -2.0, -2.0, 9.0,  9.0},
                                at::kDouble)
                         .reshape({4, 5});
  const auto mask = at::tensor({0, 1, 1, 1, 1,  //
                                1, 1, 0, 0, 0,  //
                                0, 0, 1, 1, 0,  //
                                1, 1, 1, 0, 0},
                               at::kLong)
                        .reshape({4, 5});
  const auto plain = at::tensor({-10.0, -2.0, -11.0, -6.0}, at::kDouble);
  EXPECT_TRUE(at::equal(length_desensitized_logps(logps, mask, 1.0), plain));
  EXPECT_TRUE(at::equal(length_desensitized_logps(logps, mask, 0.0),
                        at::tensor({-3.0, -2.0, -11.0, -4.0}, at::kDouble)));
  const auto x = leaf(logps);
  const auto half = length_desensitized_logps(x, mask, 0.5);
  EXPECT_TRUE(at::equal(half, at::tensor({-6.5, -2.0, -11.0, -5.0}, at::kDouble)));
  // d ℓ / d log p_t: 1 on the shared part, α on the tail, 0 off the completion.
  half.sum().backward();
  const auto want = at::tensor({0.0, 1.0, 1.0, 0.5, 0.5,  //
                                1.0, 1.0, 0.0, 0.0, 0.0,  //
                                0.0, 0.0, 1.0, 1.0, 0.0,  //
                                1.0, 1.0, 0.5, 0.0, 0.0},
                               at::kDouble)
                        .reshape({4, 5});
  EXPECT_TRUE(at::equal(x.grad(), want));
}

}  // namespace
}  // namespace dpok::objective
