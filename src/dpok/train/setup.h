// From the trainer's configuration to what a run needs besides it: the objective of the run's
// mode, the tokenizer location, and copying tokenizer files next to a saved model.
//
// What it does not do: load anything heavy (models, data).
#pragma once

#include <filesystem>

#include "dpok/objective/config.h"
#include "dpok/train/config.h"

namespace dpok::train {

// The objective of the run: config.objective, or for `dpok sft` (`sft_only`) the same with the
// losses replaced by {sft: 1} and the semantic term and token penalty off.
objective::ObjectiveConfig to_objective_config(const TrainConfig& config, bool sft_only = false);

// Where the tokenizer lives: text::require_tokenizer of `model` and `tokenizer` (the tokenizer
// next to the model unless `tokenizer` is set). Throws ConfigError when none is found.
std::filesystem::path tokenizer_path(const TrainConfig& config);

// Copies the tokenizer files found at `tokenizer` (a directory: tokenizer.json,
// tokenizer_config.json, tokenizer.model, special_tokens_map.json, chat_template.jinja; or a single
// file; or a GGUF file carrying its tokenizer, written out as tokenizer.json + tokenizer_config.json)
// into `dir`. Throws IoError naming the file.
void copy_tokenizer_files(const std::filesystem::path& tokenizer, const std::filesystem::path& dir);

}  // namespace dpok::train
