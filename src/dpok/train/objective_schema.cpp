// The objective's rows of the configuration schema (objective.md §1–§6): each top-level key of
// the objective, and the `kernel_options` mapping. Enum-valued keys take their names from the
// objective's name tables, so a new kernel, loss or divergence needs no row here.
#include "dpok/train/config.h"

namespace dpok::train {
namespace {

using objective::KernelOptions;
using objective::ObjectiveConfig;

// `sigma: median` or a positive number (objective::set_sigma).
schema::Field<KernelOptions> sigma_field() {
  return schema::Field<KernelOptions>{
      "sigma", "rbf / spectral bandwidth: a positive number, or median (batch median distance)",
      [](KernelOptions& out, const YAML::Node& node, const std::string& key) {
        objective::set_sigma(out, schema::read_value<std::string>(node, key));
      },
      [](const KernelOptions& in) {
        return in.sigma_median ? YAML::Node("median") : YAML::Node(in.sigma);
      }};
}

}  // namespace

const schema::Section<KernelOptions>& kernel_options_section() {
  using K = KernelOptions;
  static const schema::Section<KernelOptions> kSection(
      "kernel_options.",
      {schema::field("tau", &K::tau, "linear kernel temperature"), sigma_field(),
       schema::field("c", &K::c, "polynomial offset"),
       schema::field("p", &K::p, "polynomial degree (real, > 0)"),
       schema::field("spectral_frequencies", &K::spectral_frequencies,
                     "spectral mixture frequencies (ω_k = f_k / σ²)"),
       schema::field("spectral_weights", &K::spectral_weights,
                     "spectral mixture weights; empty: uniform"),
       schema::field("mahalanobis_rank", &K::mahalanobis_rank, "0: full d×d factor; r: d×r"),
       schema::field("mahalanobis_init", &K::mahalanobis_init,
                     "identity, or data (the embeddings' covariance)"),
       schema::field("mahalanobis_epsilon", &K::mahalanobis_epsilon, "ε in M = L Lᵀ + εI")});
  return kSection;
}

const schema::Section<ObjectiveConfig>& objective_section() {
  using O = ObjectiveConfig;
  static const schema::Section<ObjectiveConfig> kSection(
      "",
      {schema::field("beta", &O::beta, "deviation from the reference (TRL β; τ for ipo)"),
       schema::field("loss_type", &O::loss_type,
                     "one loss or a list (summed with loss_weights), TRL's names"),
       schema::field("loss_weights", &O::loss_weights,
                     "one weight per loss_type entry; empty: 1 each"),
       schema::field("label_smoothing", &O::label_smoothing,
                     "ε of sigmoid (cDPO), robust ([0, 0.5)) and exo_pair ((0, 0.5])"),
       schema::field("discopop_tau", &O::discopop_tau, "DiscoPOP temperature"),
       schema::field("use_weighting", &O::use_weighting,
                     "WPO: weight pairs by the policy's length-normalised probability"),
       schema::field("ld_alpha", &O::ld_alpha,
                     "LD-DPO weight of the tokens past the shared length, in [0, 1]; null: off"),
       schema::field("divergence", &O::divergence,
                     "score map g of the log-ratios (objective.md §2; TRL f_divergence_type)"),
       schema::field("divergence_alpha", &O::divergence_alpha,
                     "coefficient of divergence: alpha, in (0, 1)"),
       schema::field("gamma", &O::gamma, "weight of the semantic kernel margin; 0: off (§3)"),
       schema::field("kernel", &O::kernel, "kernel of the semantic margin (§4)"),
       schema::field("placement", &O::placement,
                     "logit: γ·m inside the loss's logit; additive: subtracted from the loss"),
       schema::field("embedding_source", &O::embedding_source,
                     "policy / reference hidden states, the data's precomputed columns, or the sentence_encoder"),
       schema::field("normalize_embeddings", &O::normalize, "L2-normalise the embeddings"),
       schema::field("hmk_entropy_weight", &O::hmk_entropy_weight,
                     "entropy regulariser of the HMK mixture weights (§5)"),
       schema::field("kernel_learning_rate", &O::kernel_learning_rate,
                     "AdamW learning rate of the kernel parameters"),
       schema::Field<ObjectiveConfig>{
           "learn_kernel", "learn the kernel hyper-parameters (softplus / softmax)",
           [](O& out, const YAML::Node& node, const std::string& key) {
             out.kernel_options.learn = schema::read_value<bool>(node, key);
           },
           [](const O& in) { return YAML::Node(in.kernel_options.learn); }},
       schema::nested("kernel_options", &O::kernel_options, kernel_options_section(),
                      "kernel hyper-parameters"),
       schema::field("penalty_alpha", &O::penalty_alpha,
                     "weight of the token-level divergence penalty; 0: off (§6)"),
       schema::field("penalty_divergence", &O::penalty_divergence,
                     "token-level divergence of the penalty"),
       schema::field("penalty_on", &O::penalty_on, "completions penalised: chosen or both"),
       schema::field("renyi_order", &O::renyi_order, "order of penalty_divergence: renyi (!= 1)"),
       schema::field("penalty_topk", &O::topk,
                     "support of wasserstein and of the cached reference (precompute_ref_topk)"),
       schema::field("sinkhorn_epsilon", &O::sinkhorn_epsilon, "Sinkhorn entropic regulariser"),
       schema::field("sinkhorn_iterations", &O::sinkhorn_iterations, "Sinkhorn iterations"),
       schema::field("penalty_chunk_size", &O::penalty_chunk_size,
                     "completion positions per streamed penalty chunk")});
  return kSection;
}

}  // namespace dpok::train
