// Loading, validation, caching and splitting of preference data (see dataset.h).
#include "dpok/data/dataset.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <exception>
#include <thread>

#include "dpok/core/error.h"
#include "dpok/data/cache.h"
#include "dpok/data/encode.h"
#include "dpok/data/formats.h"
#include "dpok/data/json_stream.h"
#include "dpok/data/rng.h"

namespace dpok::data {
namespace {

constexpr const char* kComponent = "data";
constexpr size_t kChunkRecords = 2048;

struct Outcome {
  std::optional<PreferenceRecord> record;
  std::optional<RecordIssue> issue;
  std::exception_ptr error;
  std::vector<std::string> ignored_columns;
  bool truncated = false, fallback = false;
  Format format = Format::kStandardExplicit;
};

struct Location {
  size_t file = 0;
  int64_t line = 0;
};

// Runs fn(i) for i in [0, n) on `threads` threads (0 = all cores).
template <typename Fn>
void parallel_for(size_t n, int threads, Fn fn) {
  size_t workers = threads > 0 ? static_cast<size_t>(threads) : std::thread::hardware_concurrency();
  workers = std::clamp<size_t>(workers, 1, std::max<size_t>(n, 1));
  std::atomic<size_t> next{0};
  const auto work = [&] {
    for (size_t i = next++; i < n; i = next++) fn(i);
  };
  std::vector<std::thread> pool;
  for (size_t w = 1; w < workers; ++w) pool.emplace_back(work);
  work();
  for (auto& t : pool) t.join();
}

Outcome process(const RecordParser& parser, const PairEncoder& encoder, const RawRecord& raw) {
  Outcome out;
  try {
    ParseResult parsed = parser.parse(raw.text);
    out.ignored_columns = std::move(parsed.ignored_columns);
    if (!parsed.pair) {
      out.issue = std::move(parsed.issue);
      return out;
    }
    out.format = parsed.pair->format;
    out.fallback = parsed.pair->prompt_fallback;
    EncodeResult encoded = encoder.encode(*parsed.pair);
    out.record = std::move(encoded.record);
    out.issue = std::move(encoded.issue);
    out.truncated = encoded.truncated;
  } catch (...) {
    out.error = std::current_exception();
  }
  return out;
}

// Rethrows a tokenizer / template error with the record's location; a bug (InternalError) stays
// one rather than becoming a complaint about the record.
[[noreturn]] void rethrow_located(const std::exception_ptr& error, const std::string& where) {
  try {
    std::rethrow_exception(error);
  } catch (const ConfigError&) {
    throw;
  } catch (const InternalError&) {
    throw;
  } catch (const Error& e) {
    DPOK_THROW(FormatError, kComponent, "{}: {}", where, e.what());
  }
}

// Optional columns: present in all kept records or in none; embedding sizes equal.
void check_columns(const PreferenceDataset& dataset, const std::vector<Location>& locations,
                   const std::vector<std::filesystem::path>& files) {
  if (dataset.records.empty()) return;
  const auto where = [&](size_t i) {
    return fmt::format("{}:{}", files[locations[i].file].string(), locations[i].line);
  };
  const PreferenceRecord& first = dataset.records.front();
  const auto check = [&](const char* name, auto signature) {
    const auto expected = signature(first);
    for (size_t i = 1; i < dataset.records.size(); ++i) {
      const auto actual = signature(dataset.records[i]);
      if (actual != expected) {
        DPOK_THROW(FormatError, kComponent,
                   "{}: field '{}': {} here, but {} in the first kept record ({}); optional "
                   "columns must be present in every record or in none, with one size",
                   where(i), name, actual < 0 ? "absent" : fmt::format("size {}", actual),
                   expected < 0 ? "absent" : fmt::format("size {}", expected), where(0));
      }
    }
  };
  const auto opt = [](const auto& o) { return o.has_value() ? int64_t{1} : int64_t{-1}; };
  const auto vec = [](const auto& v) {
    return v.empty() ? int64_t{-1} : static_cast<int64_t>(v.size());
  };
  check("ref_chosen_logps", [&](const PreferenceRecord& r) { return opt(r.ref_chosen_logps); });
  check("ref_rejected_logps", [&](const PreferenceRecord& r) { return opt(r.ref_rejected_logps); });
  check("label", [&](const PreferenceRecord& r) { return opt(r.label); });
  check("prompt_embedding", [&](const PreferenceRecord& r) { return vec(r.prompt_embedding); });
  check("chosen_embedding", [&](const PreferenceRecord& r) { return vec(r.chosen_embedding); });
  check("rejected_embedding", [&](const PreferenceRecord& r) { return vec(r.rejected_embedding); });
}

// Reads, parses and tokenizes every record of `files` (no cache).
PreferenceDataset build_dataset(const std::vector<std::filesystem::path>& files,
                                const DataConfig& config, const text::Tokenizer& tokenizer) {
  const RecordParser parser(config);
  const PairEncoder encoder(tokenizer, EncodeOptions::from_config(config));
  const bool skip = config.on_bad_record == OnBadRecord::kSkip;
  PreferenceDataset dataset;
  DataSummary& s = dataset.summary;
  std::vector<Location> locations;
  int64_t source_index = 0;
  for (size_t f = 0; f < files.size(); ++f) {
    RecordReader reader(files[f]);
    s.files.push_back(files[f].string());
    for (;;) {
      std::vector<RawRecord> chunk;
      while (chunk.size() < kChunkRecords) {
        auto raw = reader.next();
        if (!raw) break;
        chunk.push_back(std::move(*raw));
      }
      if (chunk.empty()) break;
      std::vector<Outcome> outcomes(chunk.size());
      parallel_for(chunk.size(), config.num_threads,
                   [&](size_t i) { outcomes[i] = process(parser, encoder, chunk[i]); });
      for (size_t i = 0; i < chunk.size(); ++i, ++source_index) {
        Outcome& o = outcomes[i];
        ++s.records_read;
        const std::string where = fmt::format("{}:{}", files[f].string(), chunk[i].line);
        if (o.error) rethrow_located(o.error, where);
        for (const auto& column : o.ignored_columns) ++s.ignored_columns[column];
        if (o.issue) {
          if (o.issue->bad_input && !skip) {
            DPOK_THROW(FormatError, kComponent, "{}: field '{}': {} ({})", where, o.issue->field,
                       o.issue->message, o.issue->reason);
          }
          ++s.dropped[o.issue->reason];
          continue;
        }
        o.record->source_index = source_index;
        s.truncated += o.truncated ? 1 : 0;
        s.prompt_fallback += o.fallback ? 1 : 0;
        ++s.formats[format_name(o.format)];
        dataset.records.push_back(std::move(*o.record));
        locations.push_back({f, chunk[i].line});
      }
    }
  }
  check_columns(dataset, locations, files);
  return dataset;
}

}  // namespace

PreferenceDataset load_preference_files(const std::vector<std::filesystem::path>& files,
                                        const DataConfig& config,
                                        const text::Tokenizer& tokenizer) {
  config.validate();
  if (files.empty()) DPOK_THROW(ConfigError, kComponent, "no data files given");
  std::string key;
  std::filesystem::path root;
  if (config.cache) {
    root = cache_root(config.cache_dir);
    key = cache_key(files, config, tokenizer);
    if (auto cached = load_cached(root, key)) {
      cached->summary.cache_status = "hit";
      return std::move(*cached);
    }
  }
  PreferenceDataset dataset = build_dataset(files, config, tokenizer);
  update_token_stats(dataset);
  if (config.cache) {
    dataset.summary.cache_status = "miss";
    try {
      store_cached(root, key, dataset);
    } catch (const IoError& e) {
      // A read-only cache location must not stop training; the summary says what happened.
      dataset.summary.cache_status = fmt::format("miss (not stored: {})", e.what());
    }
  }
  return dataset;
}

Splits split_by_fraction(PreferenceDataset all, double eval_fraction, uint64_t seed) {
  Splits splits;
  const size_t n = all.records.size();
  size_t n_eval = static_cast<size_t>(std::llround(eval_fraction * static_cast<double>(n)));
  if (eval_fraction > 0.0 && n_eval == 0 && n > 1) n_eval = 1;
  n_eval = std::min(n_eval, n);
  std::vector<size_t> order(n);
  for (size_t i = 0; i < n; ++i) order[i] = i;
  SplitMix64 rng(seed ^ 0x5EED5EED5EED5EEDull);
  fisher_yates(order, rng);
  std::vector<char> is_eval(n, 0);
  for (size_t i = 0; i < n_eval; ++i) is_eval[order[i]] = 1;
  splits.train.summary = all.summary;
  splits.eval.summary = all.summary;
  for (size_t i = 0; i < n; ++i) {
    (is_eval[i] ? splits.eval : splits.train).records.push_back(std::move(all.records[i]));
  }
  update_token_stats(splits.train);
  update_token_stats(splits.eval);
  return splits;
}

Splits load_preference_data(const DataConfig& config, const text::Tokenizer& tokenizer,
                            uint64_t seed) {
  config.validate();
  if (config.train_files.empty()) {
    DPOK_THROW(ConfigError, kComponent, "data.train_files is empty");
  }
  PreferenceDataset train =
      load_preference_files(expand_data_spec(config.train_files), config, tokenizer);
  if (!config.eval_files.empty()) {
    Splits splits;
    splits.train = std::move(train);
    splits.eval = load_preference_files(expand_data_spec(config.eval_files), config, tokenizer);
    return splits;
  }
  if (config.eval_fraction > 0.0)
    return split_by_fraction(std::move(train), config.eval_fraction, seed);
  Splits splits;
  splits.train = std::move(train);
  return splits;
}

}  // namespace dpok::data
