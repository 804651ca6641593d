// Evaluation on the held-out split: the objective's metrics averaged over pairs, against the
// reference values computed (or supplied by the dataset) before step 0, with a 95% interval on
// the reward accuracy. The penalty and reference-sourced embeddings additionally run the frozen
// reference's forward for its hidden states, or read the split's top-k cache. With several ranks
// each evaluates every world_size-th batch and the per-pair sums are added over ranks, so the
// statistics are those of one process over the whole split.
#include "dpok/train/trainer_impl.h"

namespace dpok::train {

MetricMap evaluate_split(TrainerImpl& t) {
  const auto& eval = t.splits.eval;
  if (eval.records.empty()) return {};
  torch::NoGradGuard no_grad;
  data::BatchIterator batches(eval, t.config.per_device_eval_batch_size, /*seed=*/0,
                              /*shuffle=*/false, /*group_by_length=*/false, t.pad_id,
                              /*drop_last=*/false, t.config.data.pad_to_multiple_of.value_or(0));
  MetricMap sums;
  double pairs = 0;
  // A split of fewer batches than ranks is evaluated whole by every rank (no rank is idle with
  // no metrics to add).
  const bool split = t.dp.distributed() && batches.batches_per_epoch() >= t.dp.group->world_size();
  for (int64_t index = 0; auto batch = batches.next(); ++index) {
    if (split && !dist::takes_batch(t.dp.group.get(), index)) continue;
    auto out = batch_objective(t, *batch, t.eval_ref, /*rank_share=*/false);
    const double b = static_cast<double>(batch->num_pairs());
    for (const auto& [name, value] : out.metrics) sums[name] += value.item<double>() * b;
    pairs += b;
  }
  if (split) {
    std::vector<double> values{pairs};
    for (const auto& [name, sum] : sums) values.push_back(sum);
    sum_over_ranks(t, values, "all_reduce of the evaluation sums");
    pairs = values[0];
    size_t i = 1;
    for (auto& [name, sum] : sums) sum = values[i++];
  }
  MetricMap metrics;
  for (const auto& [name, sum] : sums) metrics[name] = sum / pairs;
  if (auto acc = metrics.find("rewards/accuracies"); acc != metrics.end()) {
    // Every pair contributes 0 or 1 to the batch means, so the weighted sum is the exact count.
    const auto [low, high] = wilson_interval(std::round(acc->second * pairs), pairs);
    metrics["rewards/accuracies_ci_low"] = low;
    metrics["rewards/accuracies_ci_high"] = high;
  }
  metrics["num_pairs"] = pairs;
  return with_eval_prefix(metrics);
}

}  // namespace dpok::train
