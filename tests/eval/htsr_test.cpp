#include "dpok/eval/htsr.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "dpok/core/error.h"
#include "support/python_oracle.h"

namespace dpok::eval {
namespace {

// A direct, independent (numpy, brute-force) Clauset–Shalizi–Newman estimator.
constexpr const char* kCsnScript = R"(
import json, sys
import numpy as np
d = json.load(sys.stdin)
out = []
for sample in d["samples"]:
    x = np.sort(np.array(sample, dtype=np.float64))
    best = None
    for xmin in np.unique(x):
        tail = x[x >= xmin]
        k = len(tail)
        if k < d["min_tail"]:
            break
        s = np.sum(np.log(tail / xmin))
        if s <= 0:
            continue
        a = 1.0 + k / s
        cdf = 1.0 - (tail / xmin) ** (1.0 - a)
        hi = np.arange(1, k + 1) / k
        lo = np.arange(0, k) / k
        ks = max(np.max(np.abs(hi - cdf)), np.max(np.abs(lo - cdf)))
        if best is None or ks < best[2]:
            best = (a, xmin, ks, k)
    out.append({"alpha": best[0], "xmin": best[1], "ks": best[2], "k": best[3]})
json.dump(out, sys.stdout)
)";

// Pareto samples with density ∝ x^(−alpha) above 1, plus a non-power-law bulk below it so the
// estimator has to find xmin.
std::vector<double> pareto_with_bulk(double alpha, std::size_t n, std::uint64_t seed) {
  std::mt19937_64 g(seed);
  std::uniform_real_distribution<double> u(0.0, 1.0);
  std::vector<double> x;
  for (std::size_t i = 0; i < n; ++i) x.push_back(std::pow(1.0 - u(g), -1.0 / (alpha - 1.0)));
  for (std::size_t i = 0; i < n / 2; ++i) x.push_back(0.2 + 0.7 * u(g));
  return x;
}

TEST(PowerLaw, RecoversKnownAlpha) {
  for (double alpha : {2.5, 3.5}) {
    const auto fit = fit_power_law(pareto_with_bulk(alpha, 4000, 5));
    EXPECT_NEAR(fit.alpha, alpha, 0.15 * alpha) << "alpha " << alpha;
    EXPECT_GT(fit.xmin, 0.85);  // the bulk (≤ 0.9) is excluded
    EXPECT_LT(fit.ks_distance, 0.05);
  }
}

TEST(PowerLaw, MatchesDirectCsnImplementation) {
  DPOK_REQUIRE_PYTHON("numpy");
  std::vector<std::vector<double>> samples{pareto_with_bulk(2.5, 1500, 1),
                                           pareto_with_bulk(3.5, 1500, 2),
                                           pareto_with_bulk(5.0, 300, 3)};
  nlohmann::json input{{"samples", samples}, {"min_tail", kMinTailSize}};
  const auto reference = testing::run_python(kCsnScript, input);
  ASSERT_TRUE(reference.has_value() && reference->is_array()) << "numpy reference failed";
  for (std::size_t i = 0; i < samples.size(); ++i) {
    SCOPED_TRACE(i);
    const auto fit = fit_power_law(samples[i]);
    const auto& want = (*reference)[i];
    EXPECT_NEAR(fit.alpha, want["alpha"].get<double>(), 1e-9);
    EXPECT_NEAR(fit.xmin, want["xmin"].get<double>(), 1e-12);
    EXPECT_NEAR(fit.ks_distance, want["ks"].get<double>(), 1e-9);
    EXPECT_EQ(fit.tail_size, want["k"].get<std::size_t>());
  }
}

TEST(PowerLaw, RejectsTooFewOrConstantValues) {
  EXPECT_THROW(fit_power_law({1.0, 2.0, 3.0}), ConfigError);
  EXPECT_THROW(fit_power_law(std::vector<double>(50, 2.0)), ConfigError);
  std::vector<double> with_zeros(8, 0.0);
  with_zeros.push_back(1.0);
  EXPECT_THROW(fit_power_law(with_zeros), ConfigError);
}

TEST(SpectralDensity, IsEigenvaluesOfGramOverRows) {
  at::manual_seed(0);
  const auto w = at::randn({12, 30}, at::kDouble);  // transposed to 30 × 12
  const auto eig = spectral_density(w);
  ASSERT_EQ(eig.numel(), 12);
  const auto direct = std::get<0>(at::linalg_eigvalsh(w.matmul(w.t()) / 30.0).sort());
  EXPECT_TRUE(at::allclose(eig, direct, 1e-9, 1e-12));
  EXPECT_THROW(spectral_density(at::randn({3})), ConfigError);
}

TEST(AnalyzeWeights, WeightedAlphaIsMeanOfAlphaTimesLogLambdaMax) {
  at::manual_seed(1);
  std::vector<std::pair<std::string, at::Tensor>> weights{{"a.weight", at::randn({200, 64})},
                                                          {"b.weight", at::randn({64, 300}) * 3.0},
                                                          {"norm.weight", at::randn({64})},
                                                          {"tiny.weight", at::randn({4, 64})}};
  const auto summary = analyze_weights(weights);
  ASSERT_EQ(summary.layers.size(), 2u);
  ASSERT_EQ(summary.skipped.size(), 1u);
  EXPECT_NE(summary.skipped[0].find("tiny.weight"), std::string::npos);
  double expected = 0.0;
  for (const auto& layer : summary.layers) {
    expected += layer.fit.alpha * std::log10(layer.lambda_max) / 2.0;
    EXPECT_EQ(layer.flagged, layer.fit.alpha < 2.0);
    EXPECT_EQ(layer.cols, 64);
  }
  EXPECT_NEAR(summary.weighted_alpha, expected, 1e-12);
  EXPECT_EQ(summary.layers[1].rows, 300);
  EXPECT_THROW(analyze_weights({{"v", at::randn({5})}}), ConfigError);
}

}  // namespace
}  // namespace dpok::eval
