#include "dpok/objective/hmk.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "dpok/core/error.h"
#include "dpok/objective/semantic.h"
#include "gradcheck.h"

namespace dpok::objective {
namespace {

using testing::all_finite;
using testing::expect_gradients_match;
using testing::leaf;

Hmk make_hmk(int64_t dim) {
  KernelOptions options;
  options.mahalanobis_rank = 2;
  Hmk hmk(options, dim);
  hmk->to(at::kDouble);
  return hmk;
}

TEST(Hmk, LogKernelIsTheLogOfTheWeightedMixture) {
  at::manual_seed(0);
  const auto k1 = at::randn({5}, at::kDouble), k2 = at::randn({5}, at::kDouble),
             k3 = at::randn({5}, at::kDouble), k4 = at::randn({5}, at::kDouble);
  const auto eta_l = at::tensor({0.3, -0.2}, at::kDouble),
             eta_g = at::tensor({1.0, 0.5}, at::kDouble),
             eta_t = at::tensor({-0.4, 0.1}, at::kDouble);
  const auto got = hmk_log_kernel(k1, k2, k3, k4, eta_l, eta_g, eta_t);
  auto softmax2 = [](double a, double b) { return std::exp(a) / (std::exp(a) + std::exp(b)); };
  const double a1 = softmax2(0.3, -0.2), b1 = softmax2(1.0, 0.5), c1 = softmax2(-0.4, 0.1);
  for (int64_t i = 0; i < 5; ++i) {
    const double k =
        c1 * (a1 * std::exp(k1[i].item<double>()) + (1 - a1) * std::exp(k2[i].item<double>())) +
        (1 - c1) *
            (b1 * std::exp(k3[i].item<double>()) + (1 - b1) * std::exp(k4[i].item<double>()));
    EXPECT_NEAR(got[i].item<double>(), std::log(k), 1e-12);
  }
  // Stable where every component underflows: log K stays finite.
  const auto tiny = at::full({2}, -2e4, at::kDouble);
  EXPECT_TRUE(all_finite(hmk_log_kernel(tiny, tiny, tiny, tiny, eta_l, eta_g, eta_t)));
}

TEST(Hmk, StartsAtEqualWeightsWithZeroEntropyPenalty) {
  auto hmk = make_hmk(4);
  const auto w = hmk->weights();
  ASSERT_EQ(w.size(), 6u);
  for (const auto& [name, value] : w) EXPECT_DOUBLE_EQ(value.item<double>(), 0.5) << name;
  EXPECT_NEAR(hmk->entropy_penalty().item<double>(), 0.0, 1e-15);
  // 4 η + rbf scale + poly c, p + spectral (σ, logits, frequencies) + mahalanobis L.
  EXPECT_EQ(hmk->parameters().size(), 3u + 1u + 2u + 3u + 1u);
  EXPECT_THROW(Hmk(KernelOptions{}, 0), ConfigError);
}

TEST(Hmk, EntropyGapMatchesClosedFormAndGradient) {
  const auto eta = at::tensor({1.5, -0.5}, at::kDouble);
  const double w = 1 / (1 + std::exp(-2.0));
  const double entropy = -(w * std::log(w) + (1 - w) * std::log(1 - w));
  EXPECT_NEAR(mixture_entropy_gap(eta).item<double>(), std::log(2.0) - entropy, 1e-14);
  EXPECT_GT(mixture_entropy_gap(eta).item<double>(), 0);
  auto hmk = make_hmk(3);
  std::vector<at::Tensor> etas;
  for (const auto& item : hmk->named_parameters(/*recurse=*/false)) {
    item.value().detach().uniform_(-1, 1);
    etas.push_back(item.value());
  }
  ASSERT_EQ(etas.size(), 3u);
  expect_gradients_match([&] { return hmk->entropy_penalty(); }, etas, 1e-7, 1e-6, "entropy");
}

TEST(Hmk, MarginIsAntisymmetricAndDifferentiable) {
  at::manual_seed(1);
  auto hmk = make_hmk(4);
  for (auto& p : hmk->named_parameters(/*recurse=*/false)) p.value().detach().uniform_(-1, 1);
  auto x = leaf(at::randn({3, 4}, at::kDouble) * 0.5);
  auto pos = leaf(at::randn({3, 4}, at::kDouble) * 0.5);
  auto neg = leaf(at::randn({3, 4}, at::kDouble) * 0.5);
  EXPECT_TRUE(at::allclose(hmk->margin(x, pos, neg), -hmk->margin(x, neg, pos), 0, 1e-14));
  std::vector<at::Tensor> leaves = {x, pos, neg};
  for (const auto& p : hmk->parameters()) leaves.push_back(p);
  expect_gradients_match([&] { return hmk->margin(x, pos, neg); }, leaves, 1e-6, 1e-6, "hmk");
}

TEST(Hmk, ZeroNormEmbeddingsStayFinite) {
  auto hmk = make_hmk(3);
  auto raw = leaf(at::zeros({2, 3}, at::kDouble));
  const auto x = l2_normalize(raw);
  const auto m = hmk->margin(x, l2_normalize(at::randn({2, 3}, at::kDouble)), x);
  EXPECT_TRUE(all_finite(m));
  m.sum().backward();
  EXPECT_TRUE(all_finite(raw.grad()));
}

}  // namespace
}  // namespace dpok::objective
