// Tests for the top-k reference cache: what gather() returns equals the reference's own top-k
// log-probs at the penalised positions of a shuffled batch; header mismatches are FormatErrors;
// the position count; dataset-supplied reference tables (ref_cache.h) and their partial-column
// error; the one-pass build that also fills the sequence table.
#include "dpok/train/ref_topk.h"

#include <gtest/gtest.h>

#include "dpok/core/error.h"
#include "dpok/data/dataset.h"
#include "dpok/data/torch/batch_iterator.h"
#include "dpok/model/logprobs.h"
#include "dpok/train/ref_cache.h"
#include "dpok/train/setup.h"
#include "trainer_fixture.h"

namespace dpok::train {
namespace {
namespace fs = std::filesystem;

class RefTopkTest : public test_support::TrainerFixture {};

TEST_F(RefTopkTest, GatherEqualsTheReferencesTopkAtPenalisedPositions) {
  REQUIRE_MODEL();
  const auto cfg = config(tmp_ / "run");
  auto tokenizer = text::Tokenizer::load(tokenizer_dir_);
  auto splits = data::load_preference_data(cfg.data, *tokenizer, 3);
  auto reference = model::load_model(model_dir_);
  const int64_t k = 5, vocab = reference->config().vocab_size;
  const fs::path file = topk_cache_file(tmp_ / "cache", "abc", k, 2);
  EXPECT_EQ(file.filename(), "reftopk-abc-k5-both.bin");
  build_topk_cache(reference, splits.train, k, /*rows_per_record=*/2, /*batch_size=*/8, 0, file,
                   "abc");
  RefTopkCache cache(file, "abc", splits.train, k, 2, vocab);
  int64_t positions = 0;
  for (const auto& r : splits.train.records) {
    positions += penalty_positions(r.prompt_ids.size(), r.chosen_ids.size()) +
                 penalty_positions(r.prompt_ids.size(), r.rejected_ids.size());
  }
  EXPECT_EQ(cache.total_positions(), positions);
  EXPECT_EQ(cache.file_bytes(), 64 + static_cast<uint64_t>(positions * k * 8) +
                                    splits.train.records.size() * 2 * 4 + 32);

  data::BatchIterator batches(splits.train, 4, /*seed=*/9, /*shuffle=*/true, false, 0);
  auto batch = batches.next();
  ASSERT_TRUE(batch.has_value());
  torch::NoGradGuard no_grad;
  auto targets = model::completion_targets(batch->input_ids, batch->completion_mask);
  auto mask = targets >= 0;
  auto rows = cache.gather(batch->record_indices, mask);
  auto logps = torch::log_softmax(
      reference->logits(reference->forward_hidden(batch->input_ids, batch->attention_mask)), -1);
  auto [values, ids] = logps.topk(k, -1);
  auto m = mask.unsqueeze(-1).expand_as(ids);
  EXPECT_TRUE(torch::equal(rows.ids.masked_select(m), ids.masked_select(m)));
  EXPECT_TRUE(torch::allclose(rows.logps.masked_select(m), values.masked_select(m), 1e-5, 1e-5));
  EXPECT_EQ(rows.ids.masked_select(~m).abs().sum().item<int64_t>(), 0);  // zeros elsewhere

  // The same file read as something else.
  auto msg = [&](int64_t kk, int64_t rr, int64_t vv) {
    return dpok::testing::error_of<FormatError>(
        [&] { RefTopkCache other(file, "abc", splits.train, kk, rr, vv); });
  };
  EXPECT_NE(msg(4, 2, vocab).find("built for"), std::string::npos);
  EXPECT_NE(msg(k, 1, vocab).find("built for"), std::string::npos);
  EXPECT_NE(msg(k, 2, vocab + 1).find(file.string()), std::string::npos);
  EXPECT_THROW(RefTopkCache(file, "abc", splits.eval, k, 2, vocab), FormatError);   // other records
  EXPECT_THROW(RefTopkCache(file, "abd", splits.train, k, 2, vocab), FormatError);  // other key
  EXPECT_THROW(RefTopkCache(tmp_ / "missing.bin", "abc", splits.train, k, 2, vocab), IoError);
}

TEST_F(RefTopkTest, OnePassAlsoYieldsTheSequenceTable) {
  REQUIRE_MODEL();
  auto tokenizer = text::Tokenizer::load(tokenizer_dir_);
  auto splits = data::load_preference_data(config(tmp_ / "run").data, *tokenizer, 3);
  auto reference = model::load_model(model_dir_);
  const auto n = static_cast<int64_t>(splits.eval.records.size());
  auto table = torch::zeros({n, 2}, torch::kFloat);
  const fs::path file = tmp_ / "both.bin";
  build_topk_cache(reference, splits.eval, 4, /*rows_per_record=*/1, 8, 0, file, "k", 0, &table);
  EXPECT_TRUE(torch::equal(table, compute_reference_logps(reference, splits.eval, 8, 0, 0)));
  RefTopkCache cache(file, "k", splits.eval, 4, 1, reference->config().vocab_size);
  EXPECT_GT(cache.total_positions(), 0);
}

TEST(RefTopk, PenaltyPositions) {
  EXPECT_EQ(penalty_positions(3, 5), 5);
  EXPECT_EQ(penalty_positions(0, 5), 4);  // the first completion token has no context
  EXPECT_EQ(penalty_positions(0, 0), 0);
}

TEST(DatasetReferenceLogps, AllNoneOrPartial) {
  data::PreferenceDataset d;
  for (int i = 0; i < 4; ++i) {
    data::PreferenceRecord r;
    r.source_index = 10 + i;
    r.ref_chosen_logps = -1.5f * static_cast<float>(i);
    r.ref_rejected_logps = -2.0f - static_cast<float>(i);
    d.records.push_back(r);
  }
  auto table = dataset_reference_logps(d, "train");
  ASSERT_TRUE(table.defined());
  EXPECT_TRUE(torch::equal(
      table, torch::tensor({{0.0f, -2.0f}, {-1.5f, -3.0f}, {-3.0f, -4.0f}, {-4.5f, -5.0f}})));
  d.records[1].ref_rejected_logps.reset();
  d.records[3].ref_chosen_logps.reset();
  d.records[3].ref_rejected_logps.reset();
  EXPECT_TRUE(dpok::testing::throws_with<ConfigError>(
      [&] { dataset_reference_logps(d, "eval"); },
      {"eval split: 2 of 4 records lack", "first: record 11 "}));
  for (auto& r : d.records) r.ref_chosen_logps.reset(), r.ref_rejected_logps.reset();
  EXPECT_FALSE(dataset_reference_logps(d, "train").defined());
  EXPECT_FALSE(dataset_reference_logps(data::PreferenceDataset{}, "train").defined());
}

}  // namespace
}  // namespace dpok::train
