// Tests for batch iteration: coverage, determinism, length grouping, resume, epochs.
#include "dpok/data/torch/batch_iterator.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <set>

#include "dpok/core/error.h"

namespace dpok::data {
namespace {

PreferenceDataset make_dataset(int n) {
  PreferenceDataset d;
  for (int i = 0; i < n; ++i) {
    PreferenceRecord r;
    r.prompt_ids.assign(1 + (i * 37) % 23, 5);
    r.chosen_ids.assign(1 + (i * 11) % 17, 6);
    r.rejected_ids.assign(1 + (i * 13) % 19, 7);
    r.source_index = 1000 + i;
    d.records.push_back(r);
  }
  return d;
}

std::vector<std::vector<int64_t>> drain(BatchIterator& it) {
  std::vector<std::vector<int64_t>> out;
  while (auto batch = it.next()) out.push_back(batch->record_indices);
  return out;
}

TEST(BatchIterator, EachRecordOncePerEpoch) {
  const auto d = make_dataset(23);
  BatchIterator it(d, 4, /*seed=*/1, /*shuffle=*/true, /*group_by_length=*/false, 0);
  EXPECT_EQ(it.batches_per_epoch(), 6);
  const auto e0 = drain(it);
  EXPECT_EQ(it.epoch(), 1);
  const auto e1 = drain(it);
  for (const auto& epoch : {e0, e1}) {
    std::multiset<int64_t> seen;
    for (const auto& b : epoch) seen.insert(b.begin(), b.end());
    ASSERT_EQ(seen.size(), 23u);
    for (int64_t i = 0; i < 23; ++i) EXPECT_EQ(seen.count(i), 1u);
  }
  EXPECT_NE(e0, e1);  // a new order each epoch
}

TEST(BatchIterator, PadsEachBatchToMultipleOf) {
  const auto d = make_dataset(23);
  BatchIterator it(d, 4, 1, true, false, 0, /*drop_last=*/false, /*pad_to_multiple_of=*/16);
  while (auto batch = it.next()) EXPECT_EQ(batch->input_ids.size(1) % 16, 0);
}

TEST(BatchIterator, SameSeedSameOrderOtherSeedOtherOrder) {
  const auto d = make_dataset(50);
  BatchIterator a(d, 8, 42, true, false, 0), b(d, 8, 42, true, false, 0),
      c(d, 8, 43, true, false, 0);
  const auto ea = drain(a);
  EXPECT_EQ(ea, drain(b));
  EXPECT_NE(ea, drain(c));
  // Pinned first batch: the order is part of the on-disk resume contract (own RNG, not std).
  BatchIterator pinned(d, 4, 7, true, false, 0);
  EXPECT_EQ(pinned.peek_indices().value(),
            (std::vector<int64_t>{17, 32, 45, 31}));  // from a Python splitmix64
}

TEST(BatchIterator, NoShuffleKeepsOrderAndDropLast) {
  const auto d = make_dataset(10);
  BatchIterator it(d, 4, 0, false, false, 0, /*drop_last=*/true);
  const auto e = drain(it);
  ASSERT_EQ(e.size(), 2u);
  EXPECT_EQ(e[0], (std::vector<int64_t>{0, 1, 2, 3}));
  EXPECT_EQ(e[1], (std::vector<int64_t>{4, 5, 6, 7}));
}

double padding(const PreferenceDataset& d, BatchIterator& it) {
  double pad = 0, cells = 0;
  while (auto b = it.next()) {
    cells += static_cast<double>(b->attention_mask.numel());
    pad += static_cast<double>(b->attention_mask.numel() - b->attention_mask.sum().item<int64_t>());
  }
  (void)d;
  return pad / cells;
}

TEST(BatchIterator, LengthGroupingReducesPadding) {
  const auto d = make_dataset(400);
  BatchIterator plain(d, 8, 3, true, false, 0), grouped(d, 8, 3, true, true, 0);
  EXPECT_LT(padding(d, grouped), padding(d, plain) * 0.5);
  // Grouped batches still cover everything once.
  BatchIterator again(d, 8, 3, true, true, 0);
  std::set<int64_t> seen;
  for (const auto& b : drain(again)) seen.insert(b.begin(), b.end());
  EXPECT_EQ(seen.size(), 400u);
}

TEST(BatchIterator, RestoredIteratorYieldsExactlyTheRemainingBatches) {
  const auto d = make_dataset(37);
  for (const bool grouped : {false, true}) {
    BatchIterator reference(d, 5, 11, true, grouped, 0);
    std::vector<std::vector<int64_t>> all = drain(reference);
    const auto second = drain(reference);
    all.insert(all.end(), second.begin(), second.end());

    for (const size_t stop : {size_t{0}, size_t{3}, size_t{8}, size_t{10}}) {
      BatchIterator first(d, 5, 11, true, grouped, 0);
      std::vector<std::vector<int64_t>> seen;
      // Consume `stop` batches (crossing the epoch boundary at 8 where needed).
      while (seen.size() < stop) {
        if (auto b = first.next()) seen.push_back(b->record_indices);
      }
      const std::string saved = first.state().dump();
      BatchIterator resumed(d, 5, 11, true, grouped, 0);
      resumed.restore(nlohmann::json::parse(saved));
      const bool in_first_epoch = resumed.epoch() == 0;
      auto rest = drain(resumed);
      if (in_first_epoch) {
        const auto more = drain(resumed);
        rest.insert(rest.end(), more.begin(), more.end());
      }
      seen.insert(seen.end(), rest.begin(), rest.end());
      EXPECT_EQ(seen, all) << "grouped=" << grouped << " stop=" << stop;
    }
  }
}

TEST(BatchIterator, RestoreRejectsOtherSettings) {
  const auto d = make_dataset(20);
  BatchIterator a(d, 4, 1, true, false, 0);
  auto state = a.state();
  BatchIterator other_batch(d, 5, 1, true, false, 0);
  EXPECT_THROW(other_batch.restore(state), ConfigError);
  BatchIterator other_seed(d, 4, 2, true, false, 0);
  EXPECT_THROW(other_seed.restore(state), ConfigError);
  state["position"] = 99;
  EXPECT_THROW(a.restore(state), ConfigError);
  EXPECT_THROW(BatchIterator(d, 0, 1, true, false, 0), ConfigError);
}

}  // namespace
}  // namespace dpok::data
