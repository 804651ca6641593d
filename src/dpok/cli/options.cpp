// Options shared by several commands (see options.h).
#include "dpok/cli/options.h"

#include <iostream>
#include <map>

#include "dpok/core/config_check.h"
#include "dpok/core/error.h"
#include "dpok/core/text_util.h"
#include "dpok/text/tokenizer_path.h"

namespace dpok::cli {

void add_tokenizer_option(CLI::App& app, std::string& tokenizer, bool required) {
  auto* option = app.add_option("--tokenizer", tokenizer,
                                required ? "model directory, tokenizer.json or .model"
                                         : "tokenizer directory, tokenizer.json or .model "
                                           "(default: the one next to the model)");
  if (required) option->required();
}

std::filesystem::path resolve_tokenizer(const std::string& model, const std::string& tokenizer,
                                        const char* component) {
  return text::require_tokenizer(model, tokenizer, component, "--tokenizer");
}

void add_device_option(CLI::App& app, std::string& device) {
  app.add_option("--device", device, "cpu, cuda, cuda:N or auto")->capture_default_str();
}

void add_data_options(CLI::App& app, std::string& spec, std::int64_t& max_length) {
  app.add_option("--data", spec, "data file, glob, or comma-separated list")->required();
  app.add_option("--max-length", max_length, "max prompt + completion tokens")
      ->capture_default_str();
}

void add_record_source_options(CLI::App& app, eval::RecordSource& source,
                               const std::string& seed_help) {
  add_data_options(app, source.spec, source.max_length);
  std::map<std::string, data::TruncationMode> modes;
  for (const auto& name : enum_choices<data::TruncationMode>()) {
    modes[name] = parse_enum<data::TruncationMode>(name, "--truncation-mode");
  }
  app.add_option("--truncation-mode", source.truncation_mode,
                 "keep_start (default) or keep_end, as the training run's truncation_mode")
      ->transform(CLI::CheckedTransformer(modes));
  app.add_option("--sample", source.sample, "random subset of N records (0 = all)")
      ->capture_default_str();
  app.add_option("--seed", source.seed, seed_help)->capture_default_str();
}

void add_data_config_options(CLI::App& app, DataFlags& f) {
  add_data_options(app, f.spec, f.config.max_length);
  app.add_option("--truncation-mode", f.truncation_mode, join(enum_choices<data::TruncationMode>()))
      ->capture_default_str();
  app.add_option("--format", f.config.format,
                 "auto, standard_explicit, standard_implicit, "
                 "conversational_explicit, conversational_implicit")
      ->capture_default_str();
  app.add_option("--field-map", f.field_map, "canonical=column, e.g. prompt=question");
  app.add_option("--on-bad-record", f.on_bad_record, join(enum_choices<data::OnBadRecord>()))
      ->capture_default_str();
  app.add_option("--num-threads", f.config.num_threads, "tokenization threads (0: all cores)")
      ->capture_default_str();
  app.add_option("--cache-dir", f.config.cache_dir,
                 "cache directory (default $DPOK_CACHE or ~/.cache/dpok)");
  app.add_flag("--no-cache", f.no_cache, "neither read nor write the tokenization cache");
}

data::DataConfig resolve_data_config(const DataFlags& f) {
  data::DataConfig config = f.config;
  config.train_files = {f.spec};
  config.truncation_mode = parse_enum<data::TruncationMode>(f.truncation_mode, "--truncation-mode");
  config.on_bad_record = parse_enum<data::OnBadRecord>(f.on_bad_record, "--on-bad-record");
  config.cache = !f.no_cache;
  for (const auto& entry : f.field_map) {
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

}  // namespace dpok::cli
