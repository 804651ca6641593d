// Precision/recall/F1, ROC-AUC and Davies–Bouldin with scikit-learn's conventions.
#include "dpok/eval/classification.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <numeric>
#include <vector>

#include "dpok/core/error.h"

namespace dpok::eval {
namespace {

void check_scored_labels(std::span<const double> scores, std::span<const int> labels) {
  if (scores.size() != labels.size()) {
    DPOK_THROW(ConfigError, "eval", "{} scores but {} labels", scores.size(), labels.size());
  }
  for (std::size_t i = 0; i < labels.size(); ++i) {
    if (labels[i] != 0 && labels[i] != 1) {
      DPOK_THROW(ConfigError, "eval", "record {}: label must be 0 or 1, got {}", i, labels[i]);
    }
    if (!std::isfinite(scores[i])) {
      DPOK_THROW(ConfigError, "eval", "record {}: score is not finite ({})", i, scores[i]);
    }
  }
  const auto positives = std::count(labels.begin(), labels.end(), 1);
  if (positives == 0 || positives == static_cast<std::ptrdiff_t>(labels.size())) {
    DPOK_THROW(ConfigError, "eval",
               "classification metrics need both labels 0 and 1; got {} records, {} labelled 1",
               labels.size(), positives);
  }
}

}  // namespace

double roc_auc(std::span<const double> scores, std::span<const int> labels) {
  check_scored_labels(scores, labels);
  std::vector<std::size_t> order(scores.size());
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(),
            [&](std::size_t a, std::size_t b) { return scores[a] > scores[b]; });
  // Walk the distinct thresholds from high to low and integrate the ROC curve with the
  // trapezoid rule, as sklearn's roc_curve + auc do; a block of tied scores moves diagonally,
  // which counts each tied (positive, negative) pair as one half.
  double tp = 0.0, fp = 0.0, prev_tp = 0.0, prev_fp = 0.0, area = 0.0;
  for (std::size_t i = 0; i < order.size(); ++i) {
    if (labels[order[i]] == 1) {
      tp += 1.0;
    } else {
      fp += 1.0;
    }
    const bool block_ends = i + 1 == order.size() || scores[order[i + 1]] != scores[order[i]];
    if (block_ends) {
      area += (fp - prev_fp) * (tp + prev_tp) / 2.0;
      prev_tp = tp;
      prev_fp = fp;
    }
  }
  return area / (tp * fp);
}

BinaryMetrics binary_metrics(std::span<const double> scores, std::span<const int> labels) {
  BinaryMetrics metrics;
  metrics.roc_auc = roc_auc(scores, labels);
  double tp = 0.0, fp = 0.0, fn = 0.0;
  for (std::size_t i = 0; i < scores.size(); ++i) {
    const bool predicted = scores[i] > 0.0;
    if (labels[i] == 1) {
      ++metrics.positives;
      (predicted ? tp : fn) += 1.0;
    } else {
      ++metrics.negatives;
      if (predicted) fp += 1.0;
    }
  }
  metrics.precision = tp + fp > 0.0 ? tp / (tp + fp) : 0.0;
  metrics.recall = tp / (tp + fn);
  const double sum = metrics.precision + metrics.recall;
  metrics.f1 = sum > 0.0 ? 2.0 * metrics.precision * metrics.recall / sum : 0.0;
  return metrics;
}

double davies_bouldin(const at::Tensor& x, std::span<const std::int64_t> labels) {
  if (x.dim() != 2) {
    DPOK_THROW(ConfigError, "eval", "Davies-Bouldin needs 2-D points [N, d], got {} dims", x.dim());
  }
  const auto n = static_cast<std::size_t>(x.size(0));
  if (labels.size() != n) {
    DPOK_THROW(ConfigError, "eval", "Davies-Bouldin: {} points but {} labels", n, labels.size());
  }
  std::map<std::int64_t, std::vector<std::int64_t>> members;
  for (std::size_t i = 0; i < n; ++i) members[labels[i]].push_back(static_cast<std::int64_t>(i));
  const auto k = static_cast<std::int64_t>(members.size());
  if (k < 2 || static_cast<std::size_t>(k) > n - 1) {
    DPOK_THROW(ConfigError, "eval",
               "Davies-Bouldin needs between 2 and N-1 clusters; got {} clusters for {} points", k,
               n);
  }
  const auto points = x.to(at::kDouble).contiguous();
  if (!at::isfinite(points).all().item<bool>()) {
    DPOK_THROW(ConfigError, "eval", "Davies-Bouldin: the points contain non-finite values");
  }
  auto centroids = at::empty({k, points.size(1)}, points.options());
  auto scatter = at::empty({k}, points.options());
  std::int64_t c = 0;
  for (const auto& [label, index] : members) {
    const auto cluster = points.index_select(0, at::tensor(index, at::kLong));
    const auto centroid = cluster.mean(0);
    centroids[c] = centroid;
    scatter[c] = (cluster - centroid).norm(2, {1}).mean();
    ++c;
  }
  const auto separation = at::cdist(centroids, centroids);
  // sklearn returns 0 when every scatter or every centroid distance is (numerically) zero.
  if (at::allclose(scatter, at::zeros_like(scatter)) ||
      at::allclose(separation, at::zeros_like(separation))) {
    return 0.0;
  }
  const auto safe =
      separation.masked_fill(separation == 0.0, std::numeric_limits<double>::infinity());
  const auto ratio = (scatter.unsqueeze(1) + scatter.unsqueeze(0)) / safe;
  return std::get<0>(ratio.max(1)).mean().item<double>();
}

}  // namespace dpok::eval
