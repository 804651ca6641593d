// DataSummary reporting and token statistics (see record.h).
#include "dpok/data/record.h"

#include <fmt/format.h>

#include <algorithm>

namespace dpok::data {
namespace {

struct Accumulator {
  double sum = 0.0;
  int64_t max = 0, count = 0;
  void add(int64_t n) {
    sum += static_cast<double>(n);
    max = std::max(max, n);
    ++count;
  }
  LengthStats stats() const { return {count > 0 ? sum / static_cast<double>(count) : 0.0, max}; }
};

std::string stats_line(const char* name, const LengthStats& s) {
  return fmt::format("  {:<22}{:>10.1f} mean {:>8} max\n", name, s.mean, s.max);
}

}  // namespace

int64_t DataSummary::total_dropped() const {
  int64_t total = 0;
  for (const auto& [reason, count] : dropped) total += count;
  return total;
}

nlohmann::json DataSummary::to_json() const {
  nlohmann::json out;
  out["records_read"] = records_read;
  out["records_kept"] = records_kept;
  out["truncated"] = truncated;
  out["prompt_fallback"] = prompt_fallback;
  out["dropped"] = nlohmann::json::object();
  for (const auto& [reason, count] : dropped) out["dropped"][reason] = count;
  out["formats"] = nlohmann::json::object();
  for (const auto& [name, count] : formats) out["formats"][name] = count;
  out["ignored_columns"] = nlohmann::json::object();
  for (const auto& [name, count] : ignored_columns) out["ignored_columns"][name] = count;
  out["tokens"] = {{"prompt", prompt_tokens.to_json()},
                   {"chosen", chosen_tokens.to_json()},
                   {"rejected", rejected_tokens.to_json()},
                   {"completion", completion_tokens.to_json()},
                   {"sequence", sequence_tokens.to_json()}};
  out["padding_fraction"] = padding_fraction;
  out["padding_batch_size"] = padding_batch_size;
  out["files"] = files;
  out["cache"] = cache_status;
  return out;
}

std::string DataSummary::to_table() const {
  std::string out;
  out += fmt::format("  {:<22}{:>10}\n", "records read", records_read);
  out += fmt::format("  {:<22}{:>10}\n", "records kept", records_kept);
  out += fmt::format("  {:<22}{:>10}\n", "records dropped", total_dropped());
  for (const auto& [reason, count] : dropped)
    out += fmt::format("    {:<20}{:>10}\n", reason, count);
  out += fmt::format("  {:<22}{:>10}\n", "truncated", truncated);
  out += fmt::format("  {:<22}{:>10}\n", "prompt LCP fallback", prompt_fallback);
  for (const auto& [name, count] : formats) out += fmt::format("  {:<22}{:>10}\n", name, count);
  if (!ignored_columns.empty()) out += "  ignored columns (records carrying each)\n";
  for (const auto& [name, count] : ignored_columns)
    out += fmt::format("    {:<20}{:>10}\n", name, count);
  out += stats_line("prompt tokens", prompt_tokens);
  out += stats_line("chosen tokens", chosen_tokens);
  out += stats_line("rejected tokens", rejected_tokens);
  out += stats_line("completion tokens", completion_tokens);
  out += stats_line("sequence tokens", sequence_tokens);
  out += fmt::format("  {:<22}{:>10.3f}  (batches of {} pairs, dataset order)\n",
                     "padding fraction", padding_fraction, padding_batch_size);
  out += fmt::format("  {:<22}{:>10}\n", "cache", cache_status);
  return out;
}

void update_token_stats(PreferenceDataset& dataset, int64_t batch_size) {
  Accumulator prompt, chosen, rejected, completion, sequence;
  const auto& records = dataset.records;
  for (const auto& r : records) {
    const auto p = static_cast<int64_t>(r.prompt_ids.size());
    const auto c = static_cast<int64_t>(r.chosen_ids.size());
    const auto j = static_cast<int64_t>(r.rejected_ids.size());
    prompt.add(p);
    chosen.add(c);
    rejected.add(j);
    completion.add(c);
    completion.add(j);
    sequence.add(p + c);
    sequence.add(p + j);
  }
  auto& s = dataset.summary;
  s.records_kept = static_cast<int64_t>(records.size());
  s.prompt_tokens = prompt.stats();
  s.chosen_tokens = chosen.stats();
  s.rejected_tokens = rejected.stats();
  s.completion_tokens = completion.stats();
  s.sequence_tokens = sequence.stats();
  // Padding of [2B, T] batches taken in order: padded cells / all cells.
  double padded = 0.0, cells = 0.0;
  const auto b = static_cast<size_t>(std::max<int64_t>(batch_size, 1));
  for (size_t start = 0; start < records.size(); start += b) {
    const size_t end = std::min(records.size(), start + b);
    int64_t longest = 0, tokens = 0;
    for (size_t i = start; i < end; ++i) {
      const auto p = static_cast<int64_t>(records[i].prompt_ids.size());
      longest = std::max(longest, records[i].max_sequence_length());
      tokens += 2 * p +
                static_cast<int64_t>(records[i].chosen_ids.size() + records[i].rejected_ids.size());
    }
    const double all = static_cast<double>(longest) * 2.0 * static_cast<double>(end - start);
    cells += all;
    padded += all - static_cast<double>(tokens);
  }
  s.padding_fraction = cells > 0.0 ? padded / cells : 0.0;
  s.padding_batch_size = static_cast<int64_t>(b);
}

std::string length_histogram(const PreferenceDataset& d) {
  if (d.records.empty()) return "";
  int64_t longest = 1;
  for (const auto& r : d.records) longest = std::max(longest, r.max_sequence_length());
  constexpr int kBuckets = 10, kWidth = 40;
  const int64_t step = (longest + kBuckets - 1) / kBuckets;
  std::vector<int64_t> counts(kBuckets, 0);
  for (const auto& r : d.records) {
    ++counts[std::min<int64_t>(kBuckets - 1, r.max_sequence_length() / step)];
  }
  const int64_t peak = *std::max_element(counts.begin(), counts.end());
  std::string out = "sequence length (longer of chosen / rejected, tokens):\n";
  for (int b = 0; b < kBuckets; ++b) {
    const auto bar = static_cast<size_t>(peak > 0 ? counts[b] * kWidth / peak : 0);
    out += fmt::format("  {:>7} - {:<7} {:>8}  {}\n", b * step, (b + 1) * step - 1, counts[b],
                       std::string(bar, '#'));
  }
  return out;
}

}  // namespace dpok::data
