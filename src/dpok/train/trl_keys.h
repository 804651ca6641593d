// Recipe files written for TRL's command line (trl dpo --config) and alignment-handbook scripts:
// one YAML mixing TRL's ModelConfig, ScriptArguments / DatasetMixtureConfig, DPOConfig and
// transformers' TrainingArguments. The names (TRL 1.16, transformers 5.23, plus the handbook's
// and TRL's removed ones) are one table in trl_keys.cpp.
//
// What it does, before the schema reads the file: keys with a meaning in dpok become dpok keys
// (model_name_or_path -> model, bf16: true -> dtype: bf16, a local dataset_name -> data files,
// ...); keys about what dpok does not do (hub upload, trackers, attention kernels, ...) are
// removed and reported in one note; keys asking for a feature dpok lacks (use_dora: true,
// neftune_noise_alpha: 5, ...), removed TRL names (rpo_alpha, max_prompt_length, ...) and hub ids
// (dpok runs offline) throw ConfigError saying what to do instead. DPOConfig keys dpok shares
// with TRL (beta, loss_type, max_length, ...) are plain schema keys and pass through.
#pragma once

#include <yaml-cpp/yaml.h>

#include <string>
#include <vector>

namespace dpok::train {

// Rewrites the TRL / transformers / handbook keys of `root` (a mapping) in place. Returns the
// notes for the user (at most one line: the ignored keys grouped by reason). Throws ConfigError
// naming the key: removed names (with their replacement), unsupported features, hub ids, a TRL
// key that conflicts with the dpok key it maps to.
std::vector<std::string> translate_trl_keys(YAML::Node& root);

// Every name of the table, for "did you mean" hints on unknown keys.
const std::vector<std::string>& trl_key_names();

}  // namespace dpok::train
