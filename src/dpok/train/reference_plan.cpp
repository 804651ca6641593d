// The reference plan (reference_plan.h).
#include "dpok/train/reference_plan.h"

#include "dpok/core/error.h"
#include "dpok/train/config.h"

namespace dpok::train {
namespace {

constexpr const char* kComponent = "train.config";

using objective::EmbeddingNeed;
using objective::TokenNeed;

}  // namespace

ReferenceSettings reference_settings(const TrainConfig& config) {
  return {config.precompute_ref_log_probs, config.precompute_ref_topk, config.objective.topk};
}

void check_reference_settings(const objective::Requirements& needs,
                              const ReferenceSettings& settings) {
  const bool penalty = needs.token_distributions != TokenNeed::kNone;
  // §6: the penalty needs the reference's next-token distributions, which a sequence-level cache
  // does not keep; the top-k cache stores enough of them.
  if (settings.precompute_ref_log_probs && penalty && !settings.precompute_ref_topk) {
    DPOK_THROW(ConfigError, kComponent,
               "the token penalty (penalty_alpha > 0) needs the reference's next-token "
               "distributions, but precompute_ref_log_probs = true caches only sequence "
               "log-probs; set precompute_ref_topk = true to cache the reference's top-{} tokens "
               "per position (penalty_topk), or set one of precompute_ref_log_probs / "
               "penalty_alpha off",
               settings.penalty_topk);
  }
  if (settings.precompute_ref_topk && !(settings.precompute_ref_log_probs && penalty)) {
    DPOK_THROW(ConfigError, kComponent,
               "precompute_ref_topk = true caches the reference for the token penalty; it needs "
               "precompute_ref_log_probs = true and penalty_alpha > 0 (got "
               "precompute_ref_log_probs = {}, penalty_alpha {})",
               settings.precompute_ref_log_probs, penalty ? "> 0" : "= 0");
  }
  if (settings.precompute_ref_log_probs && needs.embeddings == EmbeddingNeed::kReferenceHidden) {
    DPOK_THROW(ConfigError, kComponent,
               "embedding_source = reference needs the online reference model, but "
               "precompute_ref_log_probs = true drops it; use embedding_source = policy");
  }
}

ReferencePlan plan_reference(const objective::Requirements& needs,
                             const ReferenceSettings& settings, const DatasetFacts& facts) {
  check_reference_settings(needs, settings);
  ReferencePlan plan;
  if (!needs.preference_pairs) return plan;  // SFT alone: no reference at all
  const bool cached = settings.precompute_ref_log_probs;
  plan.train.logps = facts.train_supplies_logps ? LogpsSource::kDataset
                     : cached                   ? LogpsSource::kCachedTable
                                                : LogpsSource::kOnline;
  if (facts.has_eval) {
    // Evaluation always compares against values fixed before step 0.
    plan.eval.logps = facts.eval_supplies_logps ? LogpsSource::kDataset
                      : cached                  ? LogpsSource::kCachedTable
                                                : LogpsSource::kTable;
  }
  if (settings.precompute_ref_topk) {  // implies the penalty and a cached reference (checked)
    plan.train.topk_cache = true;
    plan.eval.topk_cache = facts.has_eval;
    plan.topk_rows = needs.token_distributions == TokenNeed::kBoth ? 2 : 1;
  }
  plan.reference_hidden =
      (needs.token_distributions != TokenNeed::kNone && !settings.precompute_ref_topk) ||
      needs.embeddings == EmbeddingNeed::kReferenceHidden;
  plan.keep_model = plan.reference_hidden || plan.train.logps == LogpsSource::kOnline;
  const auto computes = [](const SplitPlan& s) {
    return s.topk_cache || s.logps == LogpsSource::kCachedTable || s.logps == LogpsSource::kTable;
  };
  plan.load_model = plan.keep_model || computes(plan.train) || computes(plan.eval);
  return plan;
}

}  // namespace dpok::train
