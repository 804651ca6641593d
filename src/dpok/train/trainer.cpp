// The training loop (style.md rule 7): one optimizer update per run_step, each arrow a function.
#include "dpok/train/trainer.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <iostream>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "dpok/core/error.h"
#include "dpok/core/torch/runtime.h"
#include "dpok/model/logprobs.h"
#include "dpok/model/scoring.h"
#include "dpok/objective/reference_update.h"
#include "dpok/objective/semantic.h"
#include "dpok/objective/weighting.h"
#include "dpok/train/mixed_precision.h"
#include "dpok/train/progress.h"
#include "dpok/train/trainer_impl.h"

namespace dpok::train {
namespace {

using objective::EmbeddingNeed;
using objective::TokenNeed;

struct StepResult {
  bool applied = false;
  MetricMap metrics;
};

// The micro-batches' metrics summed where they were computed; mean() copies them to the CPU in
// one transfer, so a step synchronises with the device once for all of them.
class MetricSums {
 public:
  void add(const std::map<std::string, at::Tensor>& metrics) {
    for (const auto& [name, value] : metrics) {
      auto v = value.detach().to(at::kDouble);
      auto [it, inserted] = sums_.try_emplace(name, v);
      if (!inserted) it->second = it->second + v;
    }
    ++count_;
  }

  MetricMap mean() const {
    std::vector<at::Tensor> values;
    for (const auto& entry : sums_) values.push_back(entry.second);
    const auto host = at::stack(values).to(at::kCPU).contiguous();
    const double* data = host.data_ptr<double>();
    MetricMap out;
    size_t i = 0;
    for (const auto& entry : sums_) out[entry.first] = data[i++] / static_cast<double>(count_);
    return out;
  }

 private:
  std::map<std::string, at::Tensor> sums_;
  int64_t count_ = 0;
};

data::PreferenceBatch next_batch(TrainerImpl& t) {
  auto batch = t.batches->next();
  if (!batch) batch = t.batches->next();  // end of an epoch: the next call starts the next one
  DPOK_CHECK(batch.has_value(), "batch iterator returned no batch at the start of an epoch");
  return std::move(*batch);
}

// SFT alone (`dpok sft`, or `loss_type: [sft]`): only the chosen rows are run, and the loss is
// the objective's one definition of it (objective::chosen_token_nll).
// The sft term's divisor for a rank's share of a global batch: the chosen tokens over all ranks,
// divided by the world size (PairInputs::chosen_token_count); undefined alone, without sft, or
// for a batch of the rank's own.
at::Tensor chosen_token_count(TrainerImpl& t, const at::Tensor& chosen_lengths, bool rank_share) {
  if (!rank_share || !t.needs.chosen_token_mean || !t.dp.distributed()) return {};
  std::vector<double> count{chosen_lengths.sum().item<double>()};
  sum_over_ranks(t, count, "all_reduce of the chosen token count");
  return at::scalar_tensor(count[0] / t.dp.group->world_size(), at::kDouble);
}

objective::ObjectiveOutput sft_objective(TrainerImpl& t, const data::PreferenceBatch& batch,
                                         bool rank_share) {
  const int64_t b = batch.num_pairs();
  auto rows = [&](const at::Tensor& x) { return x.narrow(0, 0, b).to(t.device); };
  auto scores = model::score_sequences(t.compute, rows(batch.input_ids), rows(batch.attention_mask),
                                       rows(batch.completion_mask), t.config.logprob_chunk_rows);
  objective::ObjectiveOutput out;
  out.loss = objective::chosen_token_nll(scores.logps, scores.lengths,
                                         chosen_token_count(t, scores.lengths, rank_share));
  out.metrics["loss"] = out.loss.detach();
  out.metrics["logps/chosen"] = scores.logps.detach().mean();
  out.metrics["logits/chosen"] = scores.logits_mean.mean();
  return out;
}

// The sequence log-probs [2B] the preference loss sees: the plain sums, or LD-DPO's
// length-desensitised ones (ld_alpha), for policy and reference alike.
at::Tensor sequence_logps(const TrainerImpl& t, const model::SequenceScores& scores) {
  const auto& ld_alpha = t.config.objective.ld_alpha;
  if (!ld_alpha) return scores.logps;
  return objective::length_desensitized_logps(scores.token_logps, scores.targets >= 0, *ld_alpha);
}

// WPO pair weights [B] (use_weighting): log Σ_v p_v² at every completion position, projected from
// the policy's final hidden states in slices of rows so no [2B, T, V] tensor exists, then
// objective::wpo_pair_weights. Constants of the step: no gradient.
at::Tensor wpo_weights(const TrainerImpl& t, const model::SequenceScores& policy) {
  torch::NoGradGuard no_grad;
  const auto positions = policy.targets >= 0;
  const auto weight = t.compute->lm_head_weight();
  const auto hidden = policy.hidden.index({positions});  // [N, H]
  const int64_t rows = model::auto_chunk_rows(weight.size(0));
  std::vector<at::Tensor> parts;
  for (int64_t start = 0; start < hidden.size(0); start += rows) {
    const auto chunk = hidden.narrow(0, start, std::min(rows, hidden.size(0) - start));
    parts.push_back(objective::log_sum_squared_probs(at::matmul(chunk, weight.t()).to(at::kFloat)));
  }
  auto lssp = at::zeros(positions.sizes(), policy.token_logps.options());
  if (!parts.empty()) lssp.index_put_({positions}, at::cat(parts));
  return objective::wpo_pair_weights(policy.token_logps.detach(), lssp, positions);
}

// Reference log-probs [B] of chosen and rejected: rows of a precomputed (or dataset-supplied)
// table, or an online forward of the frozen reference; its hidden states come along when the plan
// says the step needs them (reference_plan.h).
struct ReferenceScores {
  at::Tensor chosen, rejected, hidden;
};

ReferenceScores reference_scores(TrainerImpl& t, const data::PreferenceBatch& batch,
                                 const at::Tensor& ids, const at::Tensor& mask,
                                 const at::Tensor& completion, const SplitReference& ref) {
  const int64_t b = batch.num_pairs();
  torch::NoGradGuard no_grad;
  // With LoRA the reference is the policy with its adapters off (a no-op for a separate model).
  std::optional<model::AdaptersDisabled> base_only;
  if (!t.reference.is_empty()) base_only.emplace(*t.reference);
  if (ref.table.defined()) {
    auto rows = ref.table.index_select(0, torch::tensor(batch.record_indices, torch::kLong));
    ReferenceScores out{rows.select(1, 0).to(t.device), rows.select(1, 1).to(t.device), {}};
    if (t.plan.reference_hidden) {
      DPOK_CHECK(!t.reference.is_empty(), "the plan needs the reference's hidden states");
      out.hidden = t.reference->forward_hidden(ids, mask);
    }
    return out;
  }
  DPOK_CHECK(!t.reference.is_empty(), "no reference model and no reference table");
  auto scores =
      model::score_sequences(t.reference, ids, mask, completion, t.config.logprob_chunk_rows);
  const auto logps = sequence_logps(t, scores);
  return {logps.narrow(0, 0, b), logps.narrow(0, b, b), scores.hidden};
}

// D̄ of objective.md §6 from the final hidden states: against the top-k cache when the split
// has one, else against the online reference's hidden states.
at::Tensor token_penalty(TrainerImpl& t, const data::PreferenceBatch& batch,
                         const model::SequenceScores& policy, const ReferenceScores& reference,
                         const SplitReference& ref) {
  const auto positions = policy.targets >= 0;
  const objective::LmHeadStates states{policy.hidden, t.compute->lm_head_weight()};
  const auto embeddings = t.compute->embedding_weight();
  if (ref.topk) {
    const int64_t rows = ref.topk->rows_per_record() * batch.num_pairs();
    auto cached = ref.topk->gather(batch.record_indices, positions.narrow(0, 0, rows));
    return t.objective->penalty_topk(states, cached.ids.to(t.device), cached.logps.to(t.device),
                                     positions, embeddings);
  }
  DPOK_CHECK(reference.hidden.defined(), "the token penalty needs the online reference");
  const auto reference_head = [&] {
    const model::AdaptersDisabled base_only(*t.reference);  // LoRA: the base's LM head
    return t.reference->lm_head_weight();
  }();
  return t.objective->penalty(states, {reference.hidden, reference_head}, positions, embeddings);
}

// §3 embeddings from where the objective wants them: the records' columns, or pooled from the
// forward the loss already ran (no extra model call).
void set_embeddings(TrainerImpl& t, const data::PreferenceBatch& batch,
                    const model::SequenceScores& policy, const ReferenceScores& ref,
                    const at::Tensor& completion, objective::PairInputs& in) {
  if (t.needs.embeddings == EmbeddingNeed::kDataset) {
    in.prompt_embedding = batch.prompt_embedding.to(t.device);
    in.chosen_embedding = batch.chosen_embedding.to(t.device);
    in.rejected_embedding = batch.rejected_embedding.to(t.device);
    return;
  }
  const bool from_reference = t.needs.embeddings == EmbeddingNeed::kReferenceHidden;
  const auto& hidden = from_reference ? ref.hidden : policy.hidden;
  DPOK_CHECK(hidden.defined(), "reference embeddings need the reference's hidden states");
  auto e = objective::pool_pair_embeddings(hidden.to(torch::kFloat), batch.prompt_mask.to(t.device),
                                           completion);
  in.prompt_embedding = e.prompt;
  in.chosen_embedding = e.chosen;
  in.rejected_embedding = e.rejected;
}

}  // namespace

objective::ObjectiveOutput batch_objective(TrainerImpl& t, const data::PreferenceBatch& batch,
                                           const SplitReference& ref_source, bool rank_share) {
  if (!t.needs.preference_pairs) return sft_objective(t, batch, rank_share);
  const int64_t b = batch.num_pairs();
  auto ids = batch.input_ids.to(t.device);
  auto mask = batch.attention_mask.to(t.device);
  auto completion = batch.completion_mask.to(t.device);
  auto policy =
      model::score_sequences(t.compute, ids, mask, completion, t.config.logprob_chunk_rows);
  const double fill_ratio = t.compute->last_fill_ratio();
  auto ref = reference_scores(t, batch, ids, mask, completion, ref_source);

  objective::PairInputs in;
  const auto policy_logps = sequence_logps(t, policy);
  in.policy_chosen_logps = policy_logps.narrow(0, 0, b);
  in.policy_rejected_logps = policy_logps.narrow(0, b, b);
  if (t.config.objective.use_weighting) in.pair_weights = wpo_weights(t, policy);
  in.ref_chosen_logps = ref.chosen;
  in.ref_rejected_logps = ref.rejected;
  in.chosen_lengths = policy.lengths.narrow(0, 0, b);
  in.rejected_lengths = policy.lengths.narrow(0, b, b);
  in.chosen_token_count = chosen_token_count(t, in.chosen_lengths, rank_share);
  in.policy_chosen_logits_mean = policy.logits_mean.narrow(0, 0, b);
  in.policy_rejected_logits_mean = policy.logits_mean.narrow(0, b, b);
  if (t.needs.embeddings != EmbeddingNeed::kNone) {
    set_embeddings(t, batch, policy, ref, completion, in);
  }
  if (t.needs.token_distributions != TokenNeed::kNone) {
    in.token_penalty = token_penalty(t, batch, policy, ref, ref_source);
  }
  auto out = t.objective->forward(in);
  out.metrics["loss"] = out.loss.detach();
  if (t.config.padding_free) out.metrics["padding_free/fill_ratio"] = at::scalar_tensor(fill_ratio);
  return out;
}

namespace {

// TR-DPO (sync_ref_model): every ref_model_sync_steps updates the online reference moves towards
// the policy's fp32 master weights (objective/reference_update.h).
void sync_reference(TrainerImpl& t) {
  const auto& c = t.config;
  if (!c.sync_ref_model || t.global_step % c.ref_model_sync_steps != 0) return;
  DPOK_CHECK(!t.reference.is_empty(), "sync_ref_model needs the online reference (plan)");
  objective::soft_update_reference(t.reference->parameters(), t.policy->parameters(),
                                   c.ref_model_mixup_alpha);
}

// One optimizer update: gradient_accumulation_steps × (batch → log-probs → objective →
// backward), then clip → step. A non-finite loss or gradient norm skips the update (the
// micro-batches still run: their losses are read once, after the last one).
StepResult run_step(TrainerImpl& t) {
  const auto start = std::chrono::steady_clock::now();
  const int64_t accumulation = t.config.gradient_accumulation_steps;
  t.optimizer->zero_grad();
  MetricSums micro;
  int64_t tokens = 0, pairs = 0;
  for (int64_t i = 0; i < accumulation; ++i) {
    auto batch = next_batch(t);
    auto out = batch_objective(t, batch, t.train_ref, /*rank_share=*/true);
    arm_gradient_sync(t, /*last=*/i == accumulation - 1);  // no communication while accumulating
    (out.loss / static_cast<double>(accumulation)).backward();
    micro.add(out.metrics);
    tokens += batch.attention_mask.sum().item<int64_t>();  // a CPU tensor: no device sync
    pairs += batch.num_pairs();
  }
  finish_gradient_sync(t);  // gradients = the mean over ranks
  // The one device → CPU copy of the step's metrics; a non-finite loss in any micro-batch (of any
  // rank) makes the mean loss non-finite.
  auto metrics = mean_over_ranks(t, micro.mean(), "all_reduce of the update's metrics");
  std::vector<double> counts{static_cast<double>(tokens), static_cast<double>(pairs)};
  sum_over_ranks(t, counts, "all_reduce of the update's token counts");
  tokens = static_cast<int64_t>(counts[0]);
  pairs = static_cast<int64_t>(counts[1]);
  const bool finite = std::isfinite(metrics.at("loss"));
  if (t.mixed_precision()) move_grads_to_master(t.compute->parameters(), t.policy->parameters());
  const double grad_norm =
      finite ? clip_grad_norm(t.optimizer->parameters(), t.config.max_grad_norm) : NAN;
  StepResult result;
  if (!finite || !std::isfinite(grad_norm)) {
    t.optimizer->zero_grad();
    return result;
  }
  t.optimizer->set_lr_multiplier(
      lr_multiplier(t.schedule, t.global_step, t.total_steps, t.warmup_steps));
  t.optimizer->step();
  exchange_updated_parameters(t);  // zero_stage 1: each rank updated its share
  if (t.mixed_precision()) copy_master_to_compute(t.policy->parameters(), t.compute->parameters());
  ++t.global_step;
  t.num_tokens += tokens;
  sync_reference(t);

  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  result.applied = true;
  result.metrics = std::move(metrics);
  result.metrics["grad_norm"] = grad_norm;
  result.metrics["learning_rate"] = t.optimizer->learning_rate();
  result.metrics["epoch"] = static_cast<double>(t.global_step) / t.updates_per_epoch;
  result.metrics["num_tokens"] = static_cast<double>(t.num_tokens);
  result.metrics["tokens_per_second"] = tokens / seconds;
  result.metrics["pairs_per_second"] = pairs / seconds;
  result.metrics["peak_memory"] = static_cast<double>(peak_memory_bytes());
  if (!t.device.is_cpu()) {
    result.metrics["peak_device_memory"] = static_cast<double>(peak_device_memory_bytes(t.device));
  }
  return result;
}

void handle_bad_step(TrainerImpl& t) {
  ++t.skipped;
  ++t.consecutive_bad;
  std::cerr << fmt::format(
      "dpok train: update {} skipped: non-finite loss or gradients ({} in a row)\n",
      t.global_step + 1, t.consecutive_bad);
  if (t.consecutive_bad >= t.config.max_consecutive_bad_steps) {
    DPOK_THROW(Error, "train",
               "stopping: {} consecutive updates had non-finite loss or gradients (limit "
               "max_consecutive_bad_steps = {}); no checkpoint was written for them, the last good "
               "one in {} is intact. Lower learning_rate or check the data.",
               t.consecutive_bad, t.config.max_consecutive_bad_steps, t.output_dir.string());
  }
}

void log_window(TrainerImpl& t, MetricAverager& window) {
  if (window.count() == 0) return;
  if (t.log) t.log->write(t.global_step, window.mean());
  window.reset();
}

MetricMap evaluate_and_log(TrainerImpl& t, const char* title) {
  auto metrics = evaluate_split(t);
  if (metrics.empty()) return metrics;
  if (t.log) t.log->write(t.global_step, metrics);
  if (t.options.show_progress) {
    std::cerr << format_summary_table(fmt::format("{} (step {})", title, t.global_step), metrics);
  }
  return metrics;
}

}  // namespace

Trainer::Trainer(TrainConfig config, TrainOptions options)
    : impl_(std::make_unique<TrainerImpl>()) {
  impl_->config = std::move(config);
  impl_->options = std::move(options);
  setup_trainer(*impl_);
}

Trainer::~Trainer() = default;

TrainResult Trainer::run() {
  auto& t = *impl_;
  const auto& c = t.config;
  TrainResult result;
  StopSignal stop;
  if (!t.resumed) result.initial_eval = evaluate_and_log(t, "eval before training");
  ProgressBar bar(t.total_steps, t.global_step);
  MetricAverager window;
  bool saved_last = false;
  while (t.global_step < t.total_steps) {
    t.dp.group->set_activity(fmt::format("update {}", t.global_step + 1));
    auto step = run_step(t);  // batch → log-probs → objective → backward → clip → step
    if (!step.applied) {
      handle_bad_step(t);
      continue;
    }
    t.consecutive_bad = 0;
    result.losses.push_back(step.metrics["loss"]);
    window.add(step.metrics);
    const bool log_now = t.global_step % c.logging_steps == 0;
    if (t.options.show_progress) {
      bar.update(t.global_step,
                 {step.metrics["loss"], step.metrics["rewards/accuracies"],
                  step.metrics["tokens_per_second"]},
                 log_now);
    }
    if (log_now) log_window(t, window);
    if (c.eval_steps > 0 && t.global_step % c.eval_steps == 0) {
      bar.finish();
      evaluate_and_log(t, "eval");
    }
    saved_last = c.save_steps > 0 && t.global_step % c.save_steps == 0;
    if (saved_last) result.last_checkpoint = write_trainer_checkpoint(t);
    // torchrun delivers SIGTERM to every rank, not necessarily between the same two updates.
    const bool signalled = any_rank(t, stop.requested(), "all_reduce of the stop signal");
    if (signalled || t.global_step == t.options.stop_at_step) {
      result.interrupted = true;
      break;
    }
  }
  bar.finish();
  log_window(t, window);
  if (!saved_last) result.last_checkpoint = write_trainer_checkpoint(t);
  if (!result.interrupted) result.final_eval = evaluate_and_log(t, "eval after training");
  result.global_step = t.global_step;
  result.skipped_steps = t.skipped;
  return result;
}

MetricMap Trainer::evaluate() {
  return evaluate_split(*impl_);
}

std::filesystem::path Trainer::save_checkpoint() {
  return write_trainer_checkpoint(*impl_);
}

model::CausalLM& Trainer::policy() {
  return impl_->policy;
}

const ReferenceInfo& Trainer::reference_info() const {
  return impl_->reference_info;
}

int64_t Trainer::global_step() const {
  return impl_->global_step;
}

int64_t Trainer::total_steps() const {
  return impl_->total_steps;
}

std::pair<double, double> wilson_interval(double successes, double n) {
  DPOK_CHECK(n > 0, "wilson_interval needs n > 0");
  constexpr double kZ = 1.959963984540054;
  const double p = successes / n;
  const double denom = 1 + kZ * kZ / n;
  const double centre = (p + kZ * kZ / (2 * n)) / denom;
  const double half = kZ * std::sqrt(p * (1 - p) / n + kZ * kZ / (4 * n * n)) / denom;
  return {std::max(0.0, centre - half), std::min(1.0, centre + half)};
}

}  // namespace dpok::train
