// Collation of preference records into padded batches (see batch.h).
#include "dpok/data/torch/batch.h"

#include <algorithm>

#include "dpok/core/error.h"

namespace dpok::data {
namespace {

constexpr const char* kComponent = "data.batch";

// Sequence `row` of a [2B] batch: prompt + chosen for row < B, prompt + rejected otherwise.
const std::vector<int32_t>& completion_of(const PreferenceRecord& r, bool chosen) {
  return chosen ? r.chosen_ids : r.rejected_ids;
}

// Presence of an optional column must agree across the batch.
template <typename Get>
bool all_or_none(const std::vector<const PreferenceRecord*>& records, const char* name, Get has) {
  size_t present = 0;
  for (const auto* r : records) present += has(*r) ? 1 : 0;
  if (present != 0 && present != records.size()) {
    DPOK_THROW(FormatError, kComponent,
               "column '{}' is present in {} of the {} records of a batch (expected all or none)",
               name, present, records.size());
  }
  return present != 0;
}

at::Tensor stack_embeddings(const std::vector<const PreferenceRecord*>& records, const char* name,
                            const std::vector<float> PreferenceRecord::*member) {
  const auto d = static_cast<int64_t>(((*records[0]).*member).size());
  auto out = at::empty({static_cast<int64_t>(records.size()), d}, at::kFloat);
  float* dst = out.data_ptr<float>();
  for (size_t i = 0; i < records.size(); ++i) {
    const auto& v = (*records[i]).*member;
    if (static_cast<int64_t>(v.size()) != d) {
      DPOK_THROW(FormatError, kComponent, "{}: record {} has {} dimensions, record {} has {}", name,
                 records[i]->source_index, v.size(), records[0]->source_index, d);
    }
    std::copy(v.begin(), v.end(), dst + static_cast<int64_t>(i) * d);
  }
  return out;
}

void collate_optional(const std::vector<const PreferenceRecord*>& records, PreferenceBatch& batch) {
  const auto b = static_cast<int64_t>(records.size());
  if (all_or_none(records, "ref_chosen_logps",
                  [](const auto& r) { return r.ref_chosen_logps.has_value(); })) {
    batch.ref_chosen_logps = at::empty({b}, at::kFloat);
    auto* dst = batch.ref_chosen_logps.data_ptr<float>();
    for (int64_t i = 0; i < b; ++i) dst[i] = *records[i]->ref_chosen_logps;
  }
  if (all_or_none(records, "ref_rejected_logps",
                  [](const auto& r) { return r.ref_rejected_logps.has_value(); })) {
    batch.ref_rejected_logps = at::empty({b}, at::kFloat);
    auto* dst = batch.ref_rejected_logps.data_ptr<float>();
    for (int64_t i = 0; i < b; ++i) dst[i] = *records[i]->ref_rejected_logps;
  }
  if (all_or_none(records, "prompt_embedding",
                  [](const auto& r) { return !r.prompt_embedding.empty(); })) {
    batch.prompt_embedding =
        stack_embeddings(records, "prompt_embedding", &PreferenceRecord::prompt_embedding);
  }
  if (all_or_none(records, "chosen_embedding",
                  [](const auto& r) { return !r.chosen_embedding.empty(); })) {
    batch.chosen_embedding =
        stack_embeddings(records, "chosen_embedding", &PreferenceRecord::chosen_embedding);
  }
  if (all_or_none(records, "rejected_embedding",
                  [](const auto& r) { return !r.rejected_embedding.empty(); })) {
    batch.rejected_embedding =
        stack_embeddings(records, "rejected_embedding", &PreferenceRecord::rejected_embedding);
  }
  if (all_or_none(records, "label", [](const auto& r) { return r.label.has_value(); })) {
    batch.labels = at::empty({b}, at::kLong);
    auto* dst = batch.labels.data_ptr<int64_t>();
    for (int64_t i = 0; i < b; ++i) dst[i] = *records[i]->label;
  }
}

}  // namespace

PreferenceBatch collate(const std::vector<const PreferenceRecord*>& records, int64_t pad_id,
                        int64_t pad_to_multiple_of) {
  DPOK_CHECK(!records.empty(), "collate needs at least one record");
  const auto b = static_cast<int64_t>(records.size());
  int64_t t = 1;
  for (const auto* r : records) t = std::max(t, r->max_sequence_length());
  if (pad_to_multiple_of > 1)
    t = (t + pad_to_multiple_of - 1) / pad_to_multiple_of * pad_to_multiple_of;

  PreferenceBatch batch;
  batch.input_ids = at::full({2 * b, t}, pad_id < 0 ? 0 : pad_id, at::kLong);
  batch.attention_mask = at::zeros({2 * b, t}, at::kLong);
  batch.completion_mask = at::zeros({2 * b, t}, at::kBool);
  batch.prompt_mask = at::zeros({2 * b, t}, at::kBool);
  auto* ids = batch.input_ids.data_ptr<int64_t>();
  auto* attention = batch.attention_mask.data_ptr<int64_t>();
  auto* completion = batch.completion_mask.data_ptr<bool>();
  auto* prompt = batch.prompt_mask.data_ptr<bool>();
  for (int64_t row = 0; row < 2 * b; ++row) {
    const PreferenceRecord& r = *records[row % b];
    const auto& tail = completion_of(r, row < b);
    const int64_t base = row * t;
    int64_t col = 0;
    for (const int32_t id : r.prompt_ids) {
      ids[base + col] = id;
      attention[base + col] = 1;
      prompt[base + col] = true;
      ++col;
    }
    for (const int32_t id : tail) {
      ids[base + col] = id;
      attention[base + col] = 1;
      completion[base + col] = true;
      ++col;
    }
  }
  batch.record_indices.resize(records.size());
  for (int64_t i = 0; i < b; ++i) batch.record_indices[i] = records[i]->source_index;
  collate_optional(records, batch);
  return batch;
}

}  // namespace dpok::data
