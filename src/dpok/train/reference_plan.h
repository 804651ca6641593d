// The one rule for how the reference enters a run: from what the objective needs
// (objective::Requirements), what the configuration asks (precompute_ref_log_probs,
// precompute_ref_topk) and what the data supplies (ref_chosen_logps / ref_rejected_logps
// columns), decide per split where the reference sequence log-probs come from, whether the
// penalty reads a top-k cache, and whether the reference model is loaded and kept for the steps.
// Used by configuration validation (check_reference_settings), trainer setup and the step alike.
//
// Does not: load models, read caches or data (trainer_setup.cpp does, following the plan).
#pragma once

#include <cstdint>

#include "dpok/objective/requirements.h"

namespace dpok::train {

struct TrainConfig;

// Where one split's reference sequence log-probs ℓ_ref(y±) come from.
enum class LogpsSource {
  kNone,         // no such split, or the objective needs no reference
  kDataset,      // every record carries ref_chosen_logps / ref_rejected_logps
  kCachedTable,  // precompute_ref_log_probs: a disk cache (ref_cache.h), computed on a miss
  kTable,        // computed by the reference model before step 0, kept in memory
  kOnline,       // a reference forward in every step
};

// The configuration keys that decide how the reference may be provided.
struct ReferenceSettings {
  bool precompute_ref_log_probs = false;
  bool precompute_ref_topk = false;
  int64_t penalty_topk = 32;  // named in messages only
  // TR-DPO (sync_ref_model): the reference changes during training, so its training-time
  // log-probs must come from the online model, never from a table.
  bool sync_reference = false;
  // LD-DPO (ld_alpha): sequence log-probs are length-desensitised per pair, for policy and
  // reference alike; the tables (cache, dataset columns, eval table) hold plain sums, so the
  // reference runs online.
  bool length_desensitized = false;
};

ReferenceSettings reference_settings(const TrainConfig& config);

// What the records of each split supply.
struct DatasetFacts {
  bool train_supplies_logps = false;
  bool has_eval = false;
  bool eval_supplies_logps = false;
};

struct SplitPlan {
  LogpsSource logps = LogpsSource::kNone;
  bool topk_cache = false;  // the penalty reads this split's top-k cache (ref_topk.h)
};

struct ReferencePlan {
  SplitPlan train, eval;
  // Each batch runs the reference forward for its final hidden states: the penalty without a
  // top-k cache, or reference-sourced embeddings.
  bool reference_hidden = false;
  int64_t topk_rows = 0;    // rows per record in the top-k cache: 1 chosen, 2 chosen + rejected
  bool load_model = false;  // the reference model is loaded during setup
  bool keep_model = false;  // and kept for the steps (online log-probs or hidden states)
};

// Throws ConfigError, naming the keys, when the settings cannot serve the requirements: the
// penalty with a sequence-only cache, a top-k cache with nothing to serve, reference embeddings
// with a cached reference (objective.md §3, §6).
void check_reference_settings(const objective::Requirements& needs,
                              const ReferenceSettings& settings);

// check_reference_settings, then the plan.
ReferencePlan plan_reference(const objective::Requirements& needs,
                             const ReferenceSettings& settings, const DatasetFacts& facts);

}  // namespace dpok::train
