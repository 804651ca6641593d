// What the objective needs from the models for one batch, as a typed value: the trainer (and its
// reference planning, train/reference_plan.h) asks this instead of re-reading the configuration.
//
// Does: derive from an ObjectiveConfig which rows are scored, whether reference sequence log-probs
// enter the loss, where the §3 embeddings come from, and at which positions the §6 penalty needs
// the policy's and the reference's next-token distributions.
// Does not: decide how the reference is provided (online model, disk table, top-k cache, dataset
// columns): that is train::plan_reference.
#pragma once

#include "dpok/objective/config.h"

namespace dpok::objective {

// §3: the source of the prompt / chosen / rejected embeddings.
enum class EmbeddingNeed {
  kNone,             // gamma = 0
  kPolicyHidden,     // pooled from the policy forward the loss already runs (carries gradient)
  kReferenceHidden,  // pooled from a reference forward of the same batch
  kDataset,          // the records' precomputed embedding columns
};

// §6: the completions whose next-token distributions the penalty compares.
enum class TokenNeed {
  kNone,    // penalty_alpha = 0
  kChosen,  // the chosen rows only (penalty_on = chosen)
  kBoth,    // chosen and rejected rows (penalty_on = both)
};

struct Requirements {
  // Rejected completions are scored and the reference enters the loss. False only for SFT alone
  // (every loss term sft, gamma = 0, penalty_alpha = 0): the chosen rows, no reference (`dpok sft`
  // and `loss_type: [sft]` alike).
  bool preference_pairs = true;
  EmbeddingNeed embeddings = EmbeddingNeed::kNone;
  TokenNeed token_distributions = TokenNeed::kNone;
  // An sft term: its token mean runs over the whole batch, so with several ranks the trainer
  // passes the batch's chosen token count (PairInputs::chosen_token_count).
  bool chosen_token_mean = false;
};

// Pure function of the configuration (call after config.validate()). Throws ConfigError for an
// unknown loss, embedding source or penalty_on name.
Requirements requirements(const ObjectiveConfig& config);

}  // namespace dpok::objective
