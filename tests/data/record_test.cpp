// Tests for DataSummary: token statistics, padding fraction and the JSON / table reports.
#include "dpok/data/record.h"

#include <gtest/gtest.h>

namespace dpok::data {
namespace {

PreferenceRecord make(size_t p, size_t c, size_t r) {
  PreferenceRecord rec;
  rec.prompt_ids.assign(p, 1);
  rec.chosen_ids.assign(c, 2);
  rec.rejected_ids.assign(r, 3);
  return rec;
}

TEST(DataSummary, TokenStatsAndPadding) {
  PreferenceDataset d;
  d.records = {make(2, 3, 1), make(4, 1, 1)};
  d.summary.records_read = 5;
  d.summary.dropped = {{"identical_chosen_rejected", 2}, {"malformed_json", 1}};
  update_token_stats(d, /*batch_size=*/2);
  const auto& s = d.summary;
  EXPECT_EQ(s.records_kept, 2);
  EXPECT_DOUBLE_EQ(s.prompt_tokens.mean, 3.0);
  EXPECT_EQ(s.prompt_tokens.max, 4);
  EXPECT_DOUBLE_EQ(s.completion_tokens.mean, 1.5);
  EXPECT_EQ(s.completion_tokens.max, 3);
  EXPECT_EQ(s.sequence_tokens.max, 5);
  // One [4, 5] batch holding 5 + 3 + 5 + 5 = 18 tokens: 2 of 20 cells are padding.
  EXPECT_DOUBLE_EQ(s.padding_fraction, 0.1);
  EXPECT_EQ(s.total_dropped(), 3);
  const auto json = s.to_json();
  EXPECT_EQ(json["records_read"], 5);
  EXPECT_EQ(json["records_kept"], 2);
  EXPECT_EQ(json["dropped"]["malformed_json"], 1);
  EXPECT_EQ(json["tokens"]["prompt"]["max"], 4);
  EXPECT_EQ(json["truncated"], 0);
  const auto table = s.to_table();
  EXPECT_NE(table.find("records kept"), std::string::npos);
  EXPECT_NE(table.find("identical_chosen_rejected"), std::string::npos);
}

TEST(DataSummary, EmptyDatasetHasZeroStats) {
  PreferenceDataset d;
  update_token_stats(d);
  EXPECT_EQ(d.summary.records_kept, 0);
  EXPECT_DOUBLE_EQ(d.summary.padding_fraction, 0.0);
  EXPECT_DOUBLE_EQ(d.summary.prompt_tokens.mean, 0.0);
}

TEST(DataSummary, LengthHistogramBucketsTheLongerSequence) {
  PreferenceDataset d;
  EXPECT_EQ(length_histogram(d), "");
  d.records = {make(1, 1, 1), make(10, 5, 9), make(1, 0, 19)};  // lengths 2, 19, 20: step 2
  const auto text = length_histogram(d);
  EXPECT_NE(text.find("        2 - 3              1  " + std::string(20, '#') + "\n"),
            std::string::npos)
      << text;
  // 20 lands in the last bucket with 19, not in an eleventh one.
  EXPECT_NE(text.find("       18 - 19             2  " + std::string(40, '#') + "\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("        0 - 1              0  \n"), std::string::npos) << text;
}

}  // namespace
}  // namespace dpok::data
