// Tests for metrics.jsonl, running means, eval prefixes and summary tables.
#include "dpok/train/metrics_log.h"

#include <gtest/gtest.h>

#include <cmath>
#include <nlohmann/json.hpp>
#include <sstream>

#include "dpok/core/error.h"
#include "dpok/core/file_util.h"
#include "support/testing.h"

namespace dpok::train {
namespace {

TEST(MetricsLog, WritesOneJsonObjectPerLineAndAppends) {
  testing::TempDir dir;
  {
    MetricsLog log(dir / "metrics.jsonl", true);
    log.write(1, {{"loss", 0.69}, {"rewards/accuracies", 0.5}});
    log.write(2, {{"loss", NAN}});
  }
  {
    MetricsLog log(dir / "metrics.jsonl", false);
    log.write(3, {{"eval_loss", 0.6}});
  }
  std::istringstream lines(read_file(dir / "metrics.jsonl"));
  std::string line;
  std::vector<nlohmann::json> records;
  while (std::getline(lines, line)) records.push_back(nlohmann::json::parse(line));
  ASSERT_EQ(records.size(), 3u);
  EXPECT_EQ(records[0]["step"], 1);
  EXPECT_DOUBLE_EQ(records[0]["rewards/accuracies"].get<double>(), 0.5);
  EXPECT_TRUE(records[1]["loss"].is_null());
  EXPECT_EQ(records[2]["step"], 3);
}

TEST(MetricsLog, UnwritableDirectoryIsIoError) {
  EXPECT_THROW(MetricsLog("/nonexistent-dir/metrics.jsonl", true), IoError);
}

TEST(MetricAverager, MeansPerKey) {
  MetricAverager avg;
  avg.add({{"loss", 1.0}, {"a", 2.0}});
  avg.add({{"loss", 3.0}});
  auto m = avg.mean();
  EXPECT_DOUBLE_EQ(m["loss"], 2.0);
  EXPECT_DOUBLE_EQ(m["a"], 2.0);
  EXPECT_EQ(avg.count(), 2);
  avg.reset();
  EXPECT_TRUE(avg.mean().empty());
}

TEST(SummaryTable, ListsEveryMetricWithEvalPrefix) {
  auto table = format_summary_table("eval at step 4", with_eval_prefix({{"loss", 0.5}}));
  EXPECT_NE(table.find("eval at step 4"), std::string::npos);
  EXPECT_NE(table.find("eval_loss"), std::string::npos);
  EXPECT_NE(table.find("0.5"), std::string::npos);
}

TEST(PeakMemory, Positive) {
  EXPECT_GT(peak_memory_bytes(), 0);
}

}  // namespace
}  // namespace dpok::train
