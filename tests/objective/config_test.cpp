// Tests for ObjectiveConfig: defaults, the enums' name tables, and every validation rule with its
// message (key, value, what is valid).
#include "dpok/objective/config.h"

#include <gtest/gtest.h>

#include <cmath>
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
  EXPECT_EQ(config.loss_terms()[0].second, 1.0);
  EXPECT_FALSE(config.use_weighting);
  EXPECT_FALSE(config.ld_alpha.has_value());
}

TEST(ObjectiveConfig, NameTablesCoverEveryValueAndSuggestTheNearest) {
  EXPECT_EQ(join(enum_choices<LossType>()),
            "sigmoid, robust, hinge, ipo, sigmoid_norm, exo_pair, nca_pair, bco_pair, sppo_hard, "
            "apo_zero, apo_down, discopop, sft, aot, aot_unpaired");
  EXPECT_EQ(join(enum_choices<KernelType>()),
            "linear, rbf, polynomial, spectral, mahalanobis, hmk");
  EXPECT_EQ(parse_enum<LossType>("aot_unpaired", "loss_type"), LossType::kAotUnpaired);
  EXPECT_EQ(name_of(MahalanobisInit::kData), "data");
  try {
    parse_enum<KernelType>("rbff", "kernel");
    FAIL() << "rbff accepted";
  } catch (const ConfigError& e) {
    EXPECT_EQ(std::string(e.what()),
              "[config] key 'kernel': 'rbff' is not one of linear, rbf, polynomial, spectral, "
              "mahalanobis, hmk (did you mean 'rbf'?)");
  }
  try {
    parse_enum<LossType>("sigmod", "loss_type");
    FAIL() << "sigmod accepted";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("(did you mean 'sigmoid'?)"), std::string::npos);
  }
}

TEST(ObjectiveConfig, GammaNeedsLossesThatTakeAMargin) {
  ObjectiveConfig config;
  config.gamma = 0.2;
  config.loss_type = {LossType::kNcaPair};
  expect_error(config,
               "key 'gamma': 0.2 needs a loss that can take the semantic margin, but loss "
               "'nca_pair' cannot");
  config.loss_type = {LossType::kSigmoid, LossType::kApoZero};
  expect_error(config, "loss 'apo_zero' cannot");
  config.loss_type = {LossType::kSft};
  expect_error(config, "loss 'sft' cannot");
  config.loss_type = {LossType::kSigmoid, LossType::kAot};
  expect_error(config, "loss 'aot' cannot");
  // RPO: sft as an auxiliary term next to a margin loss is fine.
  config.loss_type = {LossType::kSigmoid, LossType::kSft};
  config.loss_weights = {1.0, 0.2};
  EXPECT_EQ(error_of(config), "");
  config.gamma = 0;
  config.loss_type = {LossType::kNcaPair};
  config.loss_weights = {};
  EXPECT_EQ(error_of(config), "");
}

TEST(ObjectiveConfig, RangesAreChecked) {
  const auto expect = [](auto change, const std::string& fragment) {
    ObjectiveConfig config;
    change(config);
    expect_error(config, fragment);
  };
  expect([](auto& c) { c.label_smoothing = 0.7; },
         "[config] key 'label_smoothing': value 0.7 is invalid; expected in [0, 0.5]");
  expect(
      [](auto& c) {
        c.loss_type = {LossType::kRobust};
        c.label_smoothing = 0.5;
      },
      "value 0.5 is invalid; expected in [0, 0.5) with loss 'robust'");
  expect([](auto& c) { c.loss_type = {LossType::kExoPair}; },
         "key 'label_smoothing': value 0 is invalid; expected in (0, 0.5] with loss 'exo_pair'");
  expect([](auto& c) { c.beta = 0; }, "key 'beta': value 0 is invalid; expected > 0");
  expect(
      [](auto& c) {
        c.divergence = ScoreMap::kAlpha;
        c.divergence_alpha = 1.0;
      },
      "key 'divergence_alpha': value 1 is invalid; expected in (0, 1)");
  expect(
      [](auto& c) {
        c.penalty_divergence = Divergence::kRenyi;
        c.renyi_order = 1.0;
      },
      "key 'renyi_order': value 1 is invalid; expected != 1 (1 is the KL limit");
  expect(
      [](auto& c) {
        c.loss_type = {LossType::kSigmoid, LossType::kSigmoid};
      },
      "key 'loss_type': 'sigmoid' is listed twice");
  expect([](auto& c) { c.loss_weights = {-1.0}; },
         "key 'loss_weights': value -1 is invalid; expected a finite value > 0 (the weight of "
         "'sigmoid')");
  expect(
      [](auto& c) {
        c.loss_weights = {1.0, 2.0};
      },
      "key 'loss_weights': value of length 2 is invalid; expected one weight per loss_type "
      "entry (1), or none");
  expect([](auto& c) { c.loss_type = {}; }, "key 'loss_type'");
  expect([](auto& c) { c.ld_alpha = 1.5; }, "key 'ld_alpha': value 1.5 is invalid");
  expect([](auto& c) { c.kernel_learning_rate = 0; },
         "key 'kernel_learning_rate': value 0 is invalid; expected > 0");
  expect([](auto& c) { c.penalty_alpha = -0.1; }, "key 'penalty_alpha': value -0.1 is invalid");
  expect([](auto& c) { c.topk = 0; }, "key 'penalty_topk': value 0 is invalid; expected >= 1");
  expect([](auto& c) { c.gamma = std::nan(""); }, "key 'gamma': value nan is invalid");
  expect([](auto& c) { c.kernel_options.spectral_weights = {1.0}; },
         "key 'kernel_options.spectral_weights': value of length 1 is invalid");
  expect([](auto& c) { c.kernel_options.tau = 0; }, "key 'kernel_options.tau'");
  expect([](auto& c) { c.kernel_options.mahalanobis_epsilon = 0; },
         "key 'kernel_options.mahalanobis_epsilon'");
  ObjectiveConfig ok;
  ok.ld_alpha = 0.0;
  ok.use_weighting = true;
  EXPECT_EQ(error_of(ok), "");
}

TEST(ObjectiveConfig, SigmaAcceptsMedianOrAPositiveNumber) {
  KernelOptions options;
  set_sigma(options, "median");
  EXPECT_TRUE(options.sigma_median);
  EXPECT_EQ(sigma_text(options), "median");
  set_sigma(options, "0.25");
  EXPECT_FALSE(options.sigma_median);
  EXPECT_DOUBLE_EQ(options.sigma, 0.25);
  EXPECT_EQ(sigma_text(options), "0.25");
  try {
    set_sigma(options, "-1");
    FAIL() << "negative sigma accepted";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("key 'kernel_options.sigma': value -1 is invalid; "
                                         "expected a positive number or 'median'"),
              std::string::npos)
        << e.what();
  }
  EXPECT_THROW(set_sigma(options, "1.0x"), ConfigError);
}

TEST(ObjectiveConfig, TokenDivergenceOptionsFollowTheConfig) {
  ObjectiveConfig config;
  config.penalty_divergence = Divergence::kRenyi;
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
