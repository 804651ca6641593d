// Tests for collation ([2B, T] batches and masks) and packing (boundaries, positions, masks).
#include "dpok/data/batch.h"

#include <gtest/gtest.h>

#include "dpok/core/error.h"

namespace dpok::data {
namespace {

PreferenceRecord make(std::vector<int32_t> p, std::vector<int32_t> c, std::vector<int32_t> r,
                      int64_t index) {
  PreferenceRecord rec;
  rec.prompt_ids = std::move(p);
  rec.chosen_ids = std::move(c);
  rec.rejected_ids = std::move(r);
  rec.source_index = index;
  return rec;
}

std::vector<int64_t> row(const at::Tensor& t, int64_t i) {
  auto r = t[i].to(at::kLong).contiguous();
  return {r.data_ptr<int64_t>(), r.data_ptr<int64_t>() + r.numel()};
}

TEST(Collate, LayoutAndMasks) {
  const auto a = make({1, 10, 11}, {20, 2}, {30, 31, 32, 2}, 7);
  const auto b = make({1, 12}, {21, 22, 23, 24, 2}, {33, 2}, 9);
  const auto batch = collate({&a, &b}, /*pad_id=*/0, /*pad_to_multiple_of=*/0);
  ASSERT_EQ(batch.input_ids.sizes(), (at::IntArrayRef{4, 7}));
  EXPECT_EQ(batch.input_ids.scalar_type(), at::kLong);
  EXPECT_EQ(batch.attention_mask.scalar_type(), at::kLong);
  EXPECT_EQ(batch.completion_mask.scalar_type(), at::kBool);
  EXPECT_EQ(batch.num_pairs(), 2);
  EXPECT_EQ(batch.record_indices, (std::vector<int64_t>{7, 9}));
  // rows: chosen a, chosen b, rejected a, rejected b
  EXPECT_EQ(row(batch.input_ids, 0), (std::vector<int64_t>{1, 10, 11, 20, 2, 0, 0}));
  EXPECT_EQ(row(batch.input_ids, 1), (std::vector<int64_t>{1, 12, 21, 22, 23, 24, 2}));
  EXPECT_EQ(row(batch.input_ids, 2), (std::vector<int64_t>{1, 10, 11, 30, 31, 32, 2}));
  EXPECT_EQ(row(batch.input_ids, 3), (std::vector<int64_t>{1, 12, 33, 2, 0, 0, 0}));
  EXPECT_EQ(row(batch.attention_mask, 3), (std::vector<int64_t>{1, 1, 1, 1, 0, 0, 0}));
  EXPECT_EQ(row(batch.prompt_mask, 0), (std::vector<int64_t>{1, 1, 1, 0, 0, 0, 0}));
  EXPECT_EQ(row(batch.completion_mask, 0), (std::vector<int64_t>{0, 0, 0, 1, 1, 0, 0}));
  EXPECT_EQ(row(batch.completion_mask, 2), (std::vector<int64_t>{0, 0, 0, 1, 1, 1, 1}));
  // Masks partition the attended tokens.
  EXPECT_TRUE(
      at::equal((batch.prompt_mask | batch.completion_mask).to(at::kLong), batch.attention_mask));
  EXPECT_FALSE((batch.prompt_mask & batch.completion_mask).any().item<bool>());
  EXPECT_FALSE(batch.ref_chosen_logps.defined());
  EXPECT_FALSE(batch.prompt_embedding.defined());
}

TEST(Collate, PadsToMultipleOfWithPadId) {
  const auto a = make({5}, {6, 7}, {8}, 0);
  const auto batch = collate({&a}, /*pad_id=*/99, /*pad_to_multiple_of=*/8);
  ASSERT_EQ(batch.input_ids.sizes(), (at::IntArrayRef{2, 8}));
  EXPECT_EQ(row(batch.input_ids, 1), (std::vector<int64_t>{5, 8, 99, 99, 99, 99, 99, 99}));
  EXPECT_EQ(collate({&a}, 0, /*pad_to_multiple_of=*/5).input_ids.size(1), 5);
  const auto no_pad = collate({&a}, /*pad_id=*/-1, /*pad_to_multiple_of=*/0);
  EXPECT_EQ(row(no_pad.input_ids, 1), (std::vector<int64_t>{5, 8, 0}));
}

TEST(Collate, OptionalColumns) {
  auto a = make({1}, {2}, {3}, 0), b = make({1}, {4}, {5}, 1);
  a.ref_chosen_logps = -1.0f;
  a.ref_rejected_logps = -2.0f;
  b.ref_chosen_logps = -3.0f;
  b.ref_rejected_logps = -4.0f;
  a.prompt_embedding = {1, 0, 0};
  b.prompt_embedding = {0, 1, 0};
  a.label = 1;
  b.label = 0;
  const auto batch = collate({&a, &b}, 0, false);
  EXPECT_TRUE(at::equal(batch.ref_chosen_logps, at::tensor({-1.0f, -3.0f})));
  EXPECT_TRUE(at::equal(batch.ref_rejected_logps, at::tensor({-2.0f, -4.0f})));
  ASSERT_EQ(batch.prompt_embedding.sizes(), (at::IntArrayRef{2, 3}));
  EXPECT_FLOAT_EQ(batch.prompt_embedding[1][1].item<float>(), 1.0f);
  EXPECT_EQ(row(batch.labels, 0), std::vector<int64_t>{1});
  EXPECT_FALSE(batch.chosen_embedding.defined());

  b.ref_chosen_logps.reset();
  EXPECT_THROW(collate({&a, &b}, 0, false), FormatError);
  b.ref_chosen_logps = 0.0f;
  b.prompt_embedding = {1, 2};
  EXPECT_THROW(collate({&a, &b}, 0, false), FormatError);
}

TEST(Pack, BoundariesPositionsAndMasks) {
  const auto a = make({1, 10}, {20, 2}, {30, 31, 2}, 0);  // sequences of 4 and 5
  const auto b = make({1, 11, 12}, {21, 2}, {32, 2}, 1);  // sequences of 5 and 5
  const auto packed = pack({&a, &b}, /*row_length=*/10);
  // sequence numbers: 0 = chosen a (4), 1 = chosen b (5), 2 = rejected a (5), 3 = rejected b (5)
  // first fit: row0 = {0, 1} (9), row1 = {2, 3} (10)
  ASSERT_EQ(packed.input_ids.sizes(), (at::IntArrayRef{2, 10}));
  ASSERT_EQ(packed.boundaries.size(), 2u);
  EXPECT_EQ(packed.boundaries[0], (std::vector<int64_t>{0, 4, 9}));
  EXPECT_EQ(packed.boundaries[1], (std::vector<int64_t>{0, 5, 10}));
  EXPECT_EQ(row(packed.input_ids, 0), (std::vector<int64_t>{1, 10, 20, 2, 1, 11, 12, 21, 2, 0}));
  EXPECT_EQ(row(packed.position_ids, 0), (std::vector<int64_t>{0, 1, 2, 3, 0, 1, 2, 3, 4, 0}));
  EXPECT_EQ(row(packed.sequence_ids, 0), (std::vector<int64_t>{0, 0, 0, 0, 1, 1, 1, 1, 1, -1}));
  EXPECT_EQ(row(packed.completion_mask, 0), (std::vector<int64_t>{0, 0, 1, 1, 0, 0, 0, 1, 1, 0}));
  EXPECT_EQ(row(packed.input_ids, 1), (std::vector<int64_t>{1, 10, 30, 31, 2, 1, 11, 12, 32, 2}));
  EXPECT_EQ(row(packed.sequence_ids, 1), (std::vector<int64_t>{2, 2, 2, 2, 2, 3, 3, 3, 3, 3}));
  EXPECT_EQ(row(packed.completion_mask, 1), (std::vector<int64_t>{0, 0, 1, 1, 1, 0, 0, 0, 1, 1}));
}

TEST(Pack, MatchesCollatedTokensSequenceBySequence) {
  std::vector<PreferenceRecord> records;
  for (int i = 0; i < 6; ++i) {
    records.push_back(make(std::vector<int32_t>(1 + i % 3, 100 + i), std::vector<int32_t>(2 + i, 7),
                           std::vector<int32_t>(1 + (5 - i), 8), i));
  }
  std::vector<const PreferenceRecord*> ptrs;
  for (const auto& r : records) ptrs.push_back(&r);
  const auto batch = collate(ptrs, 0, false);
  const auto packed = pack(ptrs, 16);
  const int64_t rows = packed.input_ids.size(0);
  for (int64_t s = 0; s < 12; ++s) {
    const auto in_seq = packed.sequence_ids.eq(s);
    const auto tokens = packed.input_ids.masked_select(in_seq);
    const auto expected = batch.input_ids[s].masked_select(batch.attention_mask[s].to(at::kBool));
    EXPECT_TRUE(at::equal(tokens, expected)) << "sequence " << s;
    EXPECT_TRUE(
        at::equal(packed.completion_mask.masked_select(in_seq),
                  batch.completion_mask[s].masked_select(batch.attention_mask[s].to(at::kBool))));
    const auto positions = packed.position_ids.masked_select(in_seq);
    EXPECT_TRUE(at::equal(positions, at::arange(positions.numel(), at::kLong)));
  }
  for (int64_t r = 0; r < rows; ++r) {
    EXPECT_EQ(packed.boundaries[r].back(), packed.sequence_ids[r].ge(0).sum().item<int64_t>());
  }
}

TEST(Pack, SequenceLongerThanRowIsAConfigError) {
  const auto a = make({1, 2, 3}, {4, 5}, {6}, 0);
  EXPECT_THROW(pack({&a}, 4), ConfigError);
}

}  // namespace
}  // namespace dpok::data
