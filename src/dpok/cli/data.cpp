// `dpok data stats|show`: inspect a preference dataset without training.
//
//   dpok data stats --data SPEC --tokenizer T [--max-length N] [--json]
//       (lengths, truncation and bad-record handling default to `dpok train`'s: data::DataConfig)
//       loads (and caches) the data as training would and prints the summary: records read /
//       kept / dropped by reason, truncated, token lengths, padding fraction, and an ASCII
//       histogram of sequence lengths; --json prints one JSON object instead.
//   dpok data show --data SPEC --tokenizer T [-n 3]
//       prints the first n kept records as the model will see them: the decoded prompt and
//       completion tokens, with the boundary between them marked.
// SPEC is a file, a glob pattern, or a comma-separated list of them.
#include <algorithm>
#include <iostream>

#include "dpok/cli/command.h"
#include "dpok/core/error.h"
#include "dpok/data/dataset.h"
#include "dpok/data/encode.h"
#include "dpok/data/formats.h"
#include "dpok/data/json_stream.h"
#include "dpok/text/tokenizer.h"

namespace dpok::cli {
namespace {

struct DataOptions {
  std::string data, tokenizer;
  data::DataConfig config;  // the flags below fill it; its defaults are `dpok train`'s
  std::string truncation_mode = name_of(config.truncation_mode);
  std::string on_bad_record = name_of(config.on_bad_record);
  std::vector<std::string> field_map;
  int64_t batch_size = 8;
  bool no_cache = false, json = false;
  int64_t n = 3;
};

void add_common(CLI::App& app, DataOptions& o) {
  app.add_option("--data", o.data, "data file, glob, or comma-separated list")->required();
  app.add_option("--tokenizer", o.tokenizer, "model directory, tokenizer.json or .model")
      ->required();
  app.add_option("--max-length", o.config.max_length, "max prompt + completion tokens")
      ->capture_default_str();
  app.add_option("--truncation-mode", o.truncation_mode, join(enum_choices<data::TruncationMode>()))
      ->capture_default_str();
  app.add_option("--format", o.config.format,
                 "auto, standard_explicit, standard_implicit, "
                 "conversational_explicit, conversational_implicit")
      ->capture_default_str();
  app.add_option("--field-map", o.field_map, "canonical=column, e.g. prompt=question");
  app.add_option("--on-bad-record", o.on_bad_record, join(enum_choices<data::OnBadRecord>()))
      ->capture_default_str();
  app.add_option("--num-threads", o.config.num_threads, "tokenization threads (0: all cores)")
      ->capture_default_str();
  app.add_option("--cache-dir", o.config.cache_dir,
                 "cache directory (default $DPOK_CACHE or ~/.cache/dpok)");
  app.add_flag("--no-cache", o.no_cache, "neither read nor write the tokenization cache");
}

data::DataConfig make_config(const DataOptions& o) {
  data::DataConfig config = o.config;
  config.train_files = {o.data};
  config.truncation_mode = parse_enum<data::TruncationMode>(o.truncation_mode, "--truncation-mode");
  config.on_bad_record = parse_enum<data::OnBadRecord>(o.on_bad_record, "--on-bad-record");
  config.cache = !o.no_cache;
  for (const auto& entry : o.field_map) {
    const auto eq = entry.find('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == entry.size()) {
      DPOK_THROW(ConfigError, "data", "--field-map '{}': expected canonical=column", entry);
    }
    config.field_map[entry.substr(0, eq)] = entry.substr(eq + 1);
  }
  config.validate();
  if (auto note = config.deprecation_note(); !note.empty()) std::cerr << note << "\n";
  return config;
}

// Ten equal-width buckets of the longer sequence of each pair.
std::string histogram(const data::PreferenceDataset& d) {
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

int run_stats(const DataOptions& o) {
  const auto tok = text::Tokenizer::load(o.tokenizer);
  const auto config = make_config(o);
  auto dataset = data::load_preference_files(data::expand_data_spec(o.data), config, *tok);
  data::update_token_stats(dataset, o.batch_size);
  if (o.json) {
    std::cout << dataset.summary.to_json().dump() << "\n";
    return 0;
  }
  std::cout << "data: " << o.data << "\n" << dataset.summary.to_table() << histogram(dataset);
  return 0;
}

std::string show_tokens(const text::Tokenizer& tok, const std::vector<int32_t>& ids) {
  return tok.decode(std::span<const int32_t>(ids.data(), ids.size()));
}

int run_show(const DataOptions& o) {
  const auto tok = text::Tokenizer::load(o.tokenizer);
  const auto config = make_config(o);
  const data::RecordParser parser(config);
  const data::PairEncoder encoder(*tok, data::EncodeOptions::from_config(config));
  int64_t shown = 0;
  for (const auto& file : data::expand_data_spec(o.data)) {
    data::RecordReader reader(file);
    while (shown < o.n) {
      const auto raw = reader.next();
      if (!raw) break;
      const std::string where = fmt::format("{}:{}", file.string(), raw->line);
      const auto parsed = parser.parse(raw->text);
      const auto encoded = parsed.pair ? encoder.encode(*parsed.pair) : data::EncodeResult{};
      const auto& issue = parsed.issue ? parsed.issue : encoded.issue;
      if (issue) {
        std::cout << fmt::format("=== {} dropped: {} (field '{}': {})\n\n", where, issue->reason,
                                 issue->field, issue->message);
        continue;
      }
      const auto& r = *encoded.record;
      std::cout << fmt::format("=== record {} ({}, {}{})\n", shown, where,
                               data::format_name(parsed.pair->format),
                               encoded.truncated ? ", truncated" : "");
      std::cout << fmt::format("--- prompt: {} tokens ---\n⟦{}⟧\n", r.prompt_ids.size(),
                               show_tokens(*tok, r.prompt_ids));
      std::cout << fmt::format("--- chosen: {} tokens (after the prompt) ---\n⟦{}⟧\n",
                               r.chosen_ids.size(), show_tokens(*tok, r.chosen_ids));
      std::cout << fmt::format("--- rejected: {} tokens (after the prompt) ---\n⟦{}⟧\n\n",
                               r.rejected_ids.size(), show_tokens(*tok, r.rejected_ids));
      ++shown;
    }
  }
  return 0;
}

std::function<int()> setup_data(CLI::App& app) {
  app.description("Inspect a preference dataset: summary statistics or tokenized records");
  app.require_subcommand(1);
  auto o = std::make_shared<DataOptions>();
  CLI::App* stats = app.add_subcommand("stats", "summary, dropped records and length histogram");
  add_common(*stats, *o);
  stats->add_flag("--json", o->json, "print one JSON object");
  stats->add_option("--batch-size", o->batch_size, "pairs per batch for the padding fraction")
      ->capture_default_str();
  CLI::App* show = app.add_subcommand("show", "print tokenized records with their boundaries");
  add_common(*show, *o);
  show->add_option("-n", o->n, "records to show")->capture_default_str();
  return [o, stats]() { return stats->parsed() ? run_stats(*o) : run_show(*o); };
}

}  // namespace

DPOK_REGISTER_COMMAND("data", setup_data);

}  // namespace dpok::cli
