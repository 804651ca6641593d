// Reference log-prob tables: computation, cache keys and the on-disk format (see ref_cache.h).
#include "dpok/train/ref_cache.h"

#include <cstring>

#include "dpok/core/error.h"
#include "dpok/core/file_util.h"
#include "dpok/data/batch_iterator.h"
#include "dpok/model/scoring.h"
#include "dpok/train/fnv.h"

namespace dpok::train {
namespace fs = std::filesystem;
namespace {

constexpr const char* kComponent = "train.ref_cache";
constexpr char kMagic[8] = {'D', 'P', 'O', 'K', 'R', 'E', 'F', '1'};

fs::path cache_file(const fs::path& dir, const std::string& key) {
  return dir / ("ref-" + key + ".bin");
}

}  // namespace

torch::Tensor compute_reference_logps(model::CausalLM& reference,
                                      const data::PreferenceDataset& dataset, int64_t batch_size,
                                      int64_t pad_id, int64_t chunk_rows) {
  torch::NoGradGuard no_grad;
  const auto n = static_cast<int64_t>(dataset.records.size());
  auto table = torch::zeros({n, 2}, torch::kFloat);
  if (n == 0) return table;
  const auto device = reference->options().device();
  data::BatchIterator batches(dataset, batch_size, /*seed=*/0, /*shuffle=*/false,
                              /*group_by_length=*/false, pad_id);
  while (auto batch = batches.next()) {
    auto scores = model::score_sequences(reference, batch->input_ids.to(device),
                                         batch->attention_mask.to(device),
                                         batch->completion_mask.to(device), chunk_rows);
    const int64_t b = batch->num_pairs();
    auto logps = scores.logps.to(torch::kCPU).view({2, b}).t();  // [B, 2]
    auto index = torch::tensor(batch->record_indices, torch::kLong);
    table.index_copy_(0, index, logps);
  }
  return table;
}

std::string reference_cache_key(const data::PreferenceDataset& dataset, model::CausalLM& reference,
                                int64_t max_length) {
  Fnv1a h;
  h.value(max_length);
  h.value(dataset.records.size());
  for (const auto& r : dataset.records) {
    h.ids(r.prompt_ids);
    h.ids(r.chosen_ids);
    h.ids(r.rejected_ids);
  }
  for (const auto& item : reference->named_parameters()) {
    h.bytes(item.key().data(), item.key().size());
    auto t = item.value().detach().to(torch::kCPU).contiguous();
    h.value(static_cast<int>(t.scalar_type()));
    h.words(t.data_ptr(), t.numel() * t.element_size());
  }
  return fmt::format("{:016x}", h.state);
}

torch::Tensor load_reference_cache(const fs::path& cache_dir, const std::string& key,
                                   int64_t num_records) {
  const fs::path file = cache_file(cache_dir, key);
  if (!fs::exists(file)) return {};
  const std::string bytes = read_file(file);
  const size_t expected = sizeof(kMagic) + 8 + static_cast<size_t>(num_records) * 2 * 4;
  if (bytes.size() < sizeof(kMagic) + 8 || std::memcmp(bytes.data(), kMagic, sizeof(kMagic)) != 0) {
    DPOK_THROW(FormatError, kComponent, "{}: not a reference cache (bad magic at offset 0)",
               file.string());
  }
  uint64_t n = 0;
  std::memcpy(&n, bytes.data() + sizeof(kMagic), 8);
  if (static_cast<int64_t>(n) != num_records || bytes.size() != expected) {
    DPOK_THROW(FormatError, kComponent, "{}: expected {} records ({} bytes), found {} ({} bytes)",
               file.string(), num_records, expected, n, bytes.size());
  }
  auto table = torch::empty({num_records, 2}, torch::kFloat);
  std::memcpy(table.data_ptr<float>(), bytes.data() + sizeof(kMagic) + 8, expected - 16);
  return table;
}

void store_reference_cache(const fs::path& cache_dir, const std::string& key,
                           const torch::Tensor& table) {
  auto t = table.to(torch::kCPU).to(torch::kFloat).contiguous();
  const uint64_t n = static_cast<uint64_t>(t.size(0));
  std::string bytes(kMagic, sizeof(kMagic));
  bytes.append(reinterpret_cast<const char*>(&n), 8);
  bytes.append(reinterpret_cast<const char*>(t.data_ptr<float>()), t.numel() * sizeof(float));
  std::error_code ec;
  fs::create_directories(cache_dir, ec);
  if (ec) DPOK_THROW(IoError, kComponent, "cannot create {}: {}", cache_dir.string(), ec.message());
  write_file_atomic(cache_file(cache_dir, key), bytes);
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
