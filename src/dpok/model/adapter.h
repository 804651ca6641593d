// LoRA adapters in PEFT's on-disk format, and merging one into its base model.
//
// An adapter directory holds adapter_config.json (peft_type LORA, task_type CAUSAL_LM, r,
// lora_alpha, lora_dropout, target_modules, use_rslora, modules_to_save,
// base_model_name_or_path, ...) and adapter_model.safetensors with the names
// get_peft_model_state_dict writes (lora.h, adapter_parameters), so
// peft.PeftModel.from_pretrained loads what dpok saves and dpok loads what PEFT saves for the
// supported subset (plain LoRA on the decoder's projections, modules_to_save lm_head /
// embed_tokens). Files are written atomically; making the directory appear atomically is the
// caller's job (the trainer's checkpoints). Refused (UnsupportedError, naming the file and the
// field): other peft types, DoRA, rank/alpha patterns, layers_to_transform, bias other than
// "none", fan_in_fan_out.
#pragma once

#include <filesystem>
#include <string>

#include "dpok/model/causal_lm.h"
#include "dpok/model/loader.h"
#include "dpok/model/lora.h"

namespace dpok::model {

struct AdapterConfig {
  LoraSettings lora;
  std::string base_model_name_or_path;
};

// True when `path` is a directory holding adapter_config.json.
bool is_adapter_dir(const std::filesystem::path& path);

// Reads <dir>/adapter_config.json. Throws IoError (unreadable), FormatError (malformed: names
// the key), UnsupportedError (see above).
AdapterConfig read_adapter_config(const std::filesystem::path& dir);

// Writes adapter_config.json and adapter_model.safetensors (model's adapter_parameters, in their
// dtype) into `dir` (created if needed). Throws IoError naming the file.
void save_adapter(CausalLMImpl& model, const AdapterConfig& config,
                  const std::filesystem::path& dir);

// Copies <dir>/adapter_model.safetensors into the adapter parameters of `model` (apply_lora
// already done with the same settings). Throws FormatError naming the file and the tensor when
// one is missing, of another shape, or not part of the configured adapter.
void load_adapter_weights(CausalLMImpl& model, const std::filesystem::path& dir);

// What an adapter directory holds, without loading anything (`dpok info`): its configuration,
// its base (checked to exist, as loading would), and adapter_model.safetensors' tensors from its
// validated header. Throws like read_adapter_config, ConfigError for a missing base, FormatError
// / IoError naming a corrupt or missing weight file.
struct AdapterSummary {
  AdapterConfig config;
  std::filesystem::path base;
  std::filesystem::path weights_file;
  int64_t tensors = 0, elements = 0;
  uint64_t bytes = 0;
};
AdapterSummary describe_adapter(const std::filesystem::path& dir);

// The base at `base` (empty: the config's base_model_name_or_path) with the adapter of `dir`
// applied and loaded, adapters enabled. Throws like load_model and the functions above; a
// missing base says which path the adapter names.
CausalLM load_adapter_model(const std::filesystem::path& dir, const LoadOptions& options = {},
                            const std::filesystem::path& base = {});

// The merged model: the base with W + scaling · B A in every adapted projection and the
// modules_to_save copies in place of the originals (PEFT's merge_and_unload), as a plain model
// save_pretrained writes as a standard Hugging Face checkpoint. A tied model whose LM head and
// embeddings now differ comes back untied (tie_word_embeddings false, its own lm_head).
CausalLM merge_adapter(const std::filesystem::path& dir, const LoadOptions& options = {},
                       const std::filesystem::path& base = {});

}  // namespace dpok::model
