// The data pipeline's settings: the `data:` section of the trainer configuration plus TRL's
// top-level length keys (max_length, truncation_mode, pad_to_multiple_of), also filled from the
// `dpok data` / `dpok eval` / `dpok select` flags.
//
// What it does: holds every data-pipeline setting; the member initialisers are the one set of
// defaults that `dpok train`, `data stats`, `eval` and `select` share. Its two schema sections
// (core/schema.h) read and write it; validate() checks ranges and field_map names.
// What it doesn't do: read files (dataset.h) or check that the files exist (done at load time).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "dpok/core/schema.h"

namespace dpok::data {

// TRL's truncation_mode: keep_start keeps each sequence's beginning (cuts the completion's end;
// a prompt that fills max_length drops the record); keep_end (deprecated in TRL 1.x) keeps the
// end (cuts the prompt's start).
enum class TruncationMode { kKeepStart, kKeepEnd };
// What a malformed or unusable record does: stop with an error naming it, or count and skip it.
enum class OnBadRecord { kError, kSkip };

std::span<const EnumName<TruncationMode>> enum_names(TruncationMode);
std::span<const EnumName<OnBadRecord>> enum_names(OnBadRecord);

struct DataConfig {
  // Paths or glob patterns; .jsonl / .json, optionally .gz / .zst compressed.
  std::vector<std::string> train_files;
  // Optional evaluation files; when empty, `eval_fraction` of the train records are held out.
  std::vector<std::string> eval_files;
  double eval_fraction = 0.0;  // in [0, 1)
  // "auto" (per record), "standard_explicit", "standard_implicit", "conversational_explicit",
  // "conversational_implicit".
  std::string format = "auto";
  // Canonical column → column name in the files, e.g. {"prompt": "question"}. Canonical names:
  // canonical_fields().
  std::map<std::string, std::string> field_map;
  int64_t max_length = 1024;  // prompt + completion tokens per sequence (TRL's default)
  TruncationMode truncation_mode = TruncationMode::kKeepStart;  // TRL 1.x default
  std::optional<int64_t> pad_to_multiple_of;  // pad each batch's length to a multiple of this
  OnBadRecord on_bad_record = OnBadRecord::kError;
  std::string cache_dir;  // "" = $DPOK_CACHE, else ~/.cache/dpok
  bool cache = true;      // false: never read or write the tokenization cache
  int num_threads = 0;    // tokenization threads; 0 = all cores

  // Checks value ranges and field_map names. Throws ConfigError naming the key and the value.
  void validate() const;

  // TRL's deprecation note for truncation_mode: keep_end; empty otherwise.
  std::string deprecation_note() const;
};

// The keys of the `data:` mapping (files, format, field_map, cache, ...), prefixed "data.".
const schema::Section<DataConfig>& data_section();
// TRL's top-level data keys: max_length, truncation_mode, pad_to_multiple_of.
const schema::Section<DataConfig>& length_section();

// The canonical column names accepted as field_map keys.
const std::vector<std::string>& canonical_fields();

}  // namespace dpok::data
