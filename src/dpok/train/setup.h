// From the trainer's configuration to the other subsystems' settings: the objective
// (dpok::objective::ObjectiveConfig, objective.md), the data section (dpok::data::DataConfig), the
// tokenizer location, and copying tokenizer files next to a saved model.
//
// What it does: map names and validate through the owners' validate(). What it does not do: load
// anything heavy (models, data).
#pragma once

#include <filesystem>

#include "dpok/data/config.h"
#include "dpok/objective/config.h"
#include "dpok/train/config.h"

namespace dpok::train {

// The objective settings of `config`; `sft_only` replaces the losses by {sft: 1} (dpok sft).
// Throws ConfigError (unknown kernel_options key with the nearest valid one, or whatever
// ObjectiveConfig::validate rejects).
objective::ObjectiveConfig to_objective_config(const TrainConfig& config, bool sft_only = false);

// The data section with the top-level max_length / max_prompt_length / truncation_mode applied.
// Throws ConfigError (DataConfig::from_yaml).
data::DataConfig to_data_config(const TrainConfig& config);

// Where the tokenizer lives: `tokenizer` when set, else the model directory. Throws ConfigError
// when the model is a single file (GGUF, llama2.c) and no tokenizer is configured.
std::filesystem::path tokenizer_path(const TrainConfig& config);

// Copies the tokenizer files found at `tokenizer` (a directory: tokenizer.json,
// tokenizer_config.json, tokenizer.model, special_tokens_map.json, chat_template.jinja; or a single
// file) into `dir`. Throws IoError naming the file.
void copy_tokenizer_files(const std::filesystem::path& tokenizer, const std::filesystem::path& dir);

}  // namespace dpok::train
