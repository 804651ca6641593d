#include "dpok/objective/losses.h"

#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <vector>

#include "dpok/core/error.h"
#include "gradcheck.h"

namespace dpok::objective {
namespace {

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
    case LossType::kAot:  // not in kAllLosses: covered by their own tests
    case LossType::kAotUnpaired:
      break;
  }
  return NAN;
}

const std::vector<LossType> kAllLosses = {
    LossType::kSigmoid,     LossType::kRobust,  LossType::kHinge,   LossType::kIpo,
    LossType::kSigmoidNorm, LossType::kExoPair, LossType::kNcaPair, LossType::kBcoPair,
    LossType::kSppoHard,    LossType::kApoZero, LossType::kApoDown, LossType::kDiscopop,
    LossType::kSft};

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

TEST(Losses, CombinationIsTheWeightedSum) {
  const Batch batch = random_batch(16, false, 11);
  LossOptions options;
  const auto rpo =
      combined_loss({{LossType::kSigmoid, 1.0}, {LossType::kSft, 0.2}}, batch.terms, options);
  for (int64_t i = 0; i < 16; ++i) {
    const double want =
        reference_loss(LossType::kSigmoid, batch.pairs[i], 0.1, 0, 0.05) + 0.2 * batch.pairs[i].nll;
    EXPECT_NEAR(rpo[i].item<double>(), want, 1e-12);
  }
  const auto three =
      combined_loss({{LossType::kHinge, 0.5}, {LossType::kIpo, 2.0}, {LossType::kApoZero, 1.5}},
                    batch.terms, options);
  for (int64_t i = 0; i < 16; ++i) {
    const auto& x = batch.pairs[i];
    const double want = 0.5 * reference_loss(LossType::kHinge, x, 0.1, 0, 0.05) +
                        2.0 * reference_loss(LossType::kIpo, x, 0.1, 0, 0.05) +
                        1.5 * reference_loss(LossType::kApoZero, x, 0.1, 0, 0.05);
    EXPECT_NEAR(three[i].item<double>(), want, 1e-10 * (1 + std::abs(want)));
  }
  // A single unit weight is bit-identical to the loss itself.
  EXPECT_TRUE(at::equal(combined_loss({{LossType::kSigmoid, 1.0}}, batch.terms, options),
                        preference_loss(LossType::kSigmoid, batch.terms, options)));
}

TEST(Losses, GradientsMatchFiniteDifferences) {
  for (const LossType type : kAllLosses) {
    const bool with_margin = loss_takes_margin(type);
    Batch batch = random_batch(4, with_margin, 5);
    auto& t = batch.terms;
    std::vector<at::Tensor> leaves = {
        t.chosen_scores = leaf(t.chosen_scores), t.rejected_scores = leaf(t.rejected_scores),
        t.chosen_logratios = leaf(t.chosen_logratios),
        t.rejected_logratios = leaf(t.rejected_logratios), t.chosen_nll = leaf(t.chosen_nll)};
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
  try {
    preference_loss(LossType::kSft, batch.terms, {});
    FAIL() << "sft without NLL accepted";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("loss 'sft' needs chosen_nll_mean"), std::string::npos)
        << e.what();
  }
  batch.terms.margin = at::zeros({4}, at::kDouble);
  try {
    preference_loss(LossType::kNcaPair, batch.terms, {});
    FAIL() << "margin accepted by nca_pair";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("'nca_pair' cannot take the semantic margin"),
              std::string::npos)
        << e.what();
  }
  batch.terms.margin = at::Tensor();
  batch.terms.chosen_lengths = at::Tensor();
  EXPECT_THROW(preference_loss(LossType::kIpo, batch.terms, {}), ConfigError);
}

}  // namespace
}  // namespace dpok::objective
