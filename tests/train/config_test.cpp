// Tests for TrainConfig: parsing, overrides, unknown-key suggestions, validation, resolved dump.
#include "dpok/train/config.h"

#include <gtest/gtest.h>

#include "dpok/core/error.h"
#include "dpok/core/file_util.h"
#include "support/testing.h"

namespace dpok::train {
namespace {

YAML::Node base() {
  return YAML::Load("model: m\n");
}

std::string error_of(const std::function<void()>& fn) {
  return ::dpok::testing::error_of<ConfigError>(fn);
}

TEST(TrainConfig, DefaultsFollowTrl) {
  auto cfg = TrainConfig::from_yaml(base());
  EXPECT_DOUBLE_EQ(cfg.beta, 0.1);
  EXPECT_EQ(cfg.loss_type, std::vector<std::string>{"sigmoid"});
  EXPECT_EQ(cfg.lr_scheduler_type, "linear");
  EXPECT_EQ(cfg.resolved_loss_weights(), std::vector<double>{1.0});
}

TEST(TrainConfig, ParsesKeysListsAndSections) {
  auto cfg = TrainConfig::from_yaml(YAML::Load(R"(
model: some/dir
beta: 0.25
loss_type: [sigmoid, sft]
loss_weights: [1.0, 0.2]
gamma: 0.3
kernel: hmk
max_steps: 7
data:
  train_files: [a.jsonl]
  eval_fraction: 0.1
)"));
  EXPECT_EQ(cfg.model, "some/dir");
  EXPECT_DOUBLE_EQ(cfg.beta, 0.25);
  EXPECT_EQ(cfg.loss_type.size(), 2u);
  EXPECT_EQ(cfg.resolved_loss_weights()[1], 0.2);
  EXPECT_EQ(cfg.kernel, "hmk");
  EXPECT_EQ(cfg.max_steps, 7);
  EXPECT_DOUBLE_EQ(cfg.data["eval_fraction"].as<double>(), 0.1);
}

TEST(TrainConfig, LengthsBelongToTheTopLevel) {
  auto msg = error_of([] { TrainConfig::from_yaml(base(), {"data.max_length=64"}); });
  EXPECT_NE(msg.find("top level"), std::string::npos) << msg;
}

TEST(TrainConfig, SingleLossTypeString) {
  auto cfg = TrainConfig::from_yaml(YAML::Load("model: m\nloss_type: ipo\n"));
  EXPECT_EQ(cfg.loss_type, std::vector<std::string>{"ipo"});
}

TEST(TrainConfig, OverridesIncludingDottedKeys) {
  auto cfg = TrainConfig::from_yaml(
      YAML::Load("model: m\ndata:\n  num_threads: 4\n"),
      {"beta=0.5", "data.num_threads=2", "data.extra.deep=x", "loss_type=[sigmoid, hinge]"});
  EXPECT_DOUBLE_EQ(cfg.beta, 0.5);
  EXPECT_EQ(cfg.data["num_threads"].as<int>(), 2);
  EXPECT_EQ(cfg.data["extra"]["deep"].as<std::string>(), "x");
  EXPECT_EQ(cfg.loss_type.size(), 2u);
}

TEST(TrainConfig, UnknownKeySuggestsNearest) {
  auto msg = error_of([] { TrainConfig::from_yaml(YAML::Load("model: m\nlearning_rat: 1\n")); });
  EXPECT_NE(msg.find("unknown key 'learning_rat'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("did you mean 'learning_rate'"), std::string::npos) << msg;
  msg = error_of([] { TrainConfig::from_yaml(base(), {"gradient_accumulation=2"}); });
  EXPECT_NE(msg.find("gradient_accumulation_steps"), std::string::npos) << msg;
}

TEST(TrainConfig, RejectsBadValues) {
  EXPECT_NE(error_of([] { TrainConfig::from_yaml(base(), {"beta=0"}); }).find("'beta'"),
            std::string::npos);
  EXPECT_NE(error_of([] { TrainConfig::from_yaml(base(), {"beta=abc"}); }).find("'beta'"),
            std::string::npos);
  EXPECT_NE(error_of([] {
              TrainConfig::from_yaml(base(), {"lr_scheduler_type=step"});
            }).find("constant, linear, cosine"),
            std::string::npos);
  EXPECT_NE(error_of([] {
              TrainConfig::from_yaml(base(), {"loss_weights=[1, 2]"});
            }).find("loss_weights"),
            std::string::npos);
  EXPECT_NE(error_of([] { TrainConfig::from_yaml(YAML::Load("beta: 1\n")); }).find("'model'"),
            std::string::npos);
  EXPECT_NE(error_of([] { TrainConfig::from_yaml(base(), {"novalue"}); }).find("key=value"),
            std::string::npos);
  EXPECT_NE(error_of([] { TrainConfig::from_yaml(base(), {"data=3"}); }).find("mapping"),
            std::string::npos);
}

TEST(TrainConfig, PenaltyWithCachedReferenceNeedsTopkCache) {
  auto msg = error_of([] {
    TrainConfig::from_yaml(base(), {"precompute_ref_log_probs=true", "penalty_alpha=0.1"});
  });
  EXPECT_NE(msg.find("next-token distributions"), std::string::npos) << msg;
  EXPECT_NE(msg.find("precompute_ref_topk = true"), std::string::npos) << msg;
  EXPECT_NO_THROW(TrainConfig::from_yaml(base(), {"precompute_ref_log_probs=true"}));
  EXPECT_NO_THROW(TrainConfig::from_yaml(
      base(), {"precompute_ref_log_probs=true", "penalty_alpha=0.1", "precompute_ref_topk=true"}));
  // The top-k cache alone has nothing to serve.
  msg = error_of([] { TrainConfig::from_yaml(base(), {"precompute_ref_topk=true"}); });
  EXPECT_NE(msg.find("needs precompute_ref_log_probs = true and penalty_alpha > 0"),
            std::string::npos)
      << msg;
  msg = error_of([] {
    TrainConfig::from_yaml(base(), {"precompute_ref_log_probs=true", "precompute_ref_topk=true"});
  });
  EXPECT_NE(msg.find("penalty_alpha > 0"), std::string::npos) << msg;
}

TEST(TrainConfig, ResolvedDumpRoundTrips) {
  auto cfg = TrainConfig::from_yaml(base(), {"beta=0.3", "data.num_threads=3", "seed=7"});
  auto again = TrainConfig::from_yaml(YAML::Load(cfg.to_yaml_string()));
  EXPECT_EQ(again.to_yaml_string(), cfg.to_yaml_string());
  EXPECT_DOUBLE_EQ(again.beta, 0.3);
  EXPECT_EQ(again.seed, 7);
  EXPECT_EQ(again.data["num_threads"].as<int>(), 3);
}

TEST(TrainConfig, LoadsFileAndReportsMissingFile) {
  testing::TempDir dir;
  write_file_atomic(dir / "run.yaml", "model: m\nmax_steps: 3\n");
  EXPECT_EQ(TrainConfig::load(dir / "run.yaml").max_steps, 3);
  EXPECT_THROW(TrainConfig::load(dir / "missing.yaml"), IoError);
  write_file_atomic(dir / "bad.yaml", "model: [unclosed\n");
  EXPECT_THROW(TrainConfig::load(dir / "bad.yaml"), ConfigError);
}

TEST(ExpandEnv, VariablesAndDefaults) {
  ::setenv("DPOK_TRAIN_TEST_VAR", "/x", 1);
  EXPECT_EQ(expand_env("${DPOK_TRAIN_TEST_VAR}/m"), "/x/m");
  EXPECT_EQ(expand_env("${DPOK_TRAIN_TEST_UNSET:-../a}/m"), "../a/m");
  EXPECT_EQ(expand_env("plain$"), "plain$");
  EXPECT_THROW(expand_env("${DPOK_TRAIN_TEST_UNSET}"), ConfigError);
  EXPECT_THROW(expand_env("${OOPS"), ConfigError);
  auto cfg = TrainConfig::from_yaml(YAML::Load(
      "model: ${DPOK_TRAIN_TEST_VAR}/m\ndata:\n  train_files: [\"${DPOK_TRAIN_TEST_VAR}/d\"]\n"));
  EXPECT_EQ(cfg.model, "/x/m");
  EXPECT_EQ(cfg.data["train_files"][0].as<std::string>(), "/x/d");
}

TEST(EditDistance, Basics) {
  EXPECT_EQ(edit_distance("", "abc"), 3u);
  EXPECT_EQ(edit_distance("kitten", "sitting"), 3u);
  EXPECT_EQ(edit_distance("same", "same"), 0u);
}

}  // namespace
}  // namespace dpok::train
