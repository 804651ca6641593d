// eval::compare: metric groups, one model's result from scores built by hand (no model), and the
// report's JSON keys, text, and paired difference with two models.
#include "dpok/eval/compare.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "dpok/core/error.h"
#include "support/testing.h"

namespace dpok::eval {
namespace {

constexpr std::size_t kPairs = 8;

std::vector<data::PreferenceRecord> records() {
  return std::vector<data::PreferenceRecord>(kPairs);
}

// Log-probs with chosen − rejected margin `margin` per pair and embeddings in two clusters.
ScoredPairs scores(double margin) {
  torch::manual_seed(0);
  ScoredPairs s;
  for (std::size_t i = 0; i < kPairs; ++i) {
    s.chosen_logps.push_back(-10.0 + margin + 0.1 * static_cast<double>(i));
    s.rejected_logps.push_back(-10.0);
  }
  s.chosen_embedding = torch::randn({kPairs, 4}) + 3.0;
  s.rejected_embedding = torch::randn({kPairs, 4}) - 3.0;
  return s;
}

std::vector<std::pair<std::string, at::Tensor>> weights() {
  torch::manual_seed(1);
  return {{"layers.0.mlp.up_proj.weight", torch::randn({64, 48})}};
}

TEST(MetricGroups, ParsesListAndRejectsUnknownGroup) {
  EXPECT_EQ(parse_metric_groups("rewards,dbs"), (std::set<std::string>{"rewards", "dbs"}));
  EXPECT_TRUE(testing::throws_with<ConfigError>([] { parse_metric_groups("rewards,reward"); },
                                                {"unknown group 'reward'", "valid: rewards"}));
}

TEST(AssembleResult, AllGroupsFillJsonAndRows) {
  const auto reference = scores(0.0);
  const CompareOptions options;
  const auto r = assemble_result("m", records(), scores(1.0), &reference, weights(), options);
  EXPECT_EQ(r.json["path"], "m");
  for (const char* key :
       {"accuracies", "margins", "chosen", "rejected", "logps_chosen", "logps_rejected"}) {
    EXPECT_TRUE(r.json["rewards"][key].contains("lower")) << key;
  }
  EXPECT_DOUBLE_EQ(r.json["rewards"]["accuracies"]["estimate"].get<double>(), 1.0);
  EXPECT_EQ(r.json["classification"]["labels"], "chosen/rejected");
  EXPECT_EQ(r.json["classification"]["positives"].get<int>(), static_cast<int>(kPairs));
  EXPECT_TRUE(r.json["dbs"].contains("score"));
  EXPECT_TRUE(r.json["htsr"].contains("weighted_alpha"));
  EXPECT_EQ(r.rows.size(), 6u + 4u + 1u + 3u);
  EXPECT_EQ(r.correct.size(), kPairs);
}

TEST(AssembleResult, NoReferenceSkipsRewardsAndClassification) {
  CompareOptions options;
  options.groups = {"rewards", "classification", "dbs"};
  const auto r = assemble_result("m", records(), scores(1.0), nullptr, {}, options);
  EXPECT_FALSE(r.json.contains("rewards"));
  EXPECT_FALSE(r.json.contains("classification"));
  EXPECT_TRUE(r.json.contains("dbs"));
  EXPECT_TRUE(r.correct.empty());
}

TEST(AssembleResult, EmptyLabelColumnIsAnError) {
  const auto reference = scores(0.0);
  CompareOptions options;
  options.groups = {"classification"};
  options.label_column = true;
  EXPECT_TRUE(testing::throws_with<ConfigError>(
      [&] { assemble_result("m", records(), scores(1.0), &reference, {}, options); },
      {"--label-column", "empty in all 8 records"}));
}

TEST(BuildReport, TwoModelsCarryThePairedDifference) {
  const auto reference = scores(0.0);
  CompareOptions options;
  options.groups = {"rewards"};
  options.bootstrap = 200;
  const std::vector<ModelResult> results = {
      assemble_result("base", records(), scores(1.0), &reference, {}, options),
      assemble_result("worse", records(), scores(-1.0), &reference, {}, options)};
  RecordSource source;
  source.spec = "pairs.jsonl";
  const auto report = build_report(source, kPairs, "ref", results, options);
  for (const char* key : {"data", "records", "beta", "eval_fraction", "seed", "reference"}) {
    EXPECT_TRUE(report.json.contains(key)) << key;
  }
  ASSERT_EQ(report.json["models"].size(), 2u);
  ASSERT_EQ(report.json["comparisons"].size(), 1u);
  const auto& c = report.json["comparisons"][0];
  EXPECT_EQ(c["baseline"], "base");
  EXPECT_EQ(c["model"], "worse");
  EXPECT_DOUBLE_EQ(c["reward_accuracy_difference"]["estimate"].get<double>(), -1.0);
  EXPECT_NE(report.text.find("reward-accuracy difference vs base"), std::string::npos);
  EXPECT_NE(report.text.find("rewards/accuracies"), std::string::npos);

  const auto single = build_report(source, kPairs, "ref", {results.front()}, options);
  EXPECT_FALSE(single.json.contains("comparisons"));
  EXPECT_EQ(single.text.find("difference"), std::string::npos);
}

}  // namespace
}  // namespace dpok::eval
