// Binary-classification and clustering metrics of the implicit-reward classifier
// (objective.md §8): precision, recall, F1, ROC-AUC, and the Davies–Bouldin score.
//
// Semantics match scikit-learn (precision_score / recall_score / f1_score with
// zero_division=0, roc_auc_score with tied scores counted as half, davies_bouldin_score) so
// numbers are comparable with Python pipelines; tests check them against sklearn to 1e-6.
// Pure functions, fp64. Degenerate input (one class only, too few records, a non-finite score)
// throws ConfigError rather than returning NaN.
#pragma once

#include <ATen/ATen.h>

#include <cstdint>
#include <span>

namespace dpok::eval {

// Labels are 1 (chosen / safe / compliant) or 0 (rejected / unsafe); a record is predicted
// positive when its score is > 0 (the sign of the implicit reward β(ℓ_θ − ℓ_ref)).
struct BinaryMetrics {
  std::size_t positives = 0;  // records labelled 1
  std::size_t negatives = 0;  // records labelled 0
  double precision = 0.0;     // TP / (TP + FP); 0 when nothing is predicted positive
  double recall = 0.0;        // TP / (TP + FN)
  double f1 = 0.0;            // 2PR / (P + R); 0 when P + R = 0
  double roc_auc = 0.0;       // area under the ROC curve of the raw scores
};

// ROC-AUC of `scores` against 0/1 `labels`. Throws ConfigError when the lengths differ, a label
// is not 0/1, a score is not finite, or only one class is present.
double roc_auc(std::span<const double> scores, std::span<const int> labels);

// Precision/recall/F1 of sign(score) and the ROC-AUC. Same throws as roc_auc.
BinaryMetrics binary_metrics(std::span<const double> scores, std::span<const int> labels);

// Davies–Bouldin score of points `x` [N, d] (any floating dtype, computed in fp64) clustered by
// `labels` [N] (any integer values; each distinct value is one cluster). Lower is better.
// Throws ConfigError when sizes differ, x is not 2-D, or the number of clusters is not in
// [2, N − 1] (sklearn's condition).
double davies_bouldin(const at::Tensor& x, std::span<const std::int64_t> labels);

}  // namespace dpok::eval
