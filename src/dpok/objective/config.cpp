// ObjectiveConfig validation and the name tables of the objective's enums (objective.md §1–§6).
#include "dpok/objective/config.h"

#include <fmt/format.h>

#include <cmath>
#include <cstdlib>
#include <set>

#include "dpok/core/error.h"

namespace dpok::objective {
namespace {

constexpr const char* kComponent = "objective";

template <typename E>
struct NameEntry {
  const char* name;
  E value;
};

// Names follow TRL (loss_type, f_divergence_type) and objective.md; one table per enum.
constexpr NameEntry<LossType> kLossNames[] = {
    {"sigmoid", LossType::kSigmoid},
    {"robust", LossType::kRobust},
    {"hinge", LossType::kHinge},
    {"ipo", LossType::kIpo},
    {"sigmoid_norm", LossType::kSigmoidNorm},
    {"exo_pair", LossType::kExoPair},
    {"nca_pair", LossType::kNcaPair},
    {"bco_pair", LossType::kBcoPair},
    {"sppo_hard", LossType::kSppoHard},
    {"apo_zero", LossType::kApoZero},
    {"apo_down", LossType::kApoDown},
    {"discopop", LossType::kDiscopop},
    {"sft", LossType::kSft},
    {"aot", LossType::kAot},
    {"aot_unpaired", LossType::kAotUnpaired},
};
constexpr NameEntry<ScoreMap> kScoreMapNames[] = {
    {"reverse_kl", ScoreMap::kReverseKl},
    {"forward_kl", ScoreMap::kForwardKl},
    {"js", ScoreMap::kJs},
    {"alpha", ScoreMap::kAlpha},
    {"hellinger", ScoreMap::kHellinger},
};
constexpr NameEntry<KernelType> kKernelNames[] = {
    {"linear", KernelType::kLinear},           {"rbf", KernelType::kRbf},
    {"polynomial", KernelType::kPolynomial},   {"spectral", KernelType::kSpectral},
    {"mahalanobis", KernelType::kMahalanobis}, {"hmk", KernelType::kHmk},
};
constexpr NameEntry<Placement> kPlacementNames[] = {
    {"logit", Placement::kLogit},
    {"additive", Placement::kAdditive},
};
constexpr NameEntry<EmbeddingSource> kSourceNames[] = {
    {"policy", EmbeddingSource::kPolicy},
    {"reference", EmbeddingSource::kReference},
    {"precomputed", EmbeddingSource::kPrecomputed},
};
constexpr NameEntry<Divergence> kDivergenceNames[] = {
    {"kl", Divergence::kKl},
    {"reverse_kl", Divergence::kReverseKl},
    {"js", Divergence::kJs},
    {"hellinger", Divergence::kHellinger},
    {"bhattacharyya", Divergence::kBhattacharyya},
    {"renyi", Divergence::kRenyi},
    {"tv", Divergence::kTv},
    {"wasserstein", Divergence::kWasserstein},
};
constexpr NameEntry<PenaltyOn> kPenaltyOnNames[] = {
    {"chosen", PenaltyOn::kChosen},
    {"both", PenaltyOn::kBoth},
};

template <typename E, size_t N>
E parse_name(const NameEntry<E> (&table)[N], const std::string& name, const char* key) {
  std::string valid;
  for (const auto& entry : table) {
    if (name == entry.name) return entry.value;
    valid += valid.empty() ? entry.name : fmt::format(", {}", entry.name);
  }
  DPOK_THROW(ConfigError, kComponent, "unknown {} '{}'; valid: {}", key, name, valid);
}

template <typename E, size_t N>
std::string name_of(const NameEntry<E> (&table)[N], E value) {
  for (const auto& entry : table) {
    if (entry.value == value) return entry.name;
  }
  DPOK_CHECK(false, "enum value {} has no name", static_cast<int>(value));
  return {};
}

void require(bool ok, const char* key, double value, const char* allowed) {
  if (!ok || !std::isfinite(value)) {
    DPOK_THROW(ConfigError, kComponent, "{} = {} is out of range; expected {}", key, value,
               allowed);
  }
}

void validate_kernel_options(const KernelOptions& k) {
  require(k.tau > 0, "kernel_options.tau", k.tau, "> 0");
  require(k.sigma > 0, "kernel_options.sigma", k.sigma, "> 0 (or 'median')");
  require(k.c >= 0, "kernel_options.c", k.c, ">= 0");
  require(k.p > 0, "kernel_options.p", k.p, "> 0");
  if (k.spectral_frequencies.empty()) {
    DPOK_THROW(ConfigError, kComponent,
               "kernel_options.spectral_frequencies is empty; expected "
               "at least one positive frequency");
  }
  for (double w : k.spectral_frequencies) {
    require(w > 0, "kernel_options.spectral_frequencies[]", w, "> 0");
  }
  if (!k.spectral_weights.empty() && k.spectral_weights.size() != k.spectral_frequencies.size()) {
    DPOK_THROW(ConfigError, kComponent,
               "kernel_options.spectral_weights has {} entries but spectral_frequencies has {}",
               k.spectral_weights.size(), k.spectral_frequencies.size());
  }
  for (double w : k.spectral_weights) {
    require(w > 0, "kernel_options.spectral_weights[]", w, "> 0");
  }
  require(k.mahalanobis_rank >= 0, "kernel_options.mahalanobis_rank",
          static_cast<double>(k.mahalanobis_rank), ">= 0 (0: full rank)");
  if (k.mahalanobis_init != "identity" && k.mahalanobis_init != "data") {
    DPOK_THROW(ConfigError, kComponent,
               "unknown kernel_options.mahalanobis_init '{}'; valid: identity, data",
               k.mahalanobis_init);
  }
  require(k.mahalanobis_epsilon > 0, "kernel_options.mahalanobis_epsilon", k.mahalanobis_epsilon,
          "> 0");
}

void validate_losses(const ObjectiveConfig& c) {
  if (c.losses.empty()) {
    DPOK_THROW(ConfigError, kComponent, "loss_type is empty; expected at least one loss");
  }
  std::set<std::string> seen;
  bool has_exo = false, has_robust = false, margin_loss = false, no_margin = false;
  std::string no_margin_name;
  for (const auto& [name, weight] : c.losses) {
    const LossType type = parse_loss_type(name);
    if (!seen.insert(name).second) {
      DPOK_THROW(ConfigError, kComponent, "loss_type '{}' is listed twice", name);
    }
    if (!(weight > 0) || !std::isfinite(weight)) {
      DPOK_THROW(ConfigError, kComponent, "loss_weights for '{}' = {}; expected a finite value > 0",
                 name, weight);
    }
    has_exo |= type == LossType::kExoPair;
    has_robust |= type == LossType::kRobust;
    if (loss_takes_margin(type)) {
      margin_loss = true;
    } else if (type != LossType::kSft && !no_margin) {
      no_margin = true;  // the first loss that cannot carry the margin is the one named
      no_margin_name = name;
    }
  }
  if (!margin_loss && !no_margin) no_margin_name = "sft";  // sft alone cannot carry it either
  const double eps = c.label_smoothing;
  require(eps >= 0 && eps <= 0.5, "label_smoothing", eps, "in [0, 0.5]");
  if (has_robust && eps >= 0.5) {
    DPOK_THROW(ConfigError, kComponent,
               "label_smoothing = {} with loss 'robust'; expected [0, 0.5)", eps);
  }
  if (has_exo && eps <= 0) {
    DPOK_THROW(ConfigError, kComponent,
               "label_smoothing = {} with loss 'exo_pair'; expected ε in (0, 0.5] (e.g. 1e-3)",
               eps);
  }
  require(c.discopop_tau > 0, "discopop_tau", c.discopop_tau, "> 0");
  if (c.gamma > 0 && (no_margin || !margin_loss)) {
    DPOK_THROW(ConfigError, kComponent,
               "gamma = {} needs a loss that can take the semantic margin, but loss '{}' cannot "
               "(margin losses: sigmoid, robust, hinge, ipo, sigmoid_norm, exo_pair, discopop); "
               "set gamma: 0 or change loss_type",
               c.gamma, no_margin_name);
  }
}

}  // namespace

LossType parse_loss_type(const std::string& n) {
  return parse_name(kLossNames, n, "loss_type");
}
ScoreMap parse_score_map(const std::string& n) {
  return parse_name(kScoreMapNames, n, "divergence");
}
KernelType parse_kernel_type(const std::string& n) {
  return parse_name(kKernelNames, n, "kernel");
}
Placement parse_placement(const std::string& n) {
  return parse_name(kPlacementNames, n, "placement");
}
EmbeddingSource parse_embedding_source(const std::string& n) {
  return parse_name(kSourceNames, n, "embedding_source");
}
Divergence parse_divergence(const std::string& n) {
  return parse_name(kDivergenceNames, n, "penalty_divergence");
}
PenaltyOn parse_penalty_on(const std::string& n) {
  return parse_name(kPenaltyOnNames, n, "penalty_on");
}
std::string to_string(LossType type) {
  return name_of(kLossNames, type);
}
std::string to_string(KernelType type) {
  return name_of(kKernelNames, type);
}
std::string to_string(Divergence divergence) {
  return name_of(kDivergenceNames, divergence);
}
std::vector<KernelType> all_kernel_types() {
  std::vector<KernelType> types;
  for (const auto& entry : kKernelNames) types.push_back(entry.value);
  return types;
}

bool loss_takes_margin(LossType type) {
  switch (type) {
    case LossType::kNcaPair:
    case LossType::kBcoPair:
    case LossType::kSppoHard:
    case LossType::kApoZero:
    case LossType::kApoDown:
    case LossType::kSft:
    // aot / aot_unpaired sort the batch's log-ratios, so a loss element no longer belongs to one
    // pair and a per-pair margin has no element to join.
    case LossType::kAot:
    case LossType::kAotUnpaired:
      return false;
    default:
      return true;
  }
}

void set_sigma(KernelOptions& options, const std::string& text) {
  if (text == "median") {
    options.sigma_median = true;
    return;
  }
  char* end = nullptr;
  const double value = std::strtod(text.c_str(), &end);
  if (text.empty() || end != text.c_str() + text.size() || !(value > 0) || !std::isfinite(value)) {
    DPOK_THROW(ConfigError, kComponent,
               "kernel_options.sigma = '{}'; expected a positive number or 'median'", text);
  }
  options.sigma = value;
  options.sigma_median = false;
}

void ObjectiveConfig::validate() const {
  require(beta > 0, "beta", beta, "> 0");
  validate_losses(*this);
  const ScoreMap map = parse_score_map(divergence);
  if (map == ScoreMap::kAlpha) {
    require(divergence_alpha > 0 && divergence_alpha < 1, "divergence_alpha", divergence_alpha,
            "in (0, 1)");
  }
  require(gamma >= 0, "gamma", gamma, ">= 0 (0: semantic term off)");
  parse_kernel_type(kernel);
  parse_placement(placement);
  parse_embedding_source(embedding_source);
  validate_kernel_options(kernel_options);
  require(hmk_entropy_weight >= 0, "hmk_entropy_weight", hmk_entropy_weight, ">= 0");
  require(kernel_learning_rate > 0, "kernel_learning_rate", kernel_learning_rate, "> 0");
  require(penalty_alpha >= 0, "penalty_alpha", penalty_alpha, ">= 0 (0: token penalty off)");
  const Divergence d = parse_divergence(penalty_divergence);
  parse_penalty_on(penalty_on);
  if (d == Divergence::kRenyi) {
    require(renyi_order > 0, "renyi_order", renyi_order, "> 0 and != 1");
    if (renyi_order == 1.0) {
      DPOK_THROW(ConfigError, kComponent,
                 "renyi_order = 1 is the KL limit, where the Rényi formula divides by zero; use "
                 "penalty_divergence: kl, or an order != 1 (default 0.9)");
    }
  }
  require(topk >= 1, "topk", static_cast<double>(topk), ">= 1");
  require(sinkhorn_epsilon > 0, "sinkhorn_epsilon", sinkhorn_epsilon, "> 0");
  require(sinkhorn_iterations >= 1, "sinkhorn_iterations", static_cast<double>(sinkhorn_iterations),
          ">= 1");
  require(penalty_chunk_size >= 1, "penalty_chunk_size", static_cast<double>(penalty_chunk_size),
          ">= 1");
}

std::vector<std::pair<LossType, double>> ObjectiveConfig::loss_terms() const {
  std::vector<std::pair<LossType, double>> terms;
  for (const auto& [name, weight] : losses) terms.emplace_back(parse_loss_type(name), weight);
  return terms;
}

TokenDivergenceOptions ObjectiveConfig::token_divergence_options() const {
  TokenDivergenceOptions options;
  options.divergence = parse_divergence(penalty_divergence);
  options.renyi_order = renyi_order;
  options.topk = topk;
  options.sinkhorn_epsilon = sinkhorn_epsilon;
  options.sinkhorn_iterations = sinkhorn_iterations;
  return options;
}

}  // namespace dpok::objective
