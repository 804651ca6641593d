#include "dpok/objective/semantic.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "dpok/core/error.h"
#include "gradcheck.h"

namespace dpok::objective {
namespace {

using testing::all_finite;
using testing::expect_gradients_match;
using testing::leaf;

TEST(Semantic, MaskedMeanPoolAveragesTheMaskedPositions) {
  at::manual_seed(0);
  const auto hidden = at::randn({3, 5, 4}, at::kDouble);
  const auto mask = at::tensor({1, 1, 0, 0, 0, 0, 0, 1, 1, 1, 0, 0, 0, 0, 0}).reshape({3, 5});
  const auto pooled = masked_mean_pool(hidden, mask);
  EXPECT_TRUE(at::allclose(pooled[0], hidden[0].narrow(0, 0, 2).mean(0)));
  EXPECT_TRUE(at::allclose(pooled[1], hidden[1].narrow(0, 2, 3).mean(0)));
  EXPECT_TRUE(at::equal(pooled[2], at::zeros({4}, at::kDouble)));  // empty range → zero vector
  EXPECT_THROW(masked_mean_pool(hidden, mask.narrow(1, 0, 4)), ConfigError);
}

TEST(Semantic, PairPoolingFollowsTheConcatenatedLayout) {
  at::manual_seed(1);
  const int64_t b = 2, t = 6;
  const auto hidden = at::randn({2 * b, t, 3}, at::kDouble);
  auto prompt = at::zeros({2 * b, t}, at::kBool), completion = at::zeros({2 * b, t}, at::kBool);
  prompt.narrow(1, 0, 2).fill_(true);
  completion.narrow(1, 2, 3).fill_(true);
  const auto e = pool_pair_embeddings(hidden, prompt, completion);
  EXPECT_TRUE(at::allclose(e.prompt[1], hidden[1].narrow(0, 0, 2).mean(0)));
  EXPECT_TRUE(at::allclose(e.chosen[0], hidden[0].narrow(0, 2, 3).mean(0)));
  EXPECT_TRUE(at::allclose(e.rejected[1], hidden[3].narrow(0, 2, 3).mean(0)));
  EXPECT_THROW(pool_pair_embeddings(hidden.narrow(0, 0, 3), prompt, completion), ConfigError);
}

TEST(Semantic, NormalisationHandlesZeroVectors) {
  at::manual_seed(2);
  auto x = leaf(at::cat({at::randn({3, 5}, at::kDouble), at::zeros({1, 5}, at::kDouble)}));
  const auto y = l2_normalize(x);
  EXPECT_TRUE(at::allclose(y.narrow(0, 0, 3).norm(2, -1), at::ones({3}, at::kDouble)));
  EXPECT_TRUE(at::equal(y[3], at::zeros({5}, at::kDouble)));
  y.sum().backward();
  EXPECT_TRUE(all_finite(x.grad()));
  auto finite_part = leaf(at::randn({2, 4}, at::kDouble));
  expect_gradients_match([&] { return l2_normalize(finite_part); }, {finite_part}, 1e-7);
  // Gradients through pooling too.
  auto hidden = leaf(at::randn({2, 3, 2}, at::kDouble));
  const auto mask = at::tensor({1, 0, 1, 1, 1, 0}).reshape({2, 3});
  expect_gradients_match([&] { return masked_mean_pool(hidden, mask); }, {hidden}, 1e-7);
}

TEST(Semantic, MedianHeuristicIsTheMedianDistance) {
  at::manual_seed(3);
  const auto u = at::randn({7, 4}, at::kDouble), v = at::randn({7, 4}, at::kDouble);
  std::vector<double> d;
  for (int64_t i = 0; i < 7; ++i) d.push_back((u[i] - v[i]).norm().item<double>());
  std::sort(d.begin(), d.end());
  EXPECT_NEAR(median_heuristic_sigma(u, v).item<double>(), d[3], 1e-12);
  // Identical inputs fall back to the epsilon instead of a zero bandwidth.
  EXPECT_DOUBLE_EQ(median_heuristic_sigma(u, u).item<double>(), kNormEpsilon);
}

}  // namespace
}  // namespace dpok::objective
