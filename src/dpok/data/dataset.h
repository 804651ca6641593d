// Loading preference data: files → validated, tokenized, cached records and train/eval splits.
//
// What it does: streams every record of the configured files (json_stream.h), parses and
// validates it (formats.h), tokenizes it on all cores (encode.h), applies the bad-record policy,
// counts everything in a DataSummary, checks that optional columns are consistent across
// records, caches the result on disk (cache.h) and splits train / eval by file or by fraction.
// What it doesn't do: batching (batch.h, batch_iterator.h).
//
// Bad records (malformed_json, invalid_utf8, missing_field, wrong_type, empty_string,
// reserved_key, prompt_not_prefix): with on_bad_record = "error" the first one throws FormatError
//   "[data] <file>:<line>: field '<field>': <what, expected vs actual> (<reason>)";
// with "skip" they are counted in summary.dropped by reason. Drops (identical_chosen_rejected,
// empty_completion, prompt_too_long, identical_after_truncation) are always counted, never
// errors. Columns nothing reads are never errors: summary.ignored_columns counts, per column,
// the records read that carried it. Also throws IoError (unreadable files), ConfigError (invalid
// config, no data, a conversational record with a template-less tokenizer) and FormatError when an
// optional column is present in some records and missing in others, or embedding sizes differ
// (naming file:line of the first disagreeing record).
#pragma once

#include <cstdint>
#include <filesystem>
#include <vector>

#include "dpok/data/config.h"
#include "dpok/data/record.h"

namespace dpok::text {
class Tokenizer;
}

namespace dpok::data {

// Loads one list of files (in order) as one dataset, through the cache when config.cache.
// source_index counts records across the files in this order.
PreferenceDataset load_preference_files(const std::vector<std::filesystem::path>& files,
                                        const DataConfig& config, const text::Tokenizer& tokenizer);

// The train and eval sets of `config`: eval from eval_files when given, else a seeded random
// eval_fraction of the train records (at least one when the fraction is > 0), else empty.
// Records keep their file order within each split. With a fraction split, both summaries carry
// the read / dropped / truncated counts of the whole file set; records_kept and the token
// statistics are per split.
Splits load_preference_data(const DataConfig& config, const text::Tokenizer& tokenizer,
                            uint64_t seed);

// Splits `all` by fraction as load_preference_data does (exposed for tests and tools).
Splits split_by_fraction(PreferenceDataset all, double eval_fraction, uint64_t seed);

}  // namespace dpok::data
