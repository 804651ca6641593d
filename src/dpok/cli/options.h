// The options several `dpok` commands share, defined once: the tokenizer (and where it is found
// when not given), the device, and the data spec with its length default (data::DataConfig's,
// the one `dpok train` uses).
#pragma once

#include <CLI/CLI.hpp>

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "dpok/core/config_check.h"
#include "dpok/data/config.h"
#include "dpok/eval/evaluator.h"

namespace dpok::cli {

// --tokenizer. `required`: commands without a model (`dpok data`) must be given one.
void add_tokenizer_option(CLI::App& app, std::string& tokenizer, bool required = false);

// The tokenizer of `model`: --tokenizer when given, else the one next to the model
// (text::require_tokenizer). Throws ConfigError naming `component` and --tokenizer.
std::filesystem::path resolve_tokenizer(const std::string& model, const std::string& tokenizer,
                                        const char* component);

// --device (cpu, cuda, cuda:N, auto); resolve it with parse_device (core/torch/runtime.h).
void add_device_option(CLI::App& app, std::string& device);

// --data SPEC (required; a file, glob, or comma-separated list) and --max-length.
void add_data_options(CLI::App& app, std::string& spec, std::int64_t& max_length);

// add_data_options for a RecordSource, plus --sample and --seed (`seed_help` says what it seeds).
void add_record_source_options(CLI::App& app, eval::RecordSource& source,
                               const std::string& seed_help);

// The data section's flags of `dpok data`, defaults from data::DataConfig (`dpok train`'s).
struct DataFlags {
  std::string spec;
  data::DataConfig config;
  std::string truncation_mode = name_of(config.truncation_mode);
  std::string on_bad_record = name_of(config.on_bad_record);
  std::vector<std::string> field_map;  // canonical=column
  bool no_cache = false;
};

// add_data_options plus --truncation-mode, --format, --field-map, --on-bad-record,
// --num-threads, --cache-dir, --no-cache.
void add_data_config_options(CLI::App& app, DataFlags& flags);

// The DataConfig of `flags`, validated; prints its deprecation note on stderr. Throws
// ConfigError naming the flag of a bad value.
data::DataConfig resolve_data_config(const DataFlags& flags);

}  // namespace dpok::cli
