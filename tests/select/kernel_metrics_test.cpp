#include "dpok/select/kernel_metrics.h"

#include <gtest/gtest.h>

#include <cmath>

#include "dpok/core/error.h"

namespace dpok::select {
namespace {

at::Tensor rbf(const at::Tensor& u, const at::Tensor& v) {
  return -(u - v).pow(2).sum(1) / 2.0;
}
at::Tensor linear(const at::Tensor& u, const at::Tensor& v) {
  return (u * v).sum(1);
}

TEST(KernelMetrics, MatchesDirectFormulas) {
  at::manual_seed(0);
  const auto x = at::randn({50, 4}, at::kDouble);
  const auto pos = x + 0.3 * at::randn({50, 4}, at::kDouble);
  const auto neg = at::randn({50, 4}, at::kDouble);
  const auto m = kernel_metrics("rbf", rbf, x, pos, neg);
  const auto margin = -(x - pos).pow(2).sum(1) / 2.0 + (x - neg).pow(2).sum(1) / 2.0;
  EXPECT_EQ(m.records, 50);
  EXPECT_NEAR(m.tat, (margin > 0).to(at::kDouble).mean().item<double>(), 1e-12);
  EXPECT_NEAR(m.pnav, margin.var(false).item<double>(), 1e-12);
  EXPECT_NEAR(m.nag, margin.mean().item<double>() / margin.std(false).item<double>(), 1e-12);
  // rbf is already normalised (K(u, u) = 1), so PND = mean(1 − K(e⁺, e⁻)).
  EXPECT_NEAR(m.pnd, (1.0 - (-(pos - neg).pow(2).sum(1) / 2.0).exp()).mean().item<double>(), 1e-12);
  EXPECT_GT(m.tat, 0.8);  // chosen are built near the prompt
  EXPECT_GT(m.nag, 0.0);
}

TEST(KernelMetrics, NormalisesTheLinearKernelForPnd) {
  // Unit vectors: K̃(u, v) = exp(uᵀv − 1) for the linear kernel with τ = 1.
  const auto pos = at::tensor({1.0, 0.0, 0.0, 1.0, 1.0, 0.0}, at::kDouble).reshape({3, 2});
  const auto neg = at::tensor({0.0, 1.0, 0.0, 1.0, -1.0, 0.0}, at::kDouble).reshape({3, 2});
  const auto x = at::tensor({1.0, 0.0, 0.5, 0.5, 0.0, 1.0}, at::kDouble).reshape({3, 2});
  const auto m = kernel_metrics("linear", linear, x, pos, neg);
  const double expected = (1.0 - std::exp(-1.0) + 0.0 + 1.0 - std::exp(-2.0)) / 3.0;
  EXPECT_NEAR(m.pnd, expected, 1e-12);
}

TEST(KernelMetrics, MarginAntisymmetryFlipsTatAndNag) {
  at::manual_seed(1);
  const auto x = at::randn({30, 3}, at::kDouble);
  const auto a = at::randn({30, 3}, at::kDouble);
  const auto b = at::randn({30, 3}, at::kDouble);
  const auto m = kernel_metrics("rbf", rbf, x, a, b);
  const auto swapped = kernel_metrics("rbf", rbf, x, b, a);
  EXPECT_NEAR(m.nag, -swapped.nag, 1e-12);
  EXPECT_NEAR(m.pnav, swapped.pnav, 1e-12);
  EXPECT_NEAR(m.pnd, swapped.pnd, 1e-12);
}

TEST(KernelMetrics, RejectsDegenerateInput) {
  const auto x = at::randn({5, 3}, at::kDouble);
  EXPECT_THROW(kernel_metrics("rbf", rbf, x, x, x), ConfigError);  // all margins 0
  EXPECT_THROW(kernel_metrics("rbf", rbf, x.slice(0, 0, 2), x.slice(0, 0, 2), x.slice(0, 0, 2)),
               ConfigError);
  EXPECT_THROW(kernel_metrics("rbf", rbf, x, x, at::randn({4, 3}, at::kDouble)), ConfigError);
}

TEST(KernelMetrics, LinearAndRbfShareTatOnUnitVectorsWithTies) {
  at::manual_seed(4);
  auto unit = [](at::Tensor x) { return x / x.norm(2, {1}, true); };
  const auto x = unit(at::randn({40, 6}, at::kDouble));
  auto pos = unit(at::randn({40, 6}, at::kDouble));
  auto neg = unit(at::randn({40, 6}, at::kDouble));
  neg.slice(0, 0, 15).copy_(pos.slice(0, 0, 15));  // 15 tied records: m = 0 up to rounding
  const auto lin = kernel_metrics("linear", linear, x, pos, neg);
  const auto rb = kernel_metrics("rbf", rbf, x, pos, neg);
  EXPECT_DOUBLE_EQ(lin.tat, rb.tat);
  EXPECT_LE(lin.tat, 25.0 / 40.0);
  EXPECT_NEAR(lin.nag, rb.nag, 1e-9);
}

KernelMetrics make(const std::string& name, double nag, double pnav, double tat) {
  KernelMetrics m;
  m.kernel = name;
  m.nag = nag;
  m.pnav = pnav;
  m.tat = tat;
  return m;
}

TEST(RecommendKernel, NonPositiveNagTurnsTheTermOff) {
  const auto r = recommend_kernel({make("rbf", -0.11, 1.0, 0.45), make("linear", -0.2, 2, 0.4)});
  EXPECT_EQ(r.kernel, "none");
  EXPECT_EQ(r.gamma, 0.0);
  ASSERT_FALSE(r.reasons.empty());
  EXPECT_NE(r.reasons[0].find("NAG"), std::string::npos);
}

TEST(RecommendKernel, PicksHmkWhenTopTwoAreCloseAndVaried) {
  const auto r = recommend_kernel({make("rbf", 0.50, 3.0, 0.7), make("spectral", 0.47, 4.0, 0.7),
                                   make("linear", 0.2, 0.1, 0.6), make("poly", 0.1, 0.2, 0.6)});
  EXPECT_EQ(r.kernel, "hmk");
  EXPECT_EQ(r.gamma, kDefaultGamma);
}

TEST(RecommendKernel, PicksBestKernelAndCapsGammaOnWeakTat) {
  const auto r = recommend_kernel({make("rbf", 0.50, 3.0, 0.52), make("spectral", 0.30, 4.0, 0.5),
                                   make("linear", 0.2, 0.1, 0.5)});
  EXPECT_EQ(r.kernel, "rbf");
  EXPECT_EQ(r.gamma, kWeakSignalGamma);
  // Close NAG but low PNAV: no HMK.
  const auto low = recommend_kernel({make("rbf", 0.50, 0.1, 0.7), make("spectral", 0.49, 0.2, 0.7),
                                     make("linear", 0.2, 5.0, 0.6)});
  EXPECT_EQ(low.kernel, "rbf");
  EXPECT_THROW(recommend_kernel({}), ConfigError);
}

}  // namespace
}  // namespace dpok::select
