// Tests for collation ([2B, T] batches, masks and optional columns).
#include "dpok/data/torch/batch.h"

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

}  // namespace
}  // namespace dpok::data
