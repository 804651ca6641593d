// ObjectiveConfig: the one description of dpok's training objective (docs/objective.md),
// i.e. what the trainer's YAML maps to, plus the enums its string names parse into.
//
// Does: hold every option of §1–§6 with TRL-style names and the spec's defaults; validate them
// with ConfigError messages that name the key, the bad value and the valid range or names.
// Does not: read YAML, touch tensors, or choose devices (the trainer maps YAML onto this struct).
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

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
  kAot,
  kAotUnpaired,
};

// §2 score maps g(r) (mode A divergences).
enum class ScoreMap { kReverseKl, kForwardKl, kJs, kAlpha, kHellinger };

// §4/§5 kernels.
enum class KernelType { kLinear, kRbf, kPolynomial, kSpectral, kMahalanobis, kHmk };

// §3 where the semantic margin enters the loss.
enum class Placement { kLogit, kAdditive };

// §3 where the embeddings come from (the trainer pools them; the objective only needs to know
// whether gradients may flow into them).
enum class EmbeddingSource { kPolicy, kReference, kPrecomputed };

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

// Name <-> enum. parse_* throw ConfigError("[objective] unknown <key> 'x'; valid: a, b, ...").
LossType parse_loss_type(const std::string& name);
ScoreMap parse_score_map(const std::string& name);
KernelType parse_kernel_type(const std::string& name);
Placement parse_placement(const std::string& name);
EmbeddingSource parse_embedding_source(const std::string& name);
Divergence parse_divergence(const std::string& name);
PenaltyOn parse_penalty_on(const std::string& name);
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
  int64_t mahalanobis_rank = 0;               // 0: full d×d factor; r > 0: low-rank d×r
  std::string mahalanobis_init = "identity";  // identity | data
  double mahalanobis_epsilon = 1e-4;          // ε in M = L Lᵀ + εI
  bool learn = false;
};

// Sets sigma from its YAML text: "median" or a positive number. Throws ConfigError.
void set_sigma(KernelOptions& options, const std::string& text);

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
  // loss_type + loss_weights; several entries are summed per pair (RPO: sigmoid 1.0 + sft 0.2).
  std::vector<std::pair<std::string, double>> losses = {{"sigmoid", 1.0}};
  double label_smoothing = 0.0;  // ε of sigmoid (cDPO), robust, exo_pair
  double discopop_tau = 0.05;
  // §2 score map.
  std::string divergence = "reverse_kl";
  double divergence_alpha = 0.5;
  // §3 semantic term (off when gamma == 0).
  double gamma = 0.0;
  std::string kernel = "rbf";
  std::string placement = "logit";
  std::string embedding_source = "policy";
  bool normalize = true;
  KernelOptions kernel_options;
  // §5 HMK.
  double hmk_entropy_weight = 0.01;
  double kernel_learning_rate = 1e-3;
  // §6 token-level penalty (off when penalty_alpha == 0).
  double penalty_alpha = 0.0;
  std::string penalty_divergence = "kl";
  std::string penalty_on = "chosen";
  double renyi_order = 0.9;
  int64_t topk = 32;
  double sinkhorn_epsilon = 0.05;
  int64_t sinkhorn_iterations = 50;
  int64_t penalty_chunk_size = 256;  // completion positions per streamed chunk

  // Throws ConfigError naming the key, the value and what is allowed. Rules beyond ranges:
  // γ > 0 needs every loss to take a margin (sft is accepted next to a margin loss as an
  // auxiliary term, as in RPO; alone it is rejected); exo_pair needs ε > 0, robust ε < 0.5.
  void validate() const;

  // Parsed views (call after validate()).
  std::vector<std::pair<LossType, double>> loss_terms() const;
  TokenDivergenceOptions token_divergence_options() const;
  bool semantic_enabled() const { return gamma > 0.0; }
  bool penalty_enabled() const { return penalty_alpha > 0.0; }
};

}  // namespace dpok::objective
