// select::validate without training: the candidate ranking (recommendation, plain DPO, others by
// NAG, HMK, cut at K), a bad base configuration failing before any work, and the outcome text.
#include "dpok/select/validate.h"

#include <gtest/gtest.h>

#include "dpok/core/error.h"
#include "support/testing.h"

namespace dpok::select {
namespace {

Selection selection(const std::string& kernel, const std::string& divergence) {
  Selection s;
  for (const auto& [name, nag] : std::vector<std::pair<std::string, double>>{
           {"linear", 0.2}, {"rbf", 0.9}, {"polynomial", 0.5}}) {
    KernelScore score;
    score.metrics.kernel = name;
    score.metrics.nag = nag;
    s.kernels.push_back(score);
  }
  s.kernel.kernel = kernel;
  s.kernel.gamma = kernel == "none" ? 0.0 : 0.05;
  s.divergence_choice.divergence = divergence;
  return s;
}

std::vector<std::string> labels(const std::vector<Candidate>& candidates) {
  std::vector<std::string> out;
  for (const auto& c : candidates) out.push_back(c.label);
  return out;
}

TEST(RankCandidates, RecommendationThenPlainDpoThenOthersByNagThenHmk) {
  const auto all = rank_candidates(selection("rbf", "js"), 10);
  EXPECT_EQ(labels(all), (std::vector<std::string>{"recommended: rbf gamma 0.05 + js",
                                                   "plain DPO (gamma 0)", "polynomial gamma 0.1",
                                                   "linear gamma 0.1", "hmk gamma 0.1"}));
  EXPECT_EQ(all.front().overrides,
            (std::vector<std::string>{"penalty_divergence=js", "penalty_alpha=0.05", "kernel=rbf",
                                      "gamma=0.05"}));
  EXPECT_EQ(rank_candidates(selection("rbf", "js"), 2).size(), 2u);
}

TEST(RankCandidates, NoSemanticTermAndKlHasNoSeparatePlainDpo) {
  const auto all = rank_candidates(selection("none", "kl"), 2);
  EXPECT_EQ(labels(all), (std::vector<std::string>{"recommended: gamma 0 + kl", "rbf gamma 0.1"}));
  EXPECT_EQ(all.front().overrides,
            (std::vector<std::string>{"penalty_divergence=kl", "penalty_alpha=0", "gamma=0"}));
}

TEST(CandidateConfig, MissingBaseFileFailsBeforeAnyWork) {
  ValidationOptions options;
  options.config = "/nonexistent/dpok_base.yaml";
  EXPECT_TRUE(
      testing::throws_with<Error>([&] { candidate_config(options, {}); }, {"dpok_base.yaml"}));
}

TEST(FormatValidation, SaysWhetherTheRulesPickRanksFirst) {
  const std::vector<Outcome> first = {{"recommended: rbf", 0.8, 0.7, 0.9},
                                      {"plain DPO (gamma 0)", 0.6, 0.5, 0.7}};
  const auto text = format_validation(first, 40);
  EXPECT_NE(text.find("validation (40 steps each)"), std::string::npos) << text;
  EXPECT_NE(text.find("  1. recommended: rbf"), std::string::npos) << text;
  EXPECT_NE(text.find("the rule's pick ranks first"), std::string::npos) << text;
  const std::vector<Outcome> tied = {{"plain DPO (gamma 0)", 0.6, 0.5, 0.7},
                                     {"recommended: rbf", 0.6, 0.5, 0.7}};
  EXPECT_NE(format_validation(tied, 40).find("tie"), std::string::npos);
}

}  // namespace
}  // namespace dpok::select
