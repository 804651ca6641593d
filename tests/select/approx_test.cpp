#include "dpok/select/approx.h"

#include <gtest/gtest.h>

#include "dpok/core/error.h"

namespace dpok::select {
namespace {

constexpr double kSigma = 1.5;

at::Tensor rbf_log(const at::Tensor& u, const at::Tensor& v) {
  return -(u - v).pow(2).sum(1) / (2.0 * kSigma * kSigma);
}

double relative_error(const at::Tensor& approx, const at::Tensor& exact) {
  return ((approx - exact).norm() / exact.norm()).item<double>();
}

TEST(Approx, GramFromLogKernelMatchesClosedForm) {
  at::manual_seed(0);
  const auto x = at::randn({7, 3}, at::kDouble);
  const auto y = at::randn({5, 3}, at::kDouble);
  const auto gram = gram_from_log_kernel(rbf_log)(x, y);
  const auto exact = (-at::cdist(x, y).pow(2) / (2.0 * kSigma * kSigma)).exp();
  EXPECT_TRUE(at::allclose(gram, exact, 1e-10, 1e-12));
}

TEST(Approx, RandomFourierFeatureErrorShrinksWithFeatureCount) {
  at::manual_seed(1);
  const auto x = at::randn({120, 4}, at::kDouble);
  const auto exact = gram_from_log_kernel(rbf_log)(x, x);
  double previous = 1e9;
  for (std::int64_t d : {16, 128, 1024, 8192}) {
    const auto phi = rff_features(x, kSigma, d, /*seed=*/7);
    const double error = relative_error(phi.matmul(phi.t()), exact);
    EXPECT_LT(error, previous) << "D = " << d;
    previous = error;
  }
  EXPECT_LT(previous, 0.03);  // ~ 1/√D
  EXPECT_THROW(rff_features(x, 0.0, 8, 0), ConfigError);
}

TEST(Approx, NystromErrorShrinksWithLandmarksAndIsExactAtN) {
  at::manual_seed(2);
  const auto x = at::randn({150, 3}, at::kDouble);
  const auto gram = gram_from_log_kernel(rbf_log);
  const auto exact = gram(x, x);
  double previous = 1e9;
  for (std::int64_t m : {4, 16, 64, 150}) {
    const auto phi = nystrom_features(x, gram, m, /*seed=*/3);
    const double error = relative_error(phi.matmul(phi.t()), exact);
    EXPECT_LT(error, previous) << "landmarks = " << m;
    previous = error;
  }
  EXPECT_LT(previous, 1e-6);
  EXPECT_THROW(nystrom_features(x, gram, 0, 0), ConfigError);
  EXPECT_THROW(nystrom_features(x, gram, 151, 0), ConfigError);
}

TEST(Approx, MmdFromFeaturesApproachesExact) {
  at::manual_seed(3);
  const auto a = at::randn({200, 3}, at::kDouble);
  const auto b = at::randn({200, 3}, at::kDouble) + 0.5;
  const auto gram = gram_from_log_kernel(rbf_log);
  const double exact = mmd2_exact(gram, a, b);
  EXPECT_GT(exact, 0.0);
  const auto both = at::cat({a, b}, 0);
  const auto phi = rff_features(both, kSigma, 8192, 11);
  const double rff = mmd2_from_features(phi.slice(0, 0, 200), phi.slice(0, 200));
  EXPECT_NEAR(rff, exact, 0.15 * exact);
  const auto ny = nystrom_features(both, gram, 400, 5);
  EXPECT_NEAR(mmd2_from_features(ny.slice(0, 0, 200), ny.slice(0, 200)), exact, 1e-6);
  EXPECT_NEAR(mmd2_exact(gram, a, a), 0.0, 1e-12);
}

}  // namespace
}  // namespace dpok::select
