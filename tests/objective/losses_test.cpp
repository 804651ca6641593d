#include "dpok/objective/losses.h"

#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <vector>

#include "dpok/core/error.h"
#include "gradcheck.h"
#include "support/testing.h"

namespace dpok::objective {
namespace {

using ::dpok::testing::throws_with;
using testing::all_finite;
using testing::expect_gradients_match;
using testing::leaf;
using testing::with_grad;

// Independent scalar references (objective.md §1), written from the formulas, not from losses.cpp.
double log_sig(double x) {
  return x < 0 ? x - std::log1p(std::exp(x)) : -std::log1p(std::exp(-x));
}
double sig(double x) {
  return 1.0 / (1.0 + std::exp(-x));
}

struct Pair {
  double sp, sn, rp, rn, lp, ln, m, nll;
};

double reference_loss(LossType type, const Pair& x, double beta, double eps, double tau) {
  const double z = beta * (x.sp - x.sn) + x.m;
  const double dbar = x.sp / x.lp - x.sn / x.ln;
  switch (type) {
    case LossType::kSigmoid:
      return -(1 - eps) * log_sig(z) - eps * log_sig(-z);
    case LossType::kRobust:
      return (-(1 - eps) * log_sig(z) + eps * log_sig(-z)) / (1 - 2 * eps);
    case LossType::kHinge:
      return std::max(0.0, 1 - z);
    case LossType::kIpo:
      return std::pow(dbar + x.m - 1 / (2 * beta), 2);
    case LossType::kSigmoidNorm:
      return -log_sig(beta * dbar + x.m);
    case LossType::kExoPair:
      return sig(z) * (log_sig(z) - std::log(1 - eps)) + sig(-z) * (log_sig(-z) - std::log(eps));
    case LossType::kNcaPair:
      return -log_sig(beta * x.sp) - 0.5 * log_sig(-beta * x.sp) - 0.5 * log_sig(-beta * x.sn);
    case LossType::kBcoPair:
      return -log_sig(beta * x.sp) - log_sig(-beta * x.sn);
    case LossType::kSppoHard:
      return std::pow(x.sp - 1 / (2 * beta), 2) + std::pow(x.sn + 1 / (2 * beta), 2);
    case LossType::kApoZero:
      return (1 - sig(beta * x.rp)) + sig(beta * x.rn);
    case LossType::kApoDown:
      return sig(beta * x.rp) + (1 - sig(z));
    case LossType::kDiscopop: {
      const double mod = sig(z / tau);
      return (1 - mod) * (-log_sig(z)) + mod * std::exp(-z);
    }
    case LossType::kSft:
      return x.nll;
    case LossType::kAot:  // not per pair (the batch is sorted): see the Aot tests
    case LossType::kAotUnpaired:
      break;
  }
  return NAN;
}

const std::vector<LossType> kAllLosses = {
    LossType::kSigmoid,     LossType::kRobust,  LossType::kHinge,      LossType::kIpo,
    LossType::kSigmoidNorm, LossType::kExoPair, LossType::kNcaPair,    LossType::kBcoPair,
    LossType::kSppoHard,    LossType::kApoZero, LossType::kApoDown,    LossType::kDiscopop,
    LossType::kSft,         LossType::kAot,     LossType::kAotUnpaired};

bool sorts_the_batch(LossType type) {
  return type == LossType::kAot || type == LossType::kAotUnpaired;
}

struct Batch {
  LossTerms terms;
  std::vector<Pair> pairs;
};

// Random fp64 pairs; `with_margin` adds a γ·m term.
Batch random_batch(int64_t b, bool with_margin, uint64_t seed) {
  at::manual_seed(seed);
  Batch batch;
  auto& t = batch.terms;
  t.chosen_scores = at::randn({b}, at::kDouble) * 3;
  t.rejected_scores = at::randn({b}, at::kDouble) * 3;
  t.chosen_logratios = at::randn({b}, at::kDouble) * 3;
  t.rejected_logratios = at::randn({b}, at::kDouble) * 3;
  t.chosen_lengths = at::randint(1, 40, {b}, at::kLong);
  t.rejected_lengths = at::randint(1, 40, {b}, at::kLong);
  t.chosen_nll = at::rand({b}, at::kDouble) * 4;
  t.policy_logratios = at::randn({b}, at::kDouble) * 3;
  t.ref_logratios = at::randn({b}, at::kDouble) * 3;
  if (with_margin) t.margin = at::randn({b}, at::kDouble) * 0.3;
  for (int64_t i = 0; i < b; ++i) {
    batch.pairs.push_back(
        {t.chosen_scores[i].item<double>(), t.rejected_scores[i].item<double>(),
         t.chosen_logratios[i].item<double>(), t.rejected_logratios[i].item<double>(),
         t.chosen_lengths[i].item<double>(), t.rejected_lengths[i].item<double>(),
         with_margin ? t.margin[i].item<double>() : 0.0, t.chosen_nll[i].item<double>()});
  }
  return batch;
}

TEST(Losses, EachLossMatchesClosedFormInFp64) {
  for (const LossType type : kAllLosses) {
    if (sorts_the_batch(type)) continue;
    for (const bool with_margin : {false, true}) {
      if (with_margin && !loss_takes_margin(type)) continue;
      const Batch batch = random_batch(32, with_margin, 7);
      LossOptions options;
      options.beta = 0.3;
      options.discopop_tau = 0.05;
      // Label smoothing where the loss uses it; exo_pair requires ε > 0.
      options.label_smoothing =
          (type == LossType::kSigmoid || type == LossType::kRobust || type == LossType::kExoPair)
              ? 0.1
              : 0.0;
      const auto got = preference_loss(type, batch.terms, options);
      ASSERT_EQ(got.sizes(), at::IntArrayRef({32}));
      for (int64_t i = 0; i < 32; ++i) {
        const double want = reference_loss(type, batch.pairs[i], options.beta,
                                           options.label_smoothing, options.discopop_tau);
        EXPECT_NEAR(got[i].item<double>(), want, 1e-12 * (1 + std::abs(want)))
            << to_string(type) << " pair " << i << " margin " << with_margin;
      }
    }
  }
}

TEST(Losses, SigmoidWithoutSmoothingIsPlainDpo) {
  const Batch batch = random_batch(16, false, 3);
  const auto z = (batch.terms.chosen_scores - batch.terms.rejected_scores) * 0.1;
  EXPECT_TRUE(at::equal(sigmoid_loss(z), -at::log_sigmoid(z)));
  const auto pc = at::randn({16}, at::kDouble), pr = at::randn({16}, at::kDouble);
  const auto rc = at::randn({16}, at::kDouble), rr = at::randn({16}, at::kDouble);
  const auto dpo = dpo_loss(pc, pr, rc, rr, 0.1);
  for (int64_t i = 0; i < 16; ++i) {
    const double h = (pc[i].item<double>() - rc[i].item<double>()) -
                     (pr[i].item<double>() - rr[i].item<double>());
    EXPECT_NEAR(dpo[i].item<double>(), -log_sig(0.1 * h), 1e-13);
  }
}

TEST(Losses, PolicyEqualToReferenceGivesLogTwo) {
  const auto logps = at::randn({8}, at::kDouble) * 50;
  const auto other = at::randn({8}, at::kDouble) * 50;
  const auto loss = dpo_loss(logps, other, logps, other, 0.1);
  for (int64_t i = 0; i < 8; ++i) EXPECT_DOUBLE_EQ(loss[i].item<double>(), std::log(2.0));
}

// Hand-computed: policy log-ratios ℓθ(y⁺) − ℓθ(y⁻) = [2, −3, 0.5] sort to [−3, 0.5, 2], the
// reference's [−1, 1, 0] to [−1, 0, 1]; δ = [−2, 0.5, 1], z = β·δ = [−1, 0.25, 0.5] at β = 0.5.
TEST(Losses, AotComparesTheSortedLogRatios) {
  const auto policy = at::tensor({2.0, -3.0, 0.5}, at::kDouble);
  const auto ref = at::tensor({-1.0, 1.0, 0.0}, at::kDouble);
  const double z[3] = {-1.0, 0.25, 0.5};
  for (const double eps : {0.0, 0.1}) {
    const auto loss = aot_loss(policy, ref, 0.5, eps);
    ASSERT_EQ(loss.sizes(), at::IntArrayRef({3}));
    for (int64_t i = 0; i < 3; ++i) {
      const double want =
          (1 - eps) * std::log1p(std::exp(-z[i])) + eps * std::log1p(std::exp(z[i]));
      EXPECT_NEAR(loss[i].item<double>(), want, 1e-14) << "eps " << eps << " rank " << i;
    }
  }
  // Unsorted, the same pairs give DPO's z = β·[3, −4, 0.5]: sorting is what aot adds.
  const auto dpo = sigmoid_loss((policy - ref) * 0.5);
  EXPECT_GT(std::abs(dpo.mean().item<double>() - aot_loss(policy, ref, 0.5).mean().item<double>()),
            0.1);
  // The batch is a set: permuting its pairs changes nothing.
  const auto order = at::tensor({2, 0, 1}, at::kLong);
  EXPECT_TRUE(at::equal(aot_loss(policy.index_select(0, order), ref.index_select(0, order), 0.5),
                        aot_loss(policy, ref, 0.5)));
  // Through the dispatcher, from the terms the Objective fills.
  LossTerms t;
  t.chosen_scores = t.rejected_scores = at::zeros({3}, at::kDouble);
  t.policy_logratios = policy;
  t.ref_logratios = ref;
  LossOptions options;
  options.beta = 0.5;
  EXPECT_TRUE(at::equal(preference_loss(LossType::kAot, t, options), aot_loss(policy, ref, 0.5)));
}

// Hand-computed: r⁺ = [0.3, −1.2, 2] sorts to [−1.2, 0.3, 2], r⁻ = [1, −0.5, −2] to [−2, −0.5, 1];
// δ = [0.8, 0.8, 1], z = [0.4, 0.4, 0.5] at β = 0.5.
TEST(Losses, AotUnpairedComparesSortedChosenWithSortedRejected) {
  LossTerms t;
  t.chosen_logratios = at::tensor({0.3, -1.2, 2.0}, at::kDouble);
  t.rejected_logratios = at::tensor({1.0, -0.5, -2.0}, at::kDouble);
  t.chosen_scores = t.chosen_logratios;
  t.rejected_scores = t.rejected_logratios;
  LossOptions options;
  options.beta = 0.5;
  options.label_smoothing = 0.2;
  const auto loss = preference_loss(LossType::kAotUnpaired, t, options);
  const double z[3] = {0.4, 0.4, 0.5};
  for (int64_t i = 0; i < 3; ++i) {
    const double want = 0.8 * std::log1p(std::exp(-z[i])) + 0.2 * std::log1p(std::exp(z[i]));
    EXPECT_NEAR(loss[i].item<double>(), want, 1e-14) << "rank " << i;
  }
}

TEST(Losses, GradientsMatchFiniteDifferences) {
  for (const LossType type : kAllLosses) {
    const bool with_margin = loss_takes_margin(type);
    Batch batch = random_batch(4, with_margin, 5);
    auto& t = batch.terms;
    std::vector<at::Tensor> leaves = {t.chosen_scores = leaf(t.chosen_scores),
                                      t.rejected_scores = leaf(t.rejected_scores),
                                      t.chosen_logratios = leaf(t.chosen_logratios),
                                      t.rejected_logratios = leaf(t.rejected_logratios),
                                      t.chosen_nll = leaf(t.chosen_nll),
                                      t.policy_logratios = leaf(t.policy_logratios),
                                      t.ref_logratios = leaf(t.ref_logratios)};
    if (with_margin) leaves.push_back(t.margin = leaf(t.margin));
    LossOptions options;
    options.beta = 0.5;
    options.discopop_tau = 0.5;  // a wider τ keeps the modulation smooth at the FD step
    options.label_smoothing = type == LossType::kExoPair ? 0.05 : 0.0;
    if (type == LossType::kHinge) {  // keep away from the kink at z = 1
      t.margin.detach().fill_(0.0);
      t.chosen_scores.detach().copy_(at::tensor({5.0, -3.0, 9.0, -6.0}, at::kDouble));
    }
    expect_gradients_match([&] { return preference_loss(type, t, options); }, leaves, 1e-6, 1e-6,
                           to_string(type));
  }
}

TEST(Losses, FiniteForExtremeLogRatiosInFp32) {
  for (const LossType type : kAllLosses) {
    for (const double sign : {1.0, -1.0}) {
      LossTerms t;
      t.chosen_scores = with_grad(at::tensor({1e4, -1e4, 1e4, 0.0}, at::kFloat) * sign);
      t.rejected_scores = with_grad(at::tensor({-1e4, 1e4, 1e4, 1e4}, at::kFloat) * sign);
      t.chosen_logratios = t.chosen_scores;
      t.rejected_logratios = t.rejected_scores;
      t.policy_logratios = t.chosen_scores - t.rejected_scores;
      t.ref_logratios = at::zeros({4}, at::kFloat);
      t.chosen_lengths = at::tensor({1, 3, 1000, 7});
      t.rejected_lengths = at::tensor({2, 1, 5, 9});
      t.chosen_nll = at::full({4}, 3.0, at::kFloat);
      LossOptions options;
      options.label_smoothing = type == LossType::kExoPair || type == LossType::kRobust ? 0.1 : 0;
      const auto loss = preference_loss(type, t, options);
      EXPECT_TRUE(all_finite(loss)) << to_string(type) << " sign " << sign << ": " << loss;
      if (type == LossType::kSft) continue;
      const auto grads = torch::autograd::grad({loss.sum()}, {t.chosen_scores, t.rejected_scores},
                                               {}, false, false, /*allow_unused=*/true);
      for (const auto& g : grads) {
        if (g.defined()) {
          EXPECT_TRUE(all_finite(g)) << to_string(type) << ": " << g;
        }
      }
    }
  }
}

TEST(Losses, MissingTermsAndMisplacedMarginsAreReported) {
  Batch batch = random_batch(4, false, 1);
  batch.terms.chosen_nll = at::Tensor();
  EXPECT_TRUE(throws_with<ConfigError>([&] { preference_loss(LossType::kSft, batch.terms, {}); },
                                       {"loss 'sft' needs chosen_nll_mean"}));
  batch.terms.margin = at::zeros({4}, at::kDouble);
  for (const LossType type : {LossType::kNcaPair, LossType::kAot, LossType::kAotUnpaired}) {
    const auto fragment = fmt::format("'{}' cannot take the semantic margin", to_string(type));
    EXPECT_TRUE(
        throws_with<ConfigError>([&] { preference_loss(type, batch.terms, {}); }, {fragment}));
  }
  batch.terms.margin = at::Tensor();
  batch.terms.ref_logratios = at::Tensor();
  EXPECT_TRUE(throws_with<ConfigError>([&] { preference_loss(LossType::kAot, batch.terms, {}); },
                                       {"loss 'aot' needs reference log-ratios"}));
  batch.terms.chosen_lengths = at::Tensor();
  EXPECT_TRUE(throws_with<ConfigError>([&] { preference_loss(LossType::kIpo, batch.terms, {}); },
                                       {"loss 'ipo' needs chosen_lengths"}));
}

}  // namespace
}  // namespace dpok::objective
