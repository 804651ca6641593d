#include "dpok/objective/score_maps.h"

#include <gtest/gtest.h>

#include <cmath>

#include "gradcheck.h"

namespace dpok::objective {
namespace {

using testing::all_finite;
using testing::expect_gradients_match;
using testing::leaf;
using testing::with_grad;

TEST(ScoreMaps, MatchClosedForms) {
  at::manual_seed(0);
  const auto r = at::randn({64}, at::kDouble) * 4;
  const auto fkl = forward_kl_score(r), js = js_score(r), a3 = alpha_score(r, 0.3),
             hel = apply_score_map(ScoreMap::kHellinger, r);
  for (int64_t i = 0; i < 64; ++i) {
    const double x = r[i].item<double>();
    EXPECT_NEAR(fkl[i].item<double>(), -std::exp(-x), 1e-12 * (1 + std::exp(-x)));
    // log(2u/(1+u)) − log 2 with u = e^r.
    const double u = std::exp(x);
    EXPECT_NEAR(js[i].item<double>(), std::log(2 * u / (1 + u)) - std::log(2.0), 1e-12);
    EXPECT_NEAR(a3[i].item<double>(), (std::pow(u, 0.3 - 1) - 1) / (0.3 - 1), 1e-9);
    EXPECT_NEAR(hel[i].item<double>(), (std::pow(u, -0.5) - 1) / -0.5, 1e-9);
  }
}

TEST(ScoreMaps, ReverseKlIsTheIdentityAndAlphaApproachesIt) {
  const auto r = at::randn({16}, at::kDouble);
  EXPECT_TRUE(apply_score_map(ScoreMap::kReverseKl, r).is_same(r));
  EXPECT_TRUE(at::allclose(alpha_score(r, 1 - 1e-7), r, 1e-5, 1e-6));
}

TEST(ScoreMaps, GradientsMatchFiniteDifferences) {
  at::manual_seed(1);
  auto r = leaf(at::randn({6}, at::kDouble) * 2);
  for (const ScoreMap map : {ScoreMap::kReverseKl, ScoreMap::kForwardKl, ScoreMap::kJs,
                             ScoreMap::kAlpha, ScoreMap::kHellinger}) {
    expect_gradients_match([&] { return apply_score_map(map, r, 0.3); }, {r}, 1e-6, 1e-6,
                           "score map " + std::to_string(static_cast<int>(map)));
  }
}

TEST(ScoreMaps, StayFiniteForExtremeLogRatios) {
  for (const ScoreMap map :
       {ScoreMap::kForwardKl, ScoreMap::kJs, ScoreMap::kAlpha, ScoreMap::kHellinger}) {
    auto r = with_grad(at::tensor({1e4, -1e4, 0.0}, at::kFloat));
    const auto s = apply_score_map(map, r, 0.5);
    EXPECT_TRUE(all_finite(s)) << s;
    s.sum().backward();
    EXPECT_TRUE(all_finite(r.grad())) << r.grad();
  }
}

}  // namespace
}  // namespace dpok::objective
