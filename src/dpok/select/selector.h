// The model-facing half of `dpok select` (objective.md §7): builds the candidate kernels, scores
// them on a record sample's embeddings, measures the divergence metrics with the reference
// model, and writes the recommendation as a config fragment.
//
// Does: kernel candidates from dpok::objective (linear, rbf, polynomial, spectral, mahalanobis
// with their §4 defaults, fixed); chosen–rejected MMD² per kernel (exact up to
// kExactGramPoints points, else random Fourier features for rbf and Nyström for the others);
// divergence metrics streamed over the chosen completions; the YAML fragment and JSON.
// Does not: load models or data (the CLI does), train (--validate lives in validate.h).
#pragma once

#include <ATen/ATen.h>
#include <nlohmann/json.hpp>

#include <span>
#include <string>
#include <vector>

#include "dpok/data/record.h"
#include "dpok/model/causal_lm.h"
#include "dpok/select/divergence_metrics.h"
#include "dpok/select/kernel_metrics.h"

namespace dpok::select {

// Above this many points (chosen + rejected) the MMD² uses feature approximations.
inline constexpr std::int64_t kExactGramPoints = 1024;
inline constexpr std::int64_t kRandomFeatures = 2048;
inline constexpr std::int64_t kNystromLandmarks = 256;

struct KernelCandidate {
  std::string name;
  LogKernelFn log_kernel;
  bool rbf = false;  // closed-form RFF applies (σ below)
  double sigma = 1.0;
};

// The five single kernels of objective.md §4 with default hyper-parameters, for embeddings of
// width `dim` (mahalanobis identity-initialised).
std::vector<KernelCandidate> default_kernel_candidates(std::int64_t dim);

struct KernelScore {
  KernelMetrics metrics;
  double mmd2 = 0.0;       // chosen vs rejected completion embeddings
  std::string mmd_method;  // "exact", "rff(D)", "nystrom(m)"
};

// Scores every candidate on L2-normalised prompt/chosen/rejected embeddings [N, d].
std::vector<KernelScore> score_kernels(const std::vector<KernelCandidate>& candidates,
                                       const at::Tensor& prompt, const at::Tensor& chosen,
                                       const at::Tensor& rejected, std::uint64_t seed);

// Streams the reference's next-token distributions over the chosen completions of `records`.
// Throws ConfigError (too few tokens) from DivergenceAccumulator::finish.
DivergenceMetrics measure_divergence(model::CausalLM& reference,
                                     std::span<const data::PreferenceRecord> records,
                                     std::int64_t batch_size, std::int64_t pad_id);

struct Selection {
  std::vector<KernelScore> kernels;
  DivergenceMetrics divergence;
  KernelRecommendation kernel;
  DivergenceRecommendation divergence_choice;
};

// The whole selection on `records` with the `reference` model: the records' embedding columns when
// they carry them (precomputed, or train::fill_encoder_embeddings'), else embeddings pooled from
// the reference (eval::score_pairs); L2-normalised in fp64, scored by every default kernel
// candidate (`seed` for the approximations); the divergence metrics; both recommendations. Throws
// ConfigError from scoring (no records, batch_size < 1) and measure_divergence.
Selection select_for(model::CausalLM& reference, std::span<const data::PreferenceRecord> records,
                     std::int64_t batch_size, std::int64_t pad_id, std::uint64_t seed);

// A trainer-config fragment (YAML): gamma, kernel, penalty_divergence, penalty_alpha (0.05 when
// a divergence is recommended over plain kl, else 0), renyi kernel_options when needed, with the
// reasons as comments.
std::string config_fragment(const Selection& selection);

nlohmann::json to_json(const Selection& selection);

// The printed tables (kernels, divergence metrics, recommendation).
std::string format_selection(const Selection& selection);

}  // namespace dpok::select
