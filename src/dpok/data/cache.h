// On-disk cache of tokenized datasets, so a second load of the same data starts at once.
//
// What it does: computes a cache key from the data files (absolute path, size, modification
// time), the tokenizer (a fingerprint of its vocabulary, special tokens, chat template and the
// ids of a probe text) and every setting that changes the result; stores and loads a
// PreferenceDataset under <cache dir>/data/<key>.bin, written atomically (temporary file, fsync,
// rename). Layout: the cache header of io/cache_file.h (magic "DPOKDATA", version, key, payload
// checksum), then the payload: u64 summary length, summary JSON, u64 record count, then per
// record: i64 source_index, u32 prompt/chosen/rejected lengths and their int32 ids, u8 presence
// flags, the optional floats / label, u32 embedding sizes and their floats. Little-endian, as
// written by the host.
// What it doesn't do: evict old entries, or lock against concurrent writers (the atomic rename
// makes the last writer win with a complete file).
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "dpok/data/config.h"
#include "dpok/data/record.h"

namespace dpok::text {
class Tokenizer;
}

namespace dpok::data {

// $DPOK_CACHE, else $HOME/.cache/dpok, else ./.dpok-cache; `configured` wins when non-empty.
std::filesystem::path cache_root(const std::string& configured);

// Hex digest of everything that determines the tokenized dataset.
std::string cache_key(const std::vector<std::filesystem::path>& files, const DataConfig& config,
                      const text::Tokenizer& tokenizer);

// A 64-bit FNV-1a hash of the tokenizer's observable behaviour (see above).
uint64_t tokenizer_fingerprint(const text::Tokenizer& tokenizer);

// Serialises / parses the cache file format. parse_dataset throws FormatError naming the file
// (and the payload offset where a record is cut short) on a truncated, corrupt or stale file, or
// one written for another key.
std::string serialize_dataset(const PreferenceDataset& dataset, const std::string& key);
PreferenceDataset parse_dataset(const std::string& bytes, const std::string& expected_key,
                                const std::filesystem::path& path);

// Loads the cached dataset for `key`, or nullopt when there is none (or it is unreadable: a
// stale or corrupt entry is rebuilt rather than trusted).
std::optional<PreferenceDataset> load_cached(const std::filesystem::path& root,
                                             const std::string& key);
// Stores `dataset` atomically. Throws IoError when the cache directory is not writable.
void store_cached(const std::filesystem::path& root, const std::string& key,
                  const PreferenceDataset& dataset);

}  // namespace dpok::data
