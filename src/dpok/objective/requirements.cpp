// The objective's requirements (requirements.h): the one place that maps configuration names to
// what the trainer must compute.
#include "dpok/objective/requirements.h"

#include <algorithm>

namespace dpok::objective {

Requirements requirements(const ObjectiveConfig& config) {
  Requirements r;
  const auto terms = config.loss_terms();
  r.preference_pairs = config.semantic_enabled() || config.penalty_enabled() ||
                       std::any_of(terms.begin(), terms.end(),
                                   [](const auto& term) { return term.first != LossType::kSft; });
  r.chosen_token_mean = std::any_of(terms.begin(), terms.end(),
                                    [](const auto& term) { return term.first == LossType::kSft; });
  if (config.semantic_enabled()) {
    switch (config.embedding_source) {
      case EmbeddingSource::kPolicy:
        r.embeddings = EmbeddingNeed::kPolicyHidden;
        break;
      case EmbeddingSource::kReference:
        r.embeddings = EmbeddingNeed::kReferenceHidden;
        break;
      case EmbeddingSource::kPrecomputed:
      case EmbeddingSource::kEncoder:  // the trainer fills the columns from the encoder
        r.embeddings = EmbeddingNeed::kDataset;
        break;
    }
  }
  if (config.penalty_enabled()) {
    r.token_distributions =
        config.penalty_on == PenaltyOn::kBoth ? TokenNeed::kBoth : TokenNeed::kChosen;
  }
  return r;
}

}  // namespace dpok::objective
