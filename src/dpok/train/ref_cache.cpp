// Reference log-prob tables: computation, cache keys and the on-disk format (see ref_cache.h).
#include "dpok/train/ref_cache.h"

#include <cstring>

#include "dpok/core/error.h"
#include "dpok/core/file_util.h"
#include "dpok/core/hash.h"
#include "dpok/data/torch/batch_iterator.h"
#include "dpok/dist/group.h"
#include "dpok/io/cache_file.h"
#include "dpok/model/lora.h"
#include "dpok/model/quantized_base.h"
#include "dpok/model/scoring.h"

namespace dpok::train {
namespace fs = std::filesystem;
namespace {

constexpr const char* kComponent = "train.ref_cache";
const io::CacheFormat kFormat{kComponent,
                              "reference cache",
                              {'D', 'P', 'O', 'K', 'R', 'E', 'F', 'S'},
                              kReferenceCacheVersion};

fs::path cache_file(const fs::path& dir, const std::string& key) {
  return dir / ("ref-" + key + ".bin");
}

}  // namespace

torch::Tensor compute_reference_logps(model::CausalLM& reference,
                                      const data::PreferenceDataset& dataset, int64_t batch_size,
                                      int64_t pad_id, int64_t chunk_rows, dist::Group* group) {
  torch::NoGradGuard no_grad;
  const auto n = static_cast<int64_t>(dataset.records.size());
  auto table = torch::zeros({n, 2}, torch::kFloat);
  if (n == 0) return table;
  const auto device = reference->options().device();
  data::BatchIterator batches(dataset, batch_size, /*seed=*/0, /*shuffle=*/false,
                              /*group_by_length=*/false, pad_id);
  for (int64_t batch_index = 0;; ++batch_index) {
    auto batch = batches.next();
    if (!batch) break;
    if (!dist::takes_batch(group, batch_index)) continue;
    auto scores = model::score_sequences(reference, batch->input_ids.to(device),
                                         batch->attention_mask.to(device),
                                         batch->completion_mask.to(device), chunk_rows);
    const int64_t b = batch->num_pairs();
    auto logps = scores.logps.to(torch::kCPU).view({2, b}).t();  // [B, 2]
    auto index = torch::tensor(batch->record_indices, torch::kLong);
    table.index_copy_(0, index, logps);
  }
  // Zeros outside this rank's rows: the sum over ranks is the whole table.
  if (group != nullptr && group->distributed())
    group->all_reduce(table, "all_reduce of the reference log-prob table");
  return table;
}

std::string reference_cache_key(const data::PreferenceDataset& dataset, model::CausalLM& reference,
                                int64_t max_length) {
  Fnv1a h;
  h.add_pod(kReferenceCacheVersion);
  h.add_pod(max_length);
  h.add_pod(dataset.records.size());
  for (const auto& r : dataset.records) {
    for (const auto* ids : {&r.prompt_ids, &r.chosen_ids, &r.rejected_ids}) {
      h.add_pod(ids->size());
      h.add(ids->data(), ids->size() * sizeof(int32_t));
    }
  }
  for (const auto& item : reference->named_parameters()) {
    // LoRA's reference is the base with its adapters off: the adapters do not change it.
    if (model::is_adapter_parameter(item.key())) continue;
    h.add(item.key());
    auto t = item.value().detach().to(torch::kCPU).contiguous();
    h.add_pod(static_cast<int>(t.scalar_type()));
    h.add_words(t.data_ptr(), t.numel() * t.element_size());
  }
  // A quantized base computes other log-probs than its float weights: its blocks count.
  for (const auto& [name, weight] : model::quantized_weights(*reference)) {
    h.add(name);
    h.add_pod(weight->ggml_type);
    const auto blocks = weight->blocks.cpu();
    h.add_words(blocks.data_ptr(), blocks.nbytes());
  }
  return fmt::format("{:016x}", h.value());
}

torch::Tensor load_reference_cache(const fs::path& cache_dir, const std::string& key,
                                   int64_t num_records) {
  const fs::path file = cache_file(cache_dir, key);
  if (!fs::exists(file)) return {};
  const std::string bytes = read_file(file);
  const auto payload = io::cache_payload(std::string_view(bytes), kFormat, key, file);
  const size_t expected = 8 + static_cast<size_t>(num_records) * 2 * sizeof(float);
  uint64_t n = 0;
  if (payload.size() >= 8) std::memcpy(&n, payload.data(), 8);
  if (static_cast<int64_t>(n) != num_records || payload.size() != expected) {
    DPOK_THROW(FormatError, kComponent,
               "{}: expected {} records ({} payload bytes), found {} ({} payload bytes)",
               file.string(), num_records, expected, n, payload.size());
  }
  auto table = torch::empty({num_records, 2}, torch::kFloat);
  if (num_records > 0) std::memcpy(table.data_ptr<float>(), payload.data() + 8, expected - 8);
  return table;
}

void store_reference_cache(const fs::path& cache_dir, const std::string& key,
                           const torch::Tensor& table) {
  auto t = table.to(torch::kCPU).to(torch::kFloat).contiguous();
  const uint64_t n = static_cast<uint64_t>(t.size(0));
  std::string payload(reinterpret_cast<const char*>(&n), 8);
  payload.append(reinterpret_cast<const char*>(t.data_ptr<float>()), t.numel() * sizeof(float));
  io::write_cache_file(cache_file(cache_dir, key), kFormat, key, payload);
}

torch::Tensor dataset_reference_logps(const data::PreferenceDataset& dataset,
                                      const std::string& split) {
  const auto n = static_cast<int64_t>(dataset.records.size());
  int64_t missing = 0, carrying = 0;
  const data::PreferenceRecord* first_missing = nullptr;
  for (const auto& r : dataset.records) {
    const bool both = r.ref_chosen_logps.has_value() && r.ref_rejected_logps.has_value();
    const bool any = r.ref_chosen_logps.has_value() || r.ref_rejected_logps.has_value();
    carrying += any ? 1 : 0;
    if (!both) {
      ++missing;
      if (first_missing == nullptr) first_missing = &r;
    }
  }
  if (carrying == 0) return {};
  if (missing > 0) {
    // A silent mix of supplied and computed values would train against two references at once.
    DPOK_THROW(ConfigError, kComponent,
               "{} split: {} of {} records lack ref_chosen_logps and/or ref_rejected_logps (first: "
               "record {} of the split's data files, 0-based); supply both columns for every "
               "record or for none",
               split, missing, n, first_missing->source_index);
  }
  auto table = torch::empty({n, 2}, torch::kFloat);
  auto* dst = table.data_ptr<float>();
  for (int64_t i = 0; i < n; ++i) {
    dst[2 * i] = *dataset.records[static_cast<size_t>(i)].ref_chosen_logps;
    dst[2 * i + 1] = *dataset.records[static_cast<size_t>(i)].ref_rejected_logps;
  }
  return table;
}

}  // namespace dpok::train
