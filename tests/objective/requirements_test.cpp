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
  c.loss_type = {LossType::kSft};
  EXPECT_FALSE(requirements(c).preference_pairs);
  c.loss_type = {LossType::kSigmoid, LossType::kSft};  // RPO
  c.loss_weights = {1.0, 0.2};
  EXPECT_TRUE(requirements(c).preference_pairs);
  c.loss_type = {LossType::kSft};
  c.loss_weights.clear();
  c.penalty_alpha = 0.1;  // the penalty compares against the reference
  EXPECT_TRUE(requirements(c).preference_pairs);
}

TEST(Requirements, EmbeddingSourceOnlyMattersWithTheSemanticTerm) {
  ObjectiveConfig c;
  c.embedding_source = EmbeddingSource::kReference;
  EXPECT_EQ(requirements(c).embeddings, EmbeddingNeed::kNone);  // gamma = 0
  c.gamma = 0.1;
  EXPECT_EQ(requirements(c).embeddings, EmbeddingNeed::kReferenceHidden);
  c.embedding_source = EmbeddingSource::kPolicy;
  EXPECT_EQ(requirements(c).embeddings, EmbeddingNeed::kPolicyHidden);
  c.embedding_source = EmbeddingSource::kPrecomputed;
  EXPECT_EQ(requirements(c).embeddings, EmbeddingNeed::kDataset);
}

TEST(Requirements, PenaltyPositionsFollowPenaltyOn) {
  ObjectiveConfig c;
  c.penalty_on = PenaltyOn::kBoth;
  EXPECT_EQ(requirements(c).token_distributions, TokenNeed::kNone);  // penalty_alpha = 0
  c.penalty_alpha = 0.05;
  EXPECT_EQ(requirements(c).token_distributions, TokenNeed::kBoth);
  c.penalty_on = PenaltyOn::kChosen;
  EXPECT_EQ(requirements(c).token_distributions, TokenNeed::kChosen);
}

}  // namespace
}  // namespace dpok::objective
