// A tokenized preference pair and the dataset summary: the data types every stage shares.
//
// What it does: defines PreferenceRecord (token ids plus optional per-record columns),
// DataSummary (what loading did with every record) and PreferenceDataset.
// What it doesn't do: read, tokenize or batch (json_stream.h, encode.h, batch.h).
#pragma once

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace dpok::data {

struct PreferenceRecord {
  // prompt_ids: the prompt's tokens (BOS included when the tokenizer or template adds one);
  // chosen_ids / rejected_ids: completion tokens only, EOS (or the template's end-of-turn)
  // included.
  std::vector<int32_t> prompt_ids, chosen_ids, rejected_ids;
  // Position of the record among all records read from its file list (0-based, counting dropped
  // and skipped records), so it maps back to the file.
  int64_t source_index = 0;
  std::optional<float> ref_chosen_logps, ref_rejected_logps;
  std::vector<float> prompt_embedding, chosen_embedding, rejected_embedding;  // empty = absent
  std::optional<int> label;

  // Longest of the two sequences (prompt + completion), in tokens.
  int64_t max_sequence_length() const {
    return static_cast<int64_t>(prompt_ids.size() +
                                std::max(chosen_ids.size(), rejected_ids.size()));
  }
};

// Mean and maximum of a token count.
struct LengthStats {
  double mean = 0.0;
  int64_t max = 0;
  nlohmann::json to_json() const { return {{"mean", mean}, {"max", max}}; }
};

struct DataSummary {
  int64_t records_read = 0;     // records seen in the files (including bad and dropped ones)
  int64_t records_kept = 0;     // records in this dataset
  int64_t truncated = 0;        // kept records that max_length shortened
  int64_t prompt_fallback = 0;  // implicit HH prompts taken from the common prefix
  std::map<std::string, int64_t> dropped;  // reason → count (drops and skipped bad records)
  std::map<std::string, int64_t> formats;  // format name → kept records
  // Column (as named in the files) → records read that carried it without it being used:
  // columns dpok does not know (as TRL ignores them), a prompt replaced by the implicit one,
  // chat_template_kwargs of a standard record (formats.h).
  std::map<std::string, int64_t> ignored_columns;
  LengthStats prompt_tokens, chosen_tokens, rejected_tokens, completion_tokens, sequence_tokens;
  // Padding fraction of batches of `padding_batch_size` pairs in dataset order (no grouping).
  double padding_fraction = 0.0;
  int64_t padding_batch_size = 0;
  std::vector<std::string> files;
  std::string cache_status = "off";  // "off", "hit", "miss", or "miss (not stored: why)"

  int64_t total_dropped() const;
  nlohmann::json to_json() const;
  std::string to_table() const;  // human-readable, one "name  value" line each
};

struct PreferenceDataset {
  std::vector<PreferenceRecord> records;
  DataSummary summary;
};

struct Splits {
  PreferenceDataset train, eval;
};

// Recomputes the token statistics and padding fraction of `dataset.summary` from its records
// (records_kept included); counts from reading (read, dropped, truncated) are left unchanged.
void update_token_stats(PreferenceDataset& dataset, int64_t batch_size = 8);

// An ASCII histogram of the longer sequence of each pair in ten equal-width buckets (`dpok data
// stats`); "" for an empty dataset.
std::string length_histogram(const PreferenceDataset& dataset);

}  // namespace dpok::data
