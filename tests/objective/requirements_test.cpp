// Tests for the objective's requirements: every loss / embedding source / penalty setting maps to
// the typed need the trainer plans from.
#include "dpok/objective/requirements.h"

#include <gtest/gtest.h>

#include "dpok/core/error.h"

namespace dpok::objective {
namespace {

TEST(Requirements, PlainDpoNeedsPairsAndNothingElse) {
  const auto r = requirements(ObjectiveConfig{});
  EXPECT_TRUE(r.preference_pairs);
  EXPECT_EQ(r.embeddings, EmbeddingNeed::kNone);
  EXPECT_EQ(r.token_distributions, TokenNeed::kNone);
}

TEST(Requirements, SftAloneNeedsNoPairs) {
  ObjectiveConfig c;
  c.losses = {{"sft", 1.0}};
  EXPECT_FALSE(requirements(c).preference_pairs);
  c.losses = {{"sigmoid", 1.0}, {"sft", 0.2}};  // RPO
  EXPECT_TRUE(requirements(c).preference_pairs);
  c.losses = {{"sft", 1.0}};
  c.penalty_alpha = 0.1;  // the penalty compares against the reference
  EXPECT_TRUE(requirements(c).preference_pairs);
}

TEST(Requirements, EmbeddingSourceOnlyMattersWithTheSemanticTerm) {
  ObjectiveConfig c;
  c.embedding_source = "reference";
  EXPECT_EQ(requirements(c).embeddings, EmbeddingNeed::kNone);  // gamma = 0
  c.gamma = 0.1;
  EXPECT_EQ(requirements(c).embeddings, EmbeddingNeed::kReferenceHidden);
  c.embedding_source = "policy";
  EXPECT_EQ(requirements(c).embeddings, EmbeddingNeed::kPolicyHidden);
  c.embedding_source = "precomputed";
  EXPECT_EQ(requirements(c).embeddings, EmbeddingNeed::kDataset);
  c.embedding_source = "elsewhere";
  EXPECT_THROW(requirements(c), ConfigError);
}

TEST(Requirements, PenaltyPositionsFollowPenaltyOn) {
  ObjectiveConfig c;
  c.penalty_on = "both";
  EXPECT_EQ(requirements(c).token_distributions, TokenNeed::kNone);  // penalty_alpha = 0
  c.penalty_alpha = 0.05;
  EXPECT_EQ(requirements(c).token_distributions, TokenNeed::kBoth);
  c.penalty_on = "chosen";
  EXPECT_EQ(requirements(c).token_distributions, TokenNeed::kChosen);
}

}  // namespace
}  // namespace dpok::objective
