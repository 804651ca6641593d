#include "dpok/eval/classification.h"

#include <gtest/gtest.h>

#include <random>

#include "dpok/core/error.h"
#include "support/python_oracle.h"

namespace dpok::eval {
namespace {

constexpr const char* kSklearnScript = R"(
import json, sys
import numpy as np
from sklearn.metrics import (davies_bouldin_score, f1_score, precision_score, recall_score,
                             roc_auc_score)
d = json.load(sys.stdin)
out = []
for case in d["cases"]:
    s = np.array(case["scores"], dtype=np.float64)
    y = np.array(case["labels"])
    pred = (s > 0).astype(int)
    out.append({
        "precision": precision_score(y, pred, zero_division=0),
        "recall": recall_score(y, pred, zero_division=0),
        "f1": f1_score(y, pred, zero_division=0),
        "auc": roc_auc_score(y, s),
        "dbs": davies_bouldin_score(np.array(case["points"]), np.array(case["clusters"])),
    })
json.dump(out, sys.stdout)
)";

struct Case {
  std::vector<double> scores;
  std::vector<int> labels;
  at::Tensor points;
  std::vector<std::int64_t> clusters;
};

// Random cases with deliberate ties (scores rounded to a coarse grid) and shifted clusters.
std::vector<Case> make_cases() {
  std::vector<Case> cases;
  std::mt19937_64 g(11);
  for (int c = 0; c < 4; ++c) {
    Case item;
    const int n = 60 + 40 * c;
    std::normal_distribution<double> noise(0.0, 1.0);
    for (int i = 0; i < n; ++i) {
      const int label = (i * 7 + c) % 3 == 0 ? 0 : 1;
      double s = noise(g) + (label == 1 ? 0.6 : -0.2);
      if (c % 2 == 1) s = std::round(s * 4.0) / 4.0;  // ties
      item.scores.push_back(s);
      item.labels.push_back(label);
      item.clusters.push_back(i % (2 + c));
    }
    at::manual_seed(c);
    item.points = at::randn({n, 5}, at::kDouble);
    for (int i = 0; i < n; ++i) item.points[i] += static_cast<double>(item.clusters[i]) * 0.7;
    cases.push_back(std::move(item));
  }
  return cases;
}

nlohmann::json points_json(const at::Tensor& points) {
  nlohmann::json rows = nlohmann::json::array();
  for (std::int64_t i = 0; i < points.size(0); ++i) {
    nlohmann::json row = nlohmann::json::array();
    for (std::int64_t j = 0; j < points.size(1); ++j) row.push_back(points[i][j].item<double>());
    rows.push_back(row);
  }
  return rows;
}

TEST(Classification, MatchesScikitLearn) {
  DPOK_REQUIRE_PYTHON("numpy sklearn");
  const auto cases = make_cases();
  nlohmann::json input;
  for (const auto& c : cases) {
    input["cases"].push_back({{"scores", c.scores},
                              {"labels", c.labels},
                              {"points", points_json(c.points)},
                              {"clusters", c.clusters}});
  }
  const auto reference = testing::run_python(kSklearnScript, input);
  ASSERT_TRUE(reference.has_value() && reference->is_array()) << "sklearn reference failed";
  ASSERT_EQ(reference->size(), cases.size());
  for (std::size_t i = 0; i < cases.size(); ++i) {
    SCOPED_TRACE(i);
    const auto& want = (*reference)[i];
    const auto got = binary_metrics(cases[i].scores, cases[i].labels);
    EXPECT_NEAR(got.precision, want["precision"].get<double>(), 1e-6);
    EXPECT_NEAR(got.recall, want["recall"].get<double>(), 1e-6);
    EXPECT_NEAR(got.f1, want["f1"].get<double>(), 1e-6);
    EXPECT_NEAR(got.roc_auc, want["auc"].get<double>(), 1e-6);
    EXPECT_NEAR(davies_bouldin(cases[i].points, cases[i].clusters), want["dbs"].get<double>(),
                1e-6);
  }
}

TEST(Classification, HandComputedAucWithTies) {
  // Pairs (pos, neg): 0.8>0.3, 0.8>0.5, 0.5=0.5 (half), 0.5>0.3 → (1+1+0.5+1)/4.
  const std::vector<double> scores{0.8, 0.5, 0.5, 0.3};
  const std::vector<int> labels{1, 1, 0, 0};
  EXPECT_DOUBLE_EQ(roc_auc(scores, labels), 3.5 / 4.0);
}

TEST(Classification, NothingPredictedPositiveGivesZeroPrecision) {
  const std::vector<double> scores{-1.0, -2.0, -0.5};
  const std::vector<int> labels{1, 0, 1};
  const auto m = binary_metrics(scores, labels);
  EXPECT_EQ(m.precision, 0.0);
  EXPECT_EQ(m.recall, 0.0);
  EXPECT_EQ(m.f1, 0.0);
  EXPECT_EQ(m.positives, 2u);
}

TEST(Classification, RejectsDegenerateLabels) {
  const std::vector<double> scores{0.1, 0.2};
  EXPECT_THROW(roc_auc(scores, std::vector<int>{1, 1}), ConfigError);
  EXPECT_THROW(roc_auc(scores, std::vector<int>{1, 2}), ConfigError);
  EXPECT_THROW(roc_auc(scores, std::vector<int>{1}), ConfigError);
  EXPECT_THROW(roc_auc(std::vector<double>{}, std::vector<int>{}), ConfigError);
  EXPECT_THROW(roc_auc(std::vector<double>{0.1, NAN}, std::vector<int>{0, 1}), ConfigError);
}

TEST(DaviesBouldin, RejectsBadClusterCounts) {
  const auto x = at::randn({4, 3});
  EXPECT_THROW(davies_bouldin(x, std::vector<std::int64_t>{0, 0, 0, 0}), ConfigError);
  EXPECT_THROW(davies_bouldin(x, std::vector<std::int64_t>{0, 1, 2, 3}), ConfigError);
  EXPECT_THROW(davies_bouldin(x, std::vector<std::int64_t>{0, 1}), ConfigError);
  EXPECT_THROW(davies_bouldin(at::randn({4}), std::vector<std::int64_t>{0, 1, 0, 1}), ConfigError);
}

TEST(DaviesBouldin, WellSeparatedClustersScoreLow) {
  at::manual_seed(0);
  auto x = at::randn({40, 2}) * 0.1;
  std::vector<std::int64_t> labels(40);
  for (int i = 0; i < 40; ++i) {
    labels[i] = i % 2;
    if (i % 2 == 1) x[i] += 10.0;
  }
  EXPECT_LT(davies_bouldin(x, labels), 0.05);
}

}  // namespace
}  // namespace dpok::eval
