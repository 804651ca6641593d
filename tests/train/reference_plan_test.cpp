// Tests for the reference plan: every combination of objective needs, configuration and dataset
// facts, checked against the rules of trainer.h ("Reference"), plus the common setups by name.
#include "dpok/train/reference_plan.h"

#include <gtest/gtest.h>

#include <string>

#include "dpok/core/error.h"

namespace dpok::train {
namespace {

using objective::EmbeddingNeed;
using objective::Requirements;
using objective::TokenNeed;

bool computed(const SplitPlan& s) {
  return s.topk_cache || s.logps == LogpsSource::kCachedTable || s.logps == LogpsSource::kTable;
}

// The rules the plan must follow, stated per property rather than as one decision procedure.
void expect_consistent(const Requirements& needs, const ReferenceSettings& settings,
                       const DatasetFacts& facts, const ReferencePlan& plan) {
  if (!needs.preference_pairs) {
    EXPECT_EQ(plan.train.logps, LogpsSource::kNone);
    EXPECT_EQ(plan.eval.logps, LogpsSource::kNone);
    EXPECT_FALSE(plan.load_model || plan.keep_model || plan.reference_hidden);
    EXPECT_FALSE(plan.train.topk_cache || plan.eval.topk_cache);
    return;
  }
  // Dataset columns win; otherwise a disk cache when asked for, else the online reference.
  EXPECT_EQ(plan.train.logps == LogpsSource::kDataset, facts.train_supplies_logps);
  EXPECT_EQ(plan.train.logps == LogpsSource::kCachedTable,
            !facts.train_supplies_logps && settings.precompute_ref_log_probs);
  // Evaluation never runs the reference online: its values are fixed before step 0.
  EXPECT_NE(plan.eval.logps, LogpsSource::kOnline);
  EXPECT_EQ(plan.eval.logps == LogpsSource::kNone, !facts.has_eval);
  EXPECT_EQ(plan.eval.logps == LogpsSource::kDataset, facts.has_eval && facts.eval_supplies_logps);
  // The top-k cache serves the penalty on every split there is.
  EXPECT_EQ(plan.train.topk_cache, settings.precompute_ref_topk);
  EXPECT_EQ(plan.eval.topk_cache, settings.precompute_ref_topk && facts.has_eval);
  EXPECT_EQ(plan.topk_rows, !settings.precompute_ref_topk                   ? 0
                            : needs.token_distributions == TokenNeed::kBoth ? 2
                                                                            : 1);
  // Hidden states per step: the penalty without a cache, or reference embeddings.
  EXPECT_EQ(plan.reference_hidden,
            needs.embeddings == EmbeddingNeed::kReferenceHidden ||
                (needs.token_distributions != TokenNeed::kNone && !plan.train.topk_cache));
  EXPECT_EQ(plan.keep_model, plan.reference_hidden || plan.train.logps == LogpsSource::kOnline);
  EXPECT_EQ(plan.load_model, plan.keep_model || computed(plan.train) || computed(plan.eval));
}

TEST(ReferencePlan, EveryCombinationIsRejectedOrConsistent) {
  int valid = 0, rejected = 0;
  for (bool pairs : {true, false}) {
    for (auto embeddings : {EmbeddingNeed::kNone, EmbeddingNeed::kPolicyHidden,
                            EmbeddingNeed::kReferenceHidden, EmbeddingNeed::kDataset}) {
      for (auto tokens : {TokenNeed::kNone, TokenNeed::kChosen, TokenNeed::kBoth}) {
        for (int bits = 0; bits < 32; ++bits) {
          const Requirements needs{pairs, embeddings, tokens};
          const ReferenceSettings settings{(bits & 1) != 0, (bits & 2) != 0, 32};
          const DatasetFacts facts{(bits & 4) != 0, (bits & 8) != 0, (bits & 16) != 0};
          SCOPED_TRACE(::testing::Message()
                       << "pairs " << pairs << " embeddings " << static_cast<int>(embeddings)
                       << " tokens " << static_cast<int>(tokens) << " bits " << bits);
          const bool penalty = tokens != TokenNeed::kNone;
          const bool invalid =
              (settings.precompute_ref_log_probs && penalty && !settings.precompute_ref_topk) ||
              (settings.precompute_ref_topk && !(settings.precompute_ref_log_probs && penalty)) ||
              (settings.precompute_ref_log_probs && embeddings == EmbeddingNeed::kReferenceHidden);
          if (invalid) {
            EXPECT_THROW(check_reference_settings(needs, settings), ConfigError);
            EXPECT_THROW(plan_reference(needs, settings, facts), ConfigError);
            ++rejected;
            continue;
          }
          EXPECT_NO_THROW(check_reference_settings(needs, settings));
          expect_consistent(needs, settings, facts, plan_reference(needs, settings, facts));
          ++valid;
        }
      }
    }
  }
  EXPECT_EQ(valid + rejected, 2 * 4 * 3 * 32);
  EXPECT_GT(valid, 0);
  EXPECT_GT(rejected, 0);
}

TEST(ReferencePlan, CommonSetups) {
  const Requirements dpo;
  // TRL's default: online reference for training, eval values computed before step 0.
  auto plan = plan_reference(dpo, {}, {false, true, false});
  EXPECT_EQ(plan.train.logps, LogpsSource::kOnline);
  EXPECT_EQ(plan.eval.logps, LogpsSource::kTable);
  EXPECT_TRUE(plan.keep_model);
  EXPECT_FALSE(plan.reference_hidden);
  // precompute_ref_log_probs: both splits cached, the model released after setup.
  plan = plan_reference(dpo, {true, false, 32}, {false, true, false});
  EXPECT_EQ(plan.train.logps, LogpsSource::kCachedTable);
  EXPECT_EQ(plan.eval.logps, LogpsSource::kCachedTable);
  EXPECT_TRUE(plan.load_model);
  EXPECT_FALSE(plan.keep_model);
  // Both splits carry reference columns: no model at all.
  plan = plan_reference(dpo, {}, {true, true, true});
  EXPECT_FALSE(plan.load_model);
  // ... unless the penalty needs the reference's distributions, online.
  const Requirements penalty{true, EmbeddingNeed::kNone, TokenNeed::kChosen};
  plan = plan_reference(penalty, {}, {true, true, true});
  EXPECT_TRUE(plan.keep_model && plan.reference_hidden);
  // ... or from a top-k cache, after which the model is dropped.
  plan = plan_reference(penalty, {true, true, 32}, {true, true, true});
  EXPECT_TRUE(plan.load_model);
  EXPECT_FALSE(plan.keep_model || plan.reference_hidden);
  EXPECT_EQ(plan.train.logps, LogpsSource::kDataset);
  EXPECT_TRUE(plan.train.topk_cache && plan.eval.topk_cache);
  EXPECT_EQ(plan.topk_rows, 1);
  // SFT alone.
  plan = plan_reference({false, EmbeddingNeed::kNone, TokenNeed::kNone}, {}, {false, true, false});
  EXPECT_FALSE(plan.load_model);
}

TEST(ReferencePlan, MessagesNameTheKeys) {
  const Requirements penalty{true, EmbeddingNeed::kNone, TokenNeed::kChosen};
  try {
    check_reference_settings(penalty, {true, false, 16});
    ADD_FAILURE() << "no error";
  } catch (const ConfigError& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("precompute_ref_topk = true"), std::string::npos) << msg;
    EXPECT_NE(msg.find("top-16 tokens"), std::string::npos) << msg;
  }
}

}  // namespace
}  // namespace dpok::train
