#include "dpok/select/divergence_metrics.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "dpok/core/error.h"

namespace dpok::select {
namespace {

double entropy(const std::vector<double>& p) {
  double h = 0.0;
  for (double x : p) h -= x > 0 ? x * std::log(x) : 0.0;
  return h;
}

TEST(DivergenceMetrics, HandComputedExample) {
  // V = 3. Record 1: three positions; record 2: one position.
  const std::vector<std::vector<double>> rows{
      {0.7, 0.2, 0.1}, {0.1, 0.1, 0.8}, {0.3, 0.3, 0.4}, {0.5, 0.45, 0.05}};
  const std::vector<std::int64_t> targets{1, 2, 0, 2};
  // In nucleus? 0.2: mass above 0.7 < 0.9 → in; 0.8: 0 → in; 0.3: above 0.4 → in;
  // 0.05: mass above 0.95 → out.
  auto tensor_rows = [&](std::size_t from, std::size_t to) {
    std::vector<double> flat;
    for (std::size_t i = from; i < to; ++i) flat.insert(flat.end(), rows[i].begin(), rows[i].end());
    return at::tensor(flat, at::kDouble).reshape({static_cast<std::int64_t>(to - from), 3});
  };
  DivergenceAccumulator acc;
  acc.add(tensor_rows(0, 3).log(), at::tensor({1, 2, 0}, at::kLong));
  acc.add(tensor_rows(3, 4).log(), at::tensor({2}, at::kLong));
  acc.add(at::zeros({0, 3}, at::kDouble), at::zeros({0}, at::kLong));
  const auto m = acc.finish();

  std::vector<double> s;
  double h = 0.0;
  for (std::size_t i = 0; i < rows.size(); ++i) {
    s.push_back(-std::log(rows[i][targets[i]]));
    h += entropy(rows[i]);
  }
  double mean = 0.0;
  for (double x : s) mean += x / 4.0;
  double m2 = 0.0, m4 = 0.0;
  for (double x : s) {
    m2 += std::pow(x - mean, 2) / 4.0;
    m4 += std::pow(x - mean, 4) / 4.0;
  }
  EXPECT_EQ(m.tokens, 4);
  EXPECT_EQ(m.transitions, 2);
  EXPECT_NEAR(m.support_overlap, 0.75, 1e-12);
  EXPECT_NEAR(m.drift, mean - h / 4.0, 1e-12);
  EXPECT_NEAR(m.kurtosis, m4 / (m2 * m2) - 3.0, 1e-12);
  const double tv = 0.5 * (0.6 + 0.1 + 0.7) + 0.5 * (0.2 + 0.2 + 0.4);  // positions 1→2, 2→3
  EXPECT_NEAR(m.smoothness, tv / 2.0, 1e-12);
}

TEST(DivergenceMetrics, DataSampledFromTheReferenceHasNoDrift) {
  at::manual_seed(0);
  const auto logits = at::randn({4000, 16}, at::kDouble);
  const auto logp = at::log_softmax(logits, 1);
  const auto targets = at::multinomial(logp.exp(), 1, /*replacement=*/true).squeeze(1);
  DivergenceAccumulator acc;
  acc.add(logp, targets);
  const auto m = acc.finish();
  EXPECT_NEAR(m.drift, 0.0, 0.05);  // E[−log p(y)] = H(p) when y ~ p
  EXPECT_GT(m.support_overlap, 0.8);
}

TEST(DivergenceMetrics, RejectsBadInput) {
  DivergenceAccumulator acc;
  EXPECT_THROW(acc.add(at::zeros({2, 3}), at::zeros({3}, at::kLong)), ConfigError);
  EXPECT_THROW(acc.add(at::zeros({2, 3}), at::tensor({0, 3}, at::kLong)), ConfigError);
  acc.add(at::log_softmax(at::zeros({2, 3}), 1), at::tensor({0, 1}, at::kLong));
  EXPECT_THROW(acc.finish(), ConfigError);  // 2 tokens < kMinDivergenceTokens
}

DivergenceMetrics make(double overlap, double drift, double kurtosis) {
  DivergenceMetrics m;
  m.support_overlap = overlap;
  m.drift = drift;
  m.kurtosis = kurtosis;
  return m;
}

TEST(RecommendDivergence, FollowsTheRule) {
  EXPECT_EQ(recommend_divergence(make(0.3, 0.2, 10.0)).divergence, "js");
  EXPECT_EQ(recommend_divergence(make(0.9, 2.0, 0.0)).divergence, "js");
  const auto renyi = recommend_divergence(make(0.9, 0.2, 5.0));
  EXPECT_EQ(renyi.divergence, "renyi");
  EXPECT_EQ(renyi.renyi_order, 0.9);
  const auto kl = recommend_divergence(make(0.9, 0.2, 1.0));
  EXPECT_EQ(kl.divergence, "kl");
  EXPECT_FALSE(kl.reasons.empty());
}

}  // namespace
}  // namespace dpok::select
