#include "dpok/objective/config.h"

#include <gtest/gtest.h>

#include <string>

#include "dpok/core/error.h"
#include "support/testing.h"

namespace dpok::objective {
namespace {

// Runs validate() and returns the ConfigError text ("" when it passes).
std::string error_of(const ObjectiveConfig& config) {
  return ::dpok::testing::error_of<ConfigError>([&] { config.validate(); });
}

void expect_error(const ObjectiveConfig& config, const std::string& fragment) {
  const std::string message = error_of(config);
  EXPECT_NE(message.find(fragment), std::string::npos)
      << "expected '" << fragment << "' in '" << message << "'";
}

TEST(ObjectiveConfig, DefaultsValidate) {
  ObjectiveConfig config;
  EXPECT_EQ(error_of(config), "");
  EXPECT_FALSE(config.semantic_enabled());
  EXPECT_FALSE(config.penalty_enabled());
  ASSERT_EQ(config.loss_terms().size(), 1u);
  EXPECT_EQ(config.loss_terms()[0].first, LossType::kSigmoid);
}

TEST(ObjectiveConfig, UnknownNamesListTheValidOnes) {
  ObjectiveConfig config;
  config.losses = {{"sigmoidd", 1.0}};
  expect_error(config,
               "[objective] unknown loss_type 'sigmoidd'; valid: sigmoid, robust, hinge, ipo, "
               "sigmoid_norm, exo_pair, nca_pair, bco_pair, sppo_hard, apo_zero, apo_down, "
               "discopop, sft");
  config = {};
  config.kernel = "gauss";
  expect_error(config,
               "unknown kernel 'gauss'; valid: linear, rbf, polynomial, spectral, "
               "mahalanobis, hmk");
  config = {};
  config.penalty_divergence = "kld";
  expect_error(config,
               "unknown penalty_divergence 'kld'; valid: kl, reverse_kl, js, hellinger, "
               "bhattacharyya, renyi, tv, wasserstein");
  config = {};
  config.divergence = "chi2";
  expect_error(config,
               "unknown divergence 'chi2'; valid: reverse_kl, forward_kl, js, alpha, "
               "hellinger");
  config = {};
  config.placement = "outside";
  expect_error(config, "unknown placement 'outside'; valid: logit, additive");
  config = {};
  config.embedding_source = "jina";
  expect_error(config, "unknown embedding_source 'jina'; valid: policy, reference, precomputed");
  config = {};
  config.penalty_on = "rejected";
  expect_error(config, "unknown penalty_on 'rejected'; valid: chosen, both");
}

TEST(ObjectiveConfig, GammaNeedsLossesThatTakeAMargin) {
  ObjectiveConfig config;
  config.gamma = 0.2;
  config.losses = {{"nca_pair", 1.0}};
  expect_error(config,
               "gamma = 0.2 needs a loss that can take the semantic margin, but loss "
               "'nca_pair' cannot");
  config.losses = {{"sigmoid", 1.0}, {"apo_zero", 0.5}};
  expect_error(config, "loss 'apo_zero' cannot");
  config.losses = {{"sft", 1.0}};
  expect_error(config, "loss 'sft' cannot");
  // RPO: sft as an auxiliary term next to a margin loss is fine.
  config.losses = {{"sigmoid", 1.0}, {"sft", 0.2}};
  EXPECT_EQ(error_of(config), "");
  config.gamma = 0;
  config.losses = {{"nca_pair", 1.0}};
  EXPECT_EQ(error_of(config), "");
}

TEST(ObjectiveConfig, RangesAreChecked) {
  ObjectiveConfig config;
  config.label_smoothing = 0.7;
  expect_error(config, "label_smoothing = 0.7 is out of range; expected in [0, 0.5]");
  config = {};
  config.losses = {{"robust", 1.0}};
  config.label_smoothing = 0.5;
  expect_error(config, "label_smoothing = 0.5 with loss 'robust'; expected [0, 0.5)");
  config = {};
  config.losses = {{"exo_pair", 1.0}};
  expect_error(config, "label_smoothing = 0 with loss 'exo_pair'; expected ε in (0, 0.5]");
  config.label_smoothing = 1e-3;
  EXPECT_EQ(error_of(config), "");
  config = {};
  config.beta = 0;
  expect_error(config, "beta = 0 is out of range; expected > 0");
  config = {};
  config.divergence = "alpha";
  config.divergence_alpha = 1.0;
  expect_error(config, "divergence_alpha = 1 is out of range; expected in (0, 1)");
  config = {};
  config.penalty_divergence = "renyi";
  config.renyi_order = 1.0;
  expect_error(config, "renyi_order = 1 is the KL limit");
  config = {};
  config.losses = {{"sigmoid", 1.0}, {"sigmoid", 2.0}};
  expect_error(config, "loss_type 'sigmoid' is listed twice");
  config = {};
  config.losses = {{"sigmoid", -1.0}};
  expect_error(config, "loss_weights for 'sigmoid' = -1; expected a finite value > 0");
  config = {};
  config.kernel_options.spectral_weights = {1.0};
  expect_error(config, "spectral_weights has 1 entries but spectral_frequencies has 3");
  config = {};
  config.kernel_options.mahalanobis_init = "pca";
  expect_error(config, "unknown kernel_options.mahalanobis_init 'pca'; valid: identity, data");
  config = {};
  config.penalty_alpha = -0.1;
  expect_error(config, "penalty_alpha = -0.1 is out of range");
  config = {};
  config.topk = 0;
  expect_error(config, "topk = 0 is out of range; expected >= 1");
  config = {};
  config.gamma = std::nan("");
  expect_error(config, "gamma = nan is out of range");
}

TEST(ObjectiveConfig, SigmaAcceptsMedianOrAPositiveNumber) {
  KernelOptions options;
  set_sigma(options, "median");
  EXPECT_TRUE(options.sigma_median);
  set_sigma(options, "0.25");
  EXPECT_FALSE(options.sigma_median);
  EXPECT_DOUBLE_EQ(options.sigma, 0.25);
  try {
    set_sigma(options, "-1");
    FAIL() << "negative sigma accepted";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("kernel_options.sigma = '-1'; expected a positive number "
                                         "or 'median'"),
              std::string::npos);
  }
  EXPECT_THROW(set_sigma(options, "1.0x"), ConfigError);
}

TEST(ObjectiveConfig, TokenDivergenceOptionsFollowTheConfig) {
  ObjectiveConfig config;
  config.penalty_divergence = "renyi";
  config.renyi_order = 0.7;
  config.topk = 8;
  const auto options = config.token_divergence_options();
  EXPECT_EQ(options.divergence, Divergence::kRenyi);
  EXPECT_DOUBLE_EQ(options.renyi_order, 0.7);
  EXPECT_EQ(options.topk, 8);
  EXPECT_EQ(to_string(Divergence::kWasserstein), "wasserstein");
  EXPECT_EQ(to_string(KernelType::kHmk), "hmk");
}

}  // namespace
}  // namespace dpok::objective
