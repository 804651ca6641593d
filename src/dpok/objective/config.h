// ObjectiveConfig: the one description of dpok's training objective (docs/objective.md),
// i.e. what the trainer's YAML maps to, plus its enums and their name tables.
//
// Does: hold every option of §1–§6 with TRL-style names and the spec's defaults (the member
// initialisers below are the only defaults); validate them with ConfigError messages that name
// the key, the bad value and the valid range or names. Each enum has one name table
// (enum_names, core/config_check.h): the configuration schema, the error messages and the docs
// take the valid names from it, so a new kernel is one enum row plus one name row.
// Does not: read YAML (train/config.cpp's schema fills this struct), touch tensors, or choose
// devices.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "dpok/core/config_check.h"

namespace dpok::objective {

// §1 preference losses.
enum class LossType {
  kSigmoid,
  kRobust,
  kHinge,
  kIpo,
  kSigmoidNorm,
  kExoPair,
  kNcaPair,
  kBcoPair,
  kSppoHard,
  kApoZero,
  kApoDown,
  kDiscopop,
  kSft,
  kAot,          // TRL `aot`: sorted log-ratio margins (objective/losses.h)
  kAotUnpaired,  // TRL `aot_unpaired` (formerly aot_pair)
};

// §2 score maps g(r) (mode A divergences).
enum class ScoreMap { kReverseKl, kForwardKl, kJs, kAlpha, kHellinger };

// §4/§5 kernels.
enum class KernelType { kLinear, kRbf, kPolynomial, kSpectral, kMahalanobis, kHmk };

// §3 where the semantic margin enters the loss.
enum class Placement { kLogit, kAdditive };

// §3 where the embeddings come from (the trainer pools them; the objective only needs to know
// whether gradients may flow into them).
// kEncoder: a frozen sentence encoder's embeddings (the paper's BERT), which the trainer computes
// into the records' embedding columns before training, so the objective reads them like
// kPrecomputed ones.
enum class EmbeddingSource { kPolicy, kReference, kPrecomputed, kEncoder };

// §6 token-level divergences (mode B).
enum class Divergence {
  kKl,
  kReverseKl,
  kJs,
  kHellinger,
  kBhattacharyya,
  kRenyi,
  kTv,
  kWasserstein
};

// §6 which completions the token-level penalty averages over.
enum class PenaltyOn { kChosen, kBoth };

// §4 how the Mahalanobis factor L starts: I, or from the embeddings' covariance.
enum class MahalanobisInit { kIdentity, kData };

// The name tables (YAML names, TRL's where TRL has the concept). dpok::parse_enum and
// dpok::name_of (core/config_check.h) read them.
std::span<const EnumName<LossType>> enum_names(LossType);
std::span<const EnumName<ScoreMap>> enum_names(ScoreMap);
std::span<const EnumName<KernelType>> enum_names(KernelType);
std::span<const EnumName<Placement>> enum_names(Placement);
std::span<const EnumName<EmbeddingSource>> enum_names(EmbeddingSource);
std::span<const EnumName<Divergence>> enum_names(Divergence);
std::span<const EnumName<PenaltyOn>> enum_names(PenaltyOn);
std::span<const EnumName<MahalanobisInit>> enum_names(MahalanobisInit);
std::string to_string(LossType type);
std::string to_string(KernelType type);
std::string to_string(Divergence divergence);
// Every kernel of §4/§5 in name-table order, so tests and tools that loop over kernels pick up a
// new one without a second list.
std::vector<KernelType> all_kernel_types();

// True for the losses whose per-pair logit can carry the semantic margin γ·m (§1).
bool loss_takes_margin(LossType type);

// §4 kernel hyper-parameters. Positive scalars are learned through softplus, mixture weights
// through softmax, mahalanobis L unconstrained (M = L Lᵀ + εI is positive definite anyway).
struct KernelOptions {
  double tau = 1.0;    // linear temperature
  double sigma = 1.0;  // rbf / spectral bandwidth
  // YAML `sigma: median`: σ = median over the batch of ‖e_x − e±‖ (detached), times a scale that
  // is 1 or, with learn = true, a learned positive factor starting at 1.
  bool sigma_median = false;
  double c = 1.0;  // polynomial offset
  double p = 2.0;  // polynomial degree (real, > 0)
  // Spectral mixture: ω_k = spectral_frequencies[k] / σ², weights w_k (empty: uniform).
  std::vector<double> spectral_frequencies = {0.5, 1.0, 2.0};
  std::vector<double> spectral_weights;
  int64_t mahalanobis_rank = 0;  // 0: full d×d factor; r > 0: low-rank d×r
  MahalanobisInit mahalanobis_init = MahalanobisInit::kIdentity;
  double mahalanobis_epsilon = 1e-4;  // ε in M = L Lᵀ + εI
  bool learn = false;
};

// Sets sigma from its YAML text: "median" or a positive number. Throws ConfigError.
void set_sigma(KernelOptions& options, const std::string& text);
// The YAML text of sigma: "median" or the number.
std::string sigma_text(const KernelOptions& options);

// §6 options of one token-level divergence evaluation.
struct TokenDivergenceOptions {
  Divergence divergence = Divergence::kKl;
  double renyi_order = 0.9;
  int64_t topk = 32;  // wasserstein support and the cached-reference variant
  double sinkhorn_epsilon = 0.05;
  int64_t sinkhorn_iterations = 50;
};

struct ObjectiveConfig {
  double beta = 0.1;
  // TRL's loss_type + loss_weights (empty = 1 each); several entries are summed per pair (RPO:
  // [sigmoid, sft] with [1.0, 0.2]).
  std::vector<LossType> loss_type = {LossType::kSigmoid};
  std::vector<double> loss_weights;
  double label_smoothing = 0.0;  // ε of sigmoid (cDPO), robust, exo_pair
  double discopop_tau = 0.05;
  bool use_weighting = false;      // TRL's WPO weighting of pairs by policy probability
  std::optional<double> ld_alpha;  // TRL's LD-DPO weight of the tokens past the shared length
  // §2 score map.
  ScoreMap divergence = ScoreMap::kReverseKl;
  double divergence_alpha = 0.5;
  // §3 semantic term (off when gamma == 0).
  double gamma = 0.0;
  KernelType kernel = KernelType::kRbf;
  Placement placement = Placement::kLogit;
  EmbeddingSource embedding_source = EmbeddingSource::kPolicy;
  bool normalize = true;
  KernelOptions kernel_options;
  // §5 HMK.
  double hmk_entropy_weight = 0.01;
  double kernel_learning_rate = 1e-3;
  // §6 token-level penalty (off when penalty_alpha == 0).
  double penalty_alpha = 0.0;
  Divergence penalty_divergence = Divergence::kKl;
  PenaltyOn penalty_on = PenaltyOn::kChosen;
  double renyi_order = 0.9;
  int64_t topk = 32;
  double sinkhorn_epsilon = 0.05;
  int64_t sinkhorn_iterations = 50;
  int64_t penalty_chunk_size = 256;  // completion positions per streamed chunk

  // Throws ConfigError naming the key, the value and what is allowed. Rules beyond ranges:
  // γ > 0 needs every loss to take a margin (sft is accepted next to a margin loss as an
  // auxiliary term, as in RPO; alone it is rejected); exo_pair needs ε > 0, robust ε < 0.5.
  void validate() const;

  // Each loss with its weight (loss_weights, or 1 each when it is empty).
  std::vector<std::pair<LossType, double>> loss_terms() const;
  TokenDivergenceOptions token_divergence_options() const;
  bool semantic_enabled() const { return gamma > 0.0; }
  bool penalty_enabled() const { return penalty_alpha > 0.0; }
};

}  // namespace dpok::objective
