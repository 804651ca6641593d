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
  return {config.precompute_ref_log_probs, config.precompute_ref_topk, config.objective.topk,
          config.sync_ref_model, config.objective.ld_alpha.has_value()};
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
  // TRL: "sync_ref_model=True is not yet compatible with precompute_ref_log_probs=True".
  if (settings.precompute_ref_log_probs && settings.sync_reference) {
    DPOK_THROW(ConfigError, kComponent,
               "sync_ref_model = true updates the reference during training, so its log-probs "
               "cannot be precomputed; set precompute_ref_log_probs = false");
  }
  if (settings.precompute_ref_log_probs && settings.length_desensitized) {
    DPOK_THROW(ConfigError, kComponent,
               "ld_alpha needs the reference's per-token log-probs of each pair, but "
               "precompute_ref_log_probs = true caches only their plain sums; set "
               "precompute_ref_log_probs = false or remove ld_alpha");
  }
}

ReferencePlan plan_reference(const objective::Requirements& needs,
                             const ReferenceSettings& settings, const DatasetFacts& facts) {
  check_reference_settings(needs, settings);
  ReferencePlan plan;
  if (!needs.preference_pairs) return plan;  // SFT alone: no reference at all
  const bool cached = settings.precompute_ref_log_probs;
  if (facts.train_supplies_logps && (settings.sync_reference || settings.length_desensitized)) {
    DPOK_THROW(ConfigError, kComponent,
               "the training records carry ref_chosen_logps / ref_rejected_logps, but {} needs the "
               "online reference; drop those columns (data.field_map) or {}",
               settings.sync_reference ? "sync_ref_model = true" : "ld_alpha",
               settings.sync_reference ? "set sync_ref_model = false" : "remove ld_alpha");
  }
  plan.train.logps = facts.train_supplies_logps ? LogpsSource::kDataset
                     : cached                   ? LogpsSource::kCachedTable
                                                : LogpsSource::kOnline;
  if (facts.has_eval) {
    // Evaluation compares against the reference as it was before step 0 (with TR-DPO too: the
    // initial model is what a user compares against); LD-DPO's per-pair sums need it online.
    plan.eval.logps = settings.length_desensitized ? LogpsSource::kOnline
                      : facts.eval_supplies_logps  ? LogpsSource::kDataset
                      : cached                     ? LogpsSource::kCachedTable
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
  plan.keep_model = plan.reference_hidden || plan.train.logps == LogpsSource::kOnline ||
                    plan.eval.logps == LogpsSource::kOnline;
  const auto computes = [](const SplitPlan& s) {
    return s.topk_cache || s.logps == LogpsSource::kCachedTable || s.logps == LogpsSource::kTable;
  };
  plan.load_model = plan.keep_model || computes(plan.train) || computes(plan.eval);
  return plan;
}

}  // namespace dpok::train
