#include "dpok/eval/stats.h"

#include <gtest/gtest.h>

#include <random>

#include "dpok/core/error.h"

namespace dpok::eval {
namespace {

TEST(Bootstrap, IntervalContainsMeanAndIsSeeded) {
  std::mt19937_64 g(7);
  std::normal_distribution<double> normal(2.0, 1.0);
  std::vector<double> values(400);
  for (auto& v : values) v = normal(g);
  const auto a = bootstrap_mean(values, {.resamples = 500, .confidence = 0.95, .seed = 3});
  const auto b = bootstrap_mean(values, {.resamples = 500, .confidence = 0.95, .seed = 3});
  EXPECT_EQ(a.lower, b.lower);
  EXPECT_EQ(a.upper, b.upper);
  EXPECT_LT(a.lower, a.estimate);
  EXPECT_GT(a.upper, a.estimate);
  // Normal theory: half-width ≈ 1.96 σ/√n = 0.098; the bootstrap agrees within 25%.
  const double half = (a.upper - a.lower) / 2.0;
  EXPECT_NEAR(half, 1.96 / 20.0, 0.025);
}

TEST(Bootstrap, RejectsTooFewAndNonFinite) {
  const std::vector<double> one{1.0};
  EXPECT_THROW(bootstrap_mean(one, {}), ConfigError);
  const std::vector<double> bad{1.0, std::nan("")};
  EXPECT_THROW(bootstrap_mean(bad, {}), ConfigError);
  const std::vector<double> ok{1.0, 2.0};
  EXPECT_THROW(bootstrap_mean(ok, {.resamples = 0}), ConfigError);
  EXPECT_THROW(bootstrap_mean(ok, {.confidence = 1.0}), ConfigError);
}

TEST(RewardMetrics, MatchesHandComputedValues) {
  PairLogps logps;
  logps.policy_chosen = {-10.0, -12.0, -8.0, -9.0};
  logps.policy_rejected = {-11.0, -11.0, -9.0, -9.0};
  logps.reference_chosen = {-10.5, -11.0, -8.0, -9.0};
  logps.reference_rejected = {-10.5, -11.5, -8.5, -9.0};
  // r+ = {0.5, -1, 0, 0}, r- = {-0.5, 0.5, -0.5, 0}; margins β·{1, -1.5, 0.5, 0}.
  const auto m = reward_metrics(logps, 0.1, {.resamples = 200});
  EXPECT_EQ(m.pairs, 4u);
  EXPECT_DOUBLE_EQ(m.accuracy.estimate, 0.5);  // the tie (pair 4) is not counted as correct
  EXPECT_NEAR(m.margin.estimate, 0.1 * 0.0 / 4.0, 1e-12);
  EXPECT_NEAR(m.chosen_reward.estimate, 0.1 * (-0.5) / 4.0, 1e-12);
  EXPECT_NEAR(m.rejected_reward.estimate, 0.1 * (-0.5) / 4.0, 1e-12);
  EXPECT_NEAR(m.chosen_logps.estimate, -39.0 / 4.0, 1e-12);
  EXPECT_LE(m.accuracy.lower, 0.5);
  EXPECT_GE(m.accuracy.upper, 0.5);
}

TEST(RewardMetrics, PolicyEqualToReferenceHasZeroAccuracy) {
  PairLogps logps;
  logps.policy_chosen = logps.reference_chosen = {-1.0, -2.0, -3.0};
  logps.policy_rejected = logps.reference_rejected = {-2.0, -1.0, -3.0};
  const auto m = reward_metrics(logps, 0.1, {});
  EXPECT_EQ(m.accuracy.estimate, 0.0);
  EXPECT_EQ(m.accuracy.upper, 0.0);
  EXPECT_EQ(m.margin.estimate, 0.0);
}

TEST(RewardMetrics, RejectsMismatchedAndTooFew) {
  PairLogps logps;
  logps.policy_chosen = {-1.0, -2.0};
  logps.policy_rejected = {-1.0};
  logps.reference_chosen = {-1.0, -2.0};
  logps.reference_rejected = {-1.0, -2.0};
  EXPECT_THROW(reward_metrics(logps, 0.1, {}), ConfigError);
  logps.policy_chosen = logps.policy_rejected = logps.reference_chosen =
      logps.reference_rejected = {-1.0};
  try {
    reward_metrics(logps, 0.1, {});
    FAIL() << "expected ConfigError";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("too few records for reward accuracy"), std::string::npos)
        << e.what();
  }
  EXPECT_THROW(reward_metrics({}, 0.0, {}), ConfigError);
}

TEST(PairedDifference, DetectsAConsistentImprovement) {
  std::vector<double> a(200, 0.0), b(200, 0.0);
  for (std::size_t i = 0; i < a.size(); ++i) {
    a[i] = i % 2 == 0 ? 1.0 : 0.0;  // accuracy 0.5
    b[i] = i % 4 != 3 ? 1.0 : 0.0;  // accuracy 0.75
  }
  const auto d = paired_difference(a, b, {.resamples = 500});
  EXPECT_DOUBLE_EQ(d.estimate, 0.25);
  EXPECT_GT(d.lower, 0.0);
  EXPECT_LT(d.upper, 0.5);
  EXPECT_THROW(paired_difference(a, std::vector<double>(3, 0.0), {}), ConfigError);
}

}  // namespace
}  // namespace dpok::eval
