// Tests for padding-free forwards (packing.h): the packing plan, the segment mask, and the packed
// forward against the padded one: hidden states at every real token, sequence log-probs and the
// parameters' gradients, for a single-token completion, rows filled exactly to the limit and
// sequences of every length.
#include "dpok/model/packing.h"

#include <gtest/gtest.h>

#include "dpok/model/causal_lm.h"
#include "dpok/model/scoring.h"
#include "model/test_util.h"

namespace dpok::model {
namespace {

using torch::indexing::Slice;

// Right-padded [B, T] mask of the given lengths.
at::Tensor mask_of(const std::vector<int64_t>& lengths, int64_t length) {
  auto mask = torch::zeros({static_cast<int64_t>(lengths.size()), length}, torch::kLong);
  for (size_t n = 0; n < lengths.size(); ++n) mask[n].narrow(0, 0, lengths[n]).fill_(1);
  return mask;
}

TEST(PackRows, FirstFitDecreasingKeepsEverySequenceWhole) {
  // Lengths 8 (fills a row exactly), 5 + 3, 4 + 2 + 1 (+ a padding-only row, left out).
  const std::vector<int64_t> lengths = {3, 8, 1, 5, 2, 4, 0};
  const auto ids = torch::arange(7 * 8, torch::kLong).view({7, 8});
  const auto packed = pack_rows(ids, mask_of(lengths, 8));
  EXPECT_EQ(packed.rows, 3);
  EXPECT_EQ(packed.row_length, 8);
  EXPECT_EQ(packed.tokens, 23);
  EXPECT_DOUBLE_EQ(packed.fill_ratio(), 23.0 / 24.0);
  // Row 0 is the 8-token sequence; row 1 holds 5 then 3; row 2 holds 4, 2, 1 and one free slot.
  EXPECT_TRUE(packed.input_ids[0].equal(ids[1]));
  EXPECT_TRUE(packed.input_ids[1].narrow(0, 0, 5).equal(ids[3].narrow(0, 0, 5)));
  EXPECT_TRUE(packed.input_ids[1].narrow(0, 5, 3).equal(ids[0].narrow(0, 0, 3)));
  EXPECT_TRUE(packed.positions[1].equal(torch::tensor({0, 1, 2, 3, 4, 0, 1, 2}, torch::kLong)));
  EXPECT_TRUE(packed.segments[2].equal(torch::tensor({0, 0, 0, 0, 1, 1, 2, -1}, torch::kLong)));
  EXPECT_TRUE(packed.positions[2].equal(torch::tensor({0, 1, 2, 3, 0, 1, 0, 0}, torch::kLong)));
}

TEST(SegmentAttentionBias, EachTokenSeesItsOwnSequenceUpToItself) {
  const auto segments = torch::tensor({{0, 0, 1, 1, -1}}, torch::kLong);
  const auto bias = segment_attention_bias(segments, torch::TensorOptions().dtype(torch::kFloat));
  ASSERT_TRUE(bias.mask.has_value());
  const auto keep = bias.mask->eq(0).squeeze(1)[0];
  const auto want = torch::tensor(
      {{1, 0, 0, 0, 0}, {1, 1, 0, 0, 0}, {0, 0, 1, 0, 0}, {0, 0, 1, 1, 0}, {0, 0, 0, 0, 1}},
      torch::kBool);
  EXPECT_TRUE(keep.equal(want)) << keep;
}

class PackedForward : public ::testing::TestWithParam<std::string> {};

TEST_P(PackedForward, EqualsThePaddedForwardWithGradients) {
  torch::manual_seed(3);
  CausalLM model(testing::tiny_config(GetParam()));
  model->to(torch::kDouble);
  // A single-token completion (row 2), a full-length row (row 1), short and empty-tail rows.
  const std::vector<int64_t> lengths = {5, 12, 4, 7, 3, 9};
  const int64_t b = static_cast<int64_t>(lengths.size()), t = 12;
  const auto ids = torch::randint(3, 97, {b, t}, torch::kLong);
  const auto mask = mask_of(lengths, t);
  auto completion = torch::zeros({b, t}, torch::kLong);
  const std::vector<int64_t> prompt = {2, 6, 3, 4, 1, 5};
  for (int64_t n = 0; n < b; ++n) completion[n].narrow(0, prompt[n], t - prompt[n]).fill_(1);
  completion = completion * mask;

  const auto run = [&](bool padding_free) {
    model->set_padding_free(padding_free);
    model->zero_grad();
    auto scores = score_sequences(model, ids, mask, completion, /*chunk_rows=*/5);
    scores.logps.sum().backward();
    std::vector<at::Tensor> grads;
    for (const auto& p : model->parameters()) grads.push_back(p.grad().clone());
    return std::make_pair(scores, grads);
  };
  const auto [padded, padded_grads] = run(false);
  const auto [packed, packed_grads] = run(true);
  EXPECT_LT(model->last_fill_ratio(), 1.0);
  EXPECT_GT(model->last_fill_ratio(), 0.8);  // 40 tokens in 4 rows of 12

  const auto real = mask.to(torch::kBool);
  EXPECT_LT(testing::max_abs_diff(packed.hidden.index({real}), padded.hidden.index({real})), 1e-10);
  EXPECT_LT(testing::max_abs_diff(packed.logps, padded.logps), 1e-10);
  EXPECT_TRUE(packed.lengths.equal(padded.lengths));
  EXPECT_EQ(packed.lengths[2].item<double>(), 1.0);
  ASSERT_EQ(packed_grads.size(), padded_grads.size());
  for (size_t i = 0; i < packed_grads.size(); ++i) {
    EXPECT_LT(testing::max_abs_diff(packed_grads[i], padded_grads[i]), 1e-10) << i;
  }
}

INSTANTIATE_TEST_SUITE_P(Families, PackedForward,
                         ::testing::Values("LlamaForCausalLM", "Qwen2ForCausalLM",
                                           "Qwen3ForCausalLM"));

TEST(PackedForward, Float32StaysWithin1e5) {
  torch::manual_seed(4);
  CausalLM model(testing::tiny_config());
  const std::vector<int64_t> lengths = {16, 3, 9, 1, 12, 4, 7, 15};
  const int64_t b = static_cast<int64_t>(lengths.size()), t = 16;
  const auto ids = torch::randint(3, 97, {b, t}, torch::kLong);
  const auto mask = mask_of(lengths, t);
  auto completion = mask.clone();
  completion.index_put_({Slice(), 0}, 0);
  model->set_padding_free(false);
  const auto padded = score_sequences(model, ids, mask, completion, 0);
  model->set_padding_free(true);
  const auto packed = score_sequences(model, ids, mask, completion, 0);
  EXPECT_LT(testing::max_abs_diff(packed.logps, padded.logps), 1e-5);
}

}  // namespace
}  // namespace dpok::model
