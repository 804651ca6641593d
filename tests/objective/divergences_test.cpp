#include "dpok/objective/divergences.h"

#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "dpok/core/error.h"
#include "gradcheck.h"

namespace dpok::objective {
namespace {

using testing::all_finite;
using testing::expect_gradients_match;
using testing::leaf;
using testing::with_grad;

const std::vector<Divergence> kDivergences = {
    Divergence::kKl,        Divergence::kReverseKl,     Divergence::kJs,
    Divergence::kHellinger, Divergence::kBhattacharyya, Divergence::kRenyi,
    Divergence::kTv};

// Closed forms over explicit probability vectors (objective.md §6 table).
double reference(Divergence d, const std::vector<double>& p, const std::vector<double>& q,
                 double a) {
  double s = 0;
  for (size_t i = 0; i < p.size(); ++i) {
    const double m = 0.5 * (p[i] + q[i]);
    switch (d) {
      case Divergence::kKl:
        s += p[i] * std::log(p[i] / q[i]);
        break;
      case Divergence::kReverseKl:
        s += q[i] * std::log(q[i] / p[i]);
        break;
      case Divergence::kJs:
        s += 0.5 * p[i] * std::log(p[i] / m) + 0.5 * q[i] * std::log(q[i] / m);
        break;
      case Divergence::kHellinger:
      case Divergence::kBhattacharyya:
        s += std::sqrt(p[i] * q[i]);
        break;
      case Divergence::kRenyi:
        s += std::pow(p[i], a) * std::pow(q[i], 1 - a);
        break;
      case Divergence::kTv:
        s += 0.5 * std::abs(p[i] - q[i]);
        break;
      case Divergence::kWasserstein:
        return NAN;
    }
  }
  if (d == Divergence::kHellinger) return 1 - s;
  if (d == Divergence::kBhattacharyya) return -std::log(s);
  if (d == Divergence::kRenyi) return std::log(s) / (a - 1);
  return s;
}

std::vector<double> row(const at::Tensor& logps, int64_t i) {
  std::vector<double> out;
  for (int64_t j = 0; j < logps.size(1); ++j) out.push_back(std::exp(logps[i][j].item<double>()));
  return out;
}

TEST(Divergences, MatchClosedFormsInFp64) {
  at::manual_seed(0);
  const auto lp = at::log_softmax(at::randn({4, 9}, at::kDouble) * 2, -1);
  const auto lq = at::log_softmax(at::randn({4, 9}, at::kDouble) * 2, -1);
  for (const Divergence d : kDivergences) {
    for (const double order : {0.9, 0.3, 2.5}) {
      if (d != Divergence::kRenyi && order != 0.9) continue;
      const auto got = distribution_divergence(d, lp, lq, order);
      for (int64_t i = 0; i < 4; ++i) {
        EXPECT_NEAR(got[i].item<double>(), reference(d, row(lp, i), row(lq, i), order), 1e-12)
            << to_string(d) << " order " << order;
      }
    }
  }
  EXPECT_THROW(distribution_divergence(Divergence::kWasserstein, lp, lq), ConfigError);
}

TEST(Divergences, InvariantsHoldForEveryDivergence) {
  at::manual_seed(1);
  // Random, near-one-hot and disjoint-support distributions.
  const auto lp = at::log_softmax(
      at::cat({at::randn({6, 12}, at::kDouble), at::randn({2, 12}, at::kDouble) * 300}), -1);
  auto lq_logits = at::randn({8, 12}, at::kDouble);
  lq_logits.narrow(0, 6, 2).copy_(-lp.narrow(0, 6, 2) * 5);  // opposite peaks
  const auto lq = at::log_softmax(lq_logits, -1);
  for (const Divergence d : kDivergences) {
    const auto same = distribution_divergence(d, lp, lp, 0.9);
    EXPECT_TRUE(at::allclose(same, at::zeros_like(same), 0, 1e-12)) << to_string(d) << same;
    const auto value = distribution_divergence(d, lp, lq, 0.9);
    EXPECT_TRUE(all_finite(value)) << to_string(d);
    EXPECT_TRUE((value >= 0).all().item<bool>()) << to_string(d) << value;
    if (d == Divergence::kJs) {
      EXPECT_TRUE((value <= std::log(2.0) + 1e-12).all().item<bool>());
    }
    if (d == Divergence::kTv || d == Divergence::kHellinger) {
      EXPECT_TRUE((value <= 1 + 1e-12).all().item<bool>()) << to_string(d) << value;
    }
  }
}

TEST(Divergences, GradientsMatchFiniteDifferencesForBothInputs) {
  at::manual_seed(2);
  auto lp = leaf(at::log_softmax(at::randn({2, 5}, at::kDouble), -1));
  auto lq = leaf(at::log_softmax(at::randn({2, 5}, at::kDouble), -1));
  for (const Divergence d : kDivergences) {
    expect_gradients_match([&] { return distribution_divergence(d, lp, lq, 0.7); }, {lp, lq}, 1e-6,
                           1e-6, to_string(d));
  }
}

TEST(Divergences, ZeroProbabilityTokensGiveFiniteValuesAndGradients) {
  const double inf = std::numeric_limits<double>::infinity();
  for (const auto dtype : {at::kFloat, at::kDouble}) {
    for (const Divergence d : kDivergences) {
      // One side puts zero mass on token 0 (log-prob −inf); near-one-hot on the other.
      const auto lp = with_grad(
          at::log_softmax(at::tensor({0.0, 1.0, 2.0, 900.0, 0.0, 0.0}, dtype).reshape({2, 3}), -1));
      const double half = std::log(0.5);
      const auto lq =
          with_grad(at::tensor({-inf, half, half, -inf, half, half}, dtype).reshape({2, 3}));
      for (const bool swap : {false, true}) {
        const auto value = swap ? distribution_divergence(d, lq, lp, 0.9)
                                : distribution_divergence(d, lp, lq, 0.9);
        EXPECT_TRUE(all_finite(value)) << to_string(d) << " swap " << swap << value;
        const auto grads = torch::autograd::grad({value.sum()}, std::vector<at::Tensor>{lp, lq});
        EXPECT_TRUE(all_finite(grads[0]) && all_finite(grads[1])) << to_string(d);
      }
    }
  }
}

}  // namespace
}  // namespace dpok::objective
