// ObjectiveConfig validation and the name tables of the objective's enums (objective.md §1–§6).
#include "dpok/objective/config.h"

#include <fmt/format.h>

#include <cmath>
#include <cstdlib>
#include <set>

#include "dpok/core/error.h"

namespace dpok::objective {
namespace {

// Names follow TRL (loss_type, f_divergence_type) and objective.md; one table per enum.
constexpr EnumName<LossType> kLossNames[] = {
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
constexpr EnumName<ScoreMap> kScoreMapNames[] = {
    {"reverse_kl", ScoreMap::kReverseKl},
    {"forward_kl", ScoreMap::kForwardKl},
    {"js", ScoreMap::kJs},
    {"alpha", ScoreMap::kAlpha},
    {"hellinger", ScoreMap::kHellinger},
};
constexpr EnumName<KernelType> kKernelNames[] = {
    {"linear", KernelType::kLinear},           {"rbf", KernelType::kRbf},
    {"polynomial", KernelType::kPolynomial},   {"spectral", KernelType::kSpectral},
    {"mahalanobis", KernelType::kMahalanobis}, {"hmk", KernelType::kHmk},
};
constexpr EnumName<Placement> kPlacementNames[] = {
    {"logit", Placement::kLogit},
    {"additive", Placement::kAdditive},
};
constexpr EnumName<EmbeddingSource> kSourceNames[] = {
    {"policy", EmbeddingSource::kPolicy},
    {"reference", EmbeddingSource::kReference},
    {"precomputed", EmbeddingSource::kPrecomputed},
    {"encoder", EmbeddingSource::kEncoder},
};
constexpr EnumName<Divergence> kDivergenceNames[] = {
    {"kl", Divergence::kKl},
    {"reverse_kl", Divergence::kReverseKl},
    {"js", Divergence::kJs},
    {"hellinger", Divergence::kHellinger},
    {"bhattacharyya", Divergence::kBhattacharyya},
    {"renyi", Divergence::kRenyi},
    {"tv", Divergence::kTv},
    {"wasserstein", Divergence::kWasserstein},
};
constexpr EnumName<PenaltyOn> kPenaltyOnNames[] = {
    {"chosen", PenaltyOn::kChosen},
    {"both", PenaltyOn::kBoth},
};
constexpr EnumName<MahalanobisInit> kMahalanobisInitNames[] = {
    {"identity", MahalanobisInit::kIdentity},
    {"data", MahalanobisInit::kData},
};

void validate_kernel_options(const KernelOptions& k) {
  require_value(k.tau > 0, "kernel_options.tau", k.tau, "> 0");
  require_value(k.sigma > 0, "kernel_options.sigma", k.sigma, "> 0 (or 'median')");
  require_value(k.c >= 0, "kernel_options.c", k.c, ">= 0");
  require_value(k.p > 0, "kernel_options.p", k.p, "> 0");
  require_value(!k.spectral_frequencies.empty(), "kernel_options.spectral_frequencies", "[]",
                "at least one positive frequency");
  for (double w : k.spectral_frequencies) {
    require_value(w > 0, "kernel_options.spectral_frequencies[]", w, "> 0");
  }
  require_value(
      k.spectral_weights.empty() || k.spectral_weights.size() == k.spectral_frequencies.size(),
      "kernel_options.spectral_weights", fmt::format("of length {}", k.spectral_weights.size()),
      fmt::format("one weight per spectral frequency ({})", k.spectral_frequencies.size()));
  for (double w : k.spectral_weights) {
    require_value(w > 0, "kernel_options.spectral_weights[]", w, "> 0");
  }
  require_value(k.mahalanobis_rank >= 0, "kernel_options.mahalanobis_rank",
                static_cast<double>(k.mahalanobis_rank), ">= 0 (0: full rank)");
  require_value(k.mahalanobis_epsilon > 0, "kernel_options.mahalanobis_epsilon",
                k.mahalanobis_epsilon, "> 0");
}

void validate_losses(const ObjectiveConfig& c) {
  require_value(!c.loss_type.empty(), "loss_type", "[]", "at least one loss");
  require_value(c.loss_weights.empty() || c.loss_weights.size() == c.loss_type.size(),
                "loss_weights", fmt::format("of length {}", c.loss_weights.size()),
                fmt::format("one weight per loss_type entry ({}), or none", c.loss_type.size()));
  std::set<LossType> seen;
  bool has_exo = false, has_robust = false, margin_loss = false, no_margin = false;
  std::string no_margin_name;
  for (const auto& [type, weight] : c.loss_terms()) {
    const std::string name = to_string(type);
    if (!seen.insert(type).second) {
      DPOK_THROW(ConfigError, "config", "key 'loss_type': '{}' is listed twice", name);
    }
    require_value(weight > 0, "loss_weights", weight,
                  fmt::format("a finite value > 0 (the weight of '{}')", name));
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
  require_value(eps >= 0 && eps <= 0.5, "label_smoothing", eps, "in [0, 0.5]");
  // TRL: robust's ε is a flip probability in [0, 0.5); exo_pair's must be > 0.
  require_value(!has_robust || eps < 0.5, "label_smoothing", eps, "in [0, 0.5) with loss 'robust'");
  require_value(!has_exo || eps > 0, "label_smoothing", eps,
                "in (0, 0.5] with loss 'exo_pair' (e.g. 1e-3)");
  require_value(c.discopop_tau > 0, "discopop_tau", c.discopop_tau, "> 0");
  if (c.ld_alpha) {
    require_value(*c.ld_alpha >= 0 && *c.ld_alpha <= 1, "ld_alpha", *c.ld_alpha,
                  "in [0, 1] (1: no length weighting), or null");
  }
  if (c.gamma > 0 && (no_margin || !margin_loss)) {
    DPOK_THROW(ConfigError, "config",
               "key 'gamma': {} needs a loss that can take the semantic margin, but loss '{}' "
               "cannot (margin losses: sigmoid, robust, hinge, ipo, sigmoid_norm, exo_pair, "
               "discopop); set gamma: 0 or change loss_type",
               c.gamma, no_margin_name);
  }
}

}  // namespace

std::span<const EnumName<LossType>> enum_names(LossType) {
  return kLossNames;
}
std::span<const EnumName<ScoreMap>> enum_names(ScoreMap) {
  return kScoreMapNames;
}
std::span<const EnumName<KernelType>> enum_names(KernelType) {
  return kKernelNames;
}
std::span<const EnumName<Placement>> enum_names(Placement) {
  return kPlacementNames;
}
std::span<const EnumName<EmbeddingSource>> enum_names(EmbeddingSource) {
  return kSourceNames;
}
std::span<const EnumName<Divergence>> enum_names(Divergence) {
  return kDivergenceNames;
}
std::span<const EnumName<PenaltyOn>> enum_names(PenaltyOn) {
  return kPenaltyOnNames;
}
std::span<const EnumName<MahalanobisInit>> enum_names(MahalanobisInit) {
  return kMahalanobisInitNames;
}

std::string to_string(LossType type) {
  return name_of(type);
}
std::string to_string(KernelType type) {
  return name_of(type);
}
std::string to_string(Divergence divergence) {
  return name_of(divergence);
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
    DPOK_THROW(ConfigError, "config",
               "key 'kernel_options.sigma': value {} is invalid; expected a positive number or "
               "'median'",
               text);
  }
  options.sigma = value;
  options.sigma_median = false;
}

std::string sigma_text(const KernelOptions& options) {
  return options.sigma_median ? "median" : fmt::format("{}", options.sigma);
}

void ObjectiveConfig::validate() const {
  require_value(beta > 0, "beta", beta, "> 0");
  validate_losses(*this);
  for (const LossType type : loss_type) {
    // The aot losses sort the batch: a loss element belongs to no single pair, so neither a
    // per-pair WPO weight nor a score map has anything to apply to (TRL refuses both too).
    if (type != LossType::kAot && type != LossType::kAotUnpaired) continue;
    if (use_weighting) {
      DPOK_THROW(ConfigError, "config",
                 "key 'use_weighting': true cannot be used with loss '{}', whose sorted terms are "
                 "not per pair; set use_weighting: false or choose another loss",
                 name_of(type));
    }
    if (divergence != ScoreMap::kReverseKl) {
      DPOK_THROW(ConfigError, "config",
                 "key 'divergence': '{}' cannot be used with loss '{}', which compares raw "
                 "log-ratios; keep divergence: reverse_kl",
                 name_of(divergence), name_of(type));
    }
  }
  if (divergence == ScoreMap::kAlpha) {
    require_value(divergence_alpha > 0 && divergence_alpha < 1, "divergence_alpha",
                  divergence_alpha, "in (0, 1) with divergence: alpha");
  }
  require_value(gamma >= 0, "gamma", gamma, ">= 0 (0: semantic term off)");
  validate_kernel_options(kernel_options);
  require_value(hmk_entropy_weight >= 0, "hmk_entropy_weight", hmk_entropy_weight, ">= 0");
  require_value(kernel_learning_rate > 0, "kernel_learning_rate", kernel_learning_rate, "> 0");
  require_value(penalty_alpha >= 0, "penalty_alpha", penalty_alpha, ">= 0 (0: token penalty off)");
  if (penalty_divergence == Divergence::kRenyi) {
    require_value(renyi_order > 0, "renyi_order", renyi_order, "> 0 and != 1");
    // The KL limit, where the Rényi formula divides by zero.
    require_value(renyi_order != 1.0, "renyi_order", renyi_order,
                  "!= 1 (1 is the KL limit: use penalty_divergence: kl; default 0.9)");
  }
  require_value(topk >= 1, "penalty_topk", static_cast<double>(topk), ">= 1");
  require_value(sinkhorn_epsilon > 0, "sinkhorn_epsilon", sinkhorn_epsilon, "> 0");
  require_value(sinkhorn_iterations >= 1, "sinkhorn_iterations",
                static_cast<double>(sinkhorn_iterations), ">= 1");
  require_value(penalty_chunk_size >= 1, "penalty_chunk_size",
                static_cast<double>(penalty_chunk_size), ">= 1");
}

std::vector<std::pair<LossType, double>> ObjectiveConfig::loss_terms() const {
  std::vector<std::pair<LossType, double>> terms;
  for (size_t i = 0; i < loss_type.size(); ++i) {
    terms.emplace_back(loss_type[i], loss_weights.empty() ? 1.0 : loss_weights[i]);
  }
  return terms;
}

TokenDivergenceOptions ObjectiveConfig::token_divergence_options() const {
  TokenDivergenceOptions options;
  options.divergence = penalty_divergence;
  options.renyi_order = renyi_order;
  options.topk = topk;
  options.sinkhorn_epsilon = sinkhorn_epsilon;
  options.sinkhorn_iterations = sinkhorn_iterations;
  return options;
}

}  // namespace dpok::objective
