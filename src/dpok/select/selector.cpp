// Kernel candidates, kernel scores with MMD², divergence measurement and the recommendation
// outputs (selector.h).
#include "dpok/select/selector.h"

#include <torch/types.h>

#include <algorithm>

#include "dpok/core/error.h"
#include "dpok/eval/evaluator.h"
#include "dpok/model/logprobs.h"
#include "dpok/objective/config.h"
#include "dpok/objective/kernels.h"
#include "dpok/objective/semantic.h"
#include "dpok/select/approx.h"

namespace dpok::select {

std::vector<KernelCandidate> default_kernel_candidates(std::int64_t dim) {
  using objective::KernelType;
  std::vector<KernelCandidate> out;
  const objective::KernelOptions options;  // §4 defaults, fixed parameters
  // Every kernel of the objective's name table, so a new kernel is a candidate without a change
  // here; HMK is a mixture of the others, not a candidate of its own.
  for (const auto& entry : objective::enum_names(KernelType{})) {
    const KernelType type = entry.value;
    if (type == KernelType::kHmk) continue;
    objective::Kernel kernel(type, options, dim);
    kernel->to(at::kDouble);  // selection metrics run in fp64 (objective.md §0)
    KernelCandidate candidate;
    candidate.name = objective::to_string(type);
    candidate.rbf = type == KernelType::kRbf;
    candidate.sigma = options.sigma;
    // Row-wise log K(u, v): the pair form with v as both sides.
    candidate.log_kernel = [kernel](const at::Tensor& u, const at::Tensor& v) mutable {
      torch::NoGradGuard no_grad;
      const auto u64 = u.to(at::kDouble), v64 = v.to(at::kDouble);
      return kernel->log_kernel_pair(u64, v64, v64).first;
    };
    out.push_back(std::move(candidate));
  }
  return out;
}

std::vector<KernelScore> score_kernels(const std::vector<KernelCandidate>& candidates,
                                       const at::Tensor& prompt, const at::Tensor& chosen,
                                       const at::Tensor& rejected, std::uint64_t seed) {
  std::vector<KernelScore> scores;
  const auto points = 2 * chosen.size(0);
  for (const auto& candidate : candidates) {
    KernelScore score;
    score.metrics = kernel_metrics(candidate.name, candidate.log_kernel, prompt, chosen, rejected);
    const auto gram = gram_from_log_kernel(candidate.log_kernel);
    if (points <= kExactGramPoints) {
      score.mmd2 = mmd2_exact(gram, chosen.to(at::kDouble), rejected.to(at::kDouble));
      score.mmd_method = "exact";
    } else {
      const auto both = at::cat({chosen, rejected}, 0).to(at::kDouble);
      at::Tensor features;
      if (candidate.rbf) {
        features = rff_features(both, candidate.sigma, kRandomFeatures, seed);
        score.mmd_method = fmt::format("rff({})", kRandomFeatures);
      } else {
        const auto landmarks = std::min<std::int64_t>(kNystromLandmarks, points);
        features = nystrom_features(both, gram, landmarks, seed);
        score.mmd_method = fmt::format("nystrom({})", landmarks);
      }
      const auto n = chosen.size(0);
      score.mmd2 = mmd2_from_features(features.slice(0, 0, n), features.slice(0, n));
    }
    scores.push_back(std::move(score));
  }
  return scores;
}

DivergenceMetrics measure_divergence(model::CausalLM& reference,
                                     std::span<const data::PreferenceRecord> records,
                                     std::int64_t batch_size, std::int64_t pad_id) {
  reference->eval();
  const auto device = reference->options().device();
  DivergenceAccumulator accumulator;
  eval::for_each_batch(records, batch_size, pad_id, [&](const data::PreferenceBatch& batch) {
    const auto b = batch.num_pairs();
    // Rows 0..B−1 are the chosen sequences.
    const auto ids = batch.input_ids.slice(0, 0, b);
    const auto targets =
        model::completion_targets(ids, batch.completion_mask.slice(0, 0, b)).to(device);
    const auto hidden =
        reference->forward_hidden(ids.to(device), batch.attention_mask.slice(0, 0, b).to(device));
    for (std::int64_t row = 0; row < b; ++row) {
      const auto positions = (targets[row] >= 0).nonzero().squeeze(1);
      if (positions.numel() == 0) continue;
      const auto logits = reference->logits(hidden[row].index_select(0, positions));
      accumulator.add(at::log_softmax(logits.to(at::kFloat), -1),
                      targets[row].index_select(0, positions));
    }
  });
  return accumulator.finish();
}

namespace {

// Penalty weight suggested with a non-default divergence (objective.md §6: typical 0.01–0.1).
constexpr double kSuggestedPenaltyAlpha = 0.05;

nlohmann::json kernel_json(const KernelScore& k) {
  return {{"kernel", k.metrics.kernel},
          {"records", k.metrics.records},
          {"pnd", k.metrics.pnd},
          {"pnav", k.metrics.pnav},
          {"tat", k.metrics.tat},
          {"nag", k.metrics.nag},
          {"mean_margin", k.metrics.mean_margin},
          {"mmd2", k.mmd2},
          {"mmd_method", k.mmd_method}};
}

}  // namespace

namespace {

// One embedding column of every record as [N, d].
at::Tensor record_embeddings(std::span<const data::PreferenceRecord> records,
                             std::vector<float> data::PreferenceRecord::*column) {
  const auto dim = static_cast<int64_t>((records.front().*column).size());
  auto out = at::empty({static_cast<int64_t>(records.size()), dim}, at::kFloat);
  for (size_t i = 0; i < records.size(); ++i) {
    out[static_cast<int64_t>(i)].copy_(at::tensor(records[i].*column));
  }
  return out;
}

}  // namespace

Selection select_for(model::CausalLM& reference, std::span<const data::PreferenceRecord> records,
                     std::int64_t batch_size, std::int64_t pad_id, std::uint64_t seed) {
  // The records' own embedding columns (precomputed, or a sentence encoder's) when they carry
  // them, else embeddings pooled from the reference's hidden states.
  at::Tensor prompt, chosen, rejected;
  if (!records.empty() && !records.front().prompt_embedding.empty()) {
    prompt = record_embeddings(records, &data::PreferenceRecord::prompt_embedding);
    chosen = record_embeddings(records, &data::PreferenceRecord::chosen_embedding);
    rejected = record_embeddings(records, &data::PreferenceRecord::rejected_embedding);
  } else {
    const auto scored = eval::score_pairs(reference, records, {batch_size, pad_id, true});
    prompt = scored.prompt_embedding;
    chosen = scored.chosen_embedding;
    rejected = scored.rejected_embedding;
  }
  Selection s;
  // objective.md §3: embeddings are L2-normalised by default; in fp64 so that margins that are
  // mathematically equal (or 0, for identical completions) stay equal (§0: fp64 metrics).
  s.kernels = score_kernels(default_kernel_candidates(prompt.size(1)),
                            objective::l2_normalize(prompt.to(at::kDouble)),
                            objective::l2_normalize(chosen.to(at::kDouble)),
                            objective::l2_normalize(rejected.to(at::kDouble)), seed);
  s.divergence = measure_divergence(reference, records, batch_size, pad_id);
  std::vector<KernelMetrics> metrics;
  for (const auto& k : s.kernels) metrics.push_back(k.metrics);
  s.kernel = recommend_kernel(metrics);
  s.divergence_choice = recommend_divergence(s.divergence);
  return s;
}

std::string config_fragment(const Selection& s) {
  std::string yaml = "# dpok select recommendation (objective.md section 7)\n";
  for (const auto& reason : s.kernel.reasons) yaml += "# kernel: " + reason + "\n";
  for (const auto& reason : s.divergence_choice.reasons) yaml += "# divergence: " + reason + "\n";
  if (s.kernel.kernel == "none") {
    yaml += "gamma: 0.0\n";
  } else {
    yaml += fmt::format("gamma: {}\nkernel: {}\n", s.kernel.gamma, s.kernel.kernel);
  }
  const bool penalty = s.divergence_choice.divergence != "kl";
  yaml += fmt::format("penalty_divergence: {}\npenalty_alpha: {}\n", s.divergence_choice.divergence,
                      penalty ? kSuggestedPenaltyAlpha : 0.0);
  if (s.divergence_choice.divergence == "renyi") {
    yaml += fmt::format("renyi_order: {}\n", s.divergence_choice.renyi_order);
  }
  return yaml;
}

nlohmann::json to_json(const Selection& s) {
  nlohmann::json kernels = nlohmann::json::array();
  for (const auto& k : s.kernels) kernels.push_back(kernel_json(k));
  const auto& d = s.divergence;
  return {{"kernels", kernels},
          {"divergence",
           {{"tokens", d.tokens},
            {"support_overlap", d.support_overlap},
            {"drift", d.drift},
            {"kurtosis", d.kurtosis},
            {"smoothness", d.smoothness},
            {"mean_surprisal", d.mean_surprisal},
            {"mean_entropy", d.mean_entropy}}},
          {"recommendation",
           {{"kernel", s.kernel.kernel},
            {"gamma", s.kernel.gamma},
            {"kernel_reasons", s.kernel.reasons},
            {"divergence", s.divergence_choice.divergence},
            {"divergence_alternatives", s.divergence_choice.alternatives},
            {"divergence_reasons", s.divergence_choice.reasons}}}};
}

std::string format_selection(const Selection& s) {
  std::string out = fmt::format("{:<12} {:>7} {:>9} {:>10} {:>7} {:>8} {:>10}  {}\n", "kernel",
                                "records", "PND", "PNAV", "TAT", "NAG", "MMD2", "MMD2 method");
  for (const auto& k : s.kernels) {
    const auto& m = k.metrics;
    out += fmt::format("{:<12} {:>7} {:>9.4f} {:>10.4g} {:>7.3f} {:>8.4f} {:>10.4g}  {}\n",
                       m.kernel, m.records, m.pnd, m.pnav, m.tat, m.nag, k.mmd2, k.mmd_method);
  }
  const auto& d = s.divergence;
  out += fmt::format(
      "\ndivergence metrics over {} chosen-completion tokens (reference model):\n"
      "  support overlap (top-p {}) {:.4f}\n  drift magnitude           {:.4f} nats "
      "(surprisal {:.4f} - entropy {:.4f})\n  excess kurtosis           {:.4f}\n"
      "  smoothness (mean TV)      {:.4f}\n",
      d.tokens, kNucleusP, d.support_overlap, d.drift, d.mean_surprisal, d.mean_entropy, d.kurtosis,
      d.smoothness);
  out += fmt::format("\nrecommendation: kernel {}, gamma {}, divergence {}\n", s.kernel.kernel,
                     s.kernel.gamma, s.divergence_choice.divergence);
  for (const auto& r : s.kernel.reasons) out += "  - " + r + "\n";
  for (const auto& r : s.divergence_choice.reasons) out += "  - " + r + "\n";
  return out;
}

}  // namespace dpok::select
