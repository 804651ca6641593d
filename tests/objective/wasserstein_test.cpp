#include "dpok/objective/wasserstein.h"

#include <gtest/gtest.h>

#include <cmath>

#include "dpok/objective/divergences.h"
#include "gradcheck.h"

namespace dpok::objective {
namespace {

using testing::all_finite;
using testing::expect_gradients_match;
using testing::leaf;
using testing::with_grad;

// A batch of n supports of m−1 tokens plus the tail bucket, with its cosine cost.
struct Problem {
  at::Tensor log_a, log_b, cost;
};

Problem random_problem(int64_t n, int64_t m, uint64_t seed) {
  at::manual_seed(seed);
  const auto embeddings = at::randn({20, 6}, at::kDouble);
  const auto ids = at::randint(0, 20, {n, m - 1}, at::kLong);
  return {at::log_softmax(at::randn({n, m}, at::kDouble), -1),
          at::log_softmax(at::randn({n, m}, at::kDouble), -1),
          cosine_cost_with_tail(ids, embeddings, at::kDouble)};
}

TEST(Wasserstein, CostIsOneMinusCosineWithATailBucket) {
  at::manual_seed(0);
  const auto embeddings = at::randn({10, 4}, at::kDouble);
  const auto ids = at::tensor({3, 7, 3}, at::kLong).reshape({1, 3});
  const auto cost = cosine_cost_with_tail(ids, embeddings, at::kDouble);
  ASSERT_EQ(cost.sizes(), at::IntArrayRef({1, 4, 4}));
  const auto e3 = embeddings[3], e7 = embeddings[7];
  const double cos37 = (e3 * e7).sum().item<double>() / (e3.norm() * e7.norm()).item<double>();
  EXPECT_NEAR(cost[0][0][1].item<double>(), 1 - cos37, 1e-12);
  EXPECT_NEAR(cost[0][0][2].item<double>(), 0.0, 1e-12);  // same token twice
  EXPECT_TRUE(at::equal(cost[0].diagonal(), at::zeros({4}, at::kDouble)));
  EXPECT_TRUE(at::allclose(cost[0], cost[0].t()));
  for (int j = 0; j < 3; ++j) {
    EXPECT_EQ(cost[0][3][j].item<double>(), 1.0);
    EXPECT_EQ(cost[0][j][3].item<double>(), 1.0);
  }
}

TEST(Wasserstein, ZeroForIdenticalAndNonNegativeOtherwise) {
  const auto pr = random_problem(16, 6, 1);
  const auto same = sinkhorn_divergence(pr.log_a, pr.log_a, pr.cost, 0.05, 50);
  EXPECT_TRUE(at::allclose(same, at::zeros_like(same), 0, 1e-12)) << same;
  const auto value = sinkhorn_divergence(pr.log_a, pr.log_b, pr.cost, 0.05, 50);
  EXPECT_TRUE((value >= 0).all().item<bool>());
  EXPECT_TRUE((value > 0).any().item<bool>());
  // Bounded by the largest cost (2) in exact arithmetic.
  EXPECT_TRUE((value <= 2).all().item<bool>()) << value;
}

TEST(Wasserstein, CheckpointedGradientEqualsTheUnrolledReference) {
  const auto pr = random_problem(300, 5, 2);  // two backward slices, the second partial
  auto a1 = leaf(pr.log_a), b1 = leaf(pr.log_b), a2 = leaf(pr.log_a), b2 = leaf(pr.log_b);
  const auto fast = sinkhorn_divergence(a1, b1, pr.cost, 0.05, 50);
  const auto plain = sinkhorn_divergence_reference(a2, b2, pr.cost, 0.05, 50);
  EXPECT_TRUE(at::allclose(fast, plain, 0, 1e-14));
  const auto w = at::rand({300}, at::kDouble);
  (fast * w).sum().backward();
  (plain * w).sum().backward();
  EXPECT_TRUE(at::allclose(a1.grad(), a2.grad(), 1e-10, 1e-13));
  EXPECT_TRUE(at::allclose(b1.grad(), b2.grad(), 1e-10, 1e-13));
}

TEST(Wasserstein, GradientsMatchFiniteDifferences) {
  // A moderate ε converges within the iterations, so the value is smooth in its inputs.
  const auto pr = random_problem(2, 4, 3);
  auto a = leaf(pr.log_a), b = leaf(pr.log_b);
  expect_gradients_match([&] { return sinkhorn_divergence(a, b, pr.cost, 0.5, 50); }, {a, b}, 1e-6,
                         1e-6, "sinkhorn");
}

TEST(Wasserstein, EmptyEntriesAndPeakedMassStayFinite) {
  const auto pr = random_problem(3, 5, 4);
  auto a = pr.log_a.clone();
  a.select(1, 0).fill_(kLogProbFloor);  // a zero-mass token
  a = with_grad((a - at::logsumexp(a, -1, true)).clamp_min(kLogProbFloor));
  auto b =
      with_grad(at::log_softmax(at::randn({3, 5}, at::kDouble) * 500, -1).clamp_min(kLogProbFloor));
  const auto value = sinkhorn_divergence(a, b, pr.cost, 0.05, 50);
  EXPECT_TRUE(all_finite(value));
  value.sum().backward();
  EXPECT_TRUE(all_finite(a.grad()) && all_finite(b.grad()));
}

}  // namespace
}  // namespace dpok::objective
