// The trainer's configuration: one schema for the YAML file, the `key=value` command-line
// overrides and the resolved configuration written into the run directory (style.md rule 16).
//
// Names follow TRL's DPOConfig where the concept exists there (beta, loss_type, learning_rate,
// per_device_train_batch_size, ...) and objective.md for the DPO-Kernels settings (gamma, kernel,
// placement, embedding_source, divergence, penalty_*). The YAML is flat like TRL's: the
// objective's keys and the data lengths (max_length, truncation_mode, pad_to_multiple_of) sit at
// the top level, the data files under `data:`, kernel hyper-parameters under `kernel_options:`.
// Each section is one table of rows (config.cpp, objective_schema.cpp, data/config.cpp); the
// struct member initialisers are the only defaults.
//
// Recipe files written for TRL's command line or alignment-handbook scripts load too: their
// ModelConfig / ScriptArguments / TrainingArguments keys are mapped or reported (trl_keys.h).
//
// What it does: parse, apply overrides, reject unknown keys (suggesting the nearest valid name),
// check every value and cross-field conflict at load, in milliseconds. What it does not do: load
// models or data.
#pragma once

#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "dpok/core/schema.h"
#include "dpok/data/config.h"
#include "dpok/objective/config.h"
#include "dpok/train/schedule.h"

namespace dpok::train {

struct TrainConfig {
  // Models and runtime.
  std::string model;           // policy: Hugging Face directory or GGUF file (required)
  std::string ref_model;       // reference; empty = frozen copy of the policy's initial weights
  std::string tokenizer;       // tokenizer path; empty = the model directory
  std::string device = "cpu";  // "cpu", "cuda", "cuda:N", "auto"
  std::string dtype = "fp32";  // compute dtype; on CUDA "bf16" keeps fp32 master weights
  std::string output_dir = "runs/dpok";
  // LibTorch intra-op threads; 0 keeps the command line's --threads / DPOK_THREADS / all cores.
  // Tiny models (stories260K) run faster on 1 thread than on 2 busy cores.
  int64_t threads = 0;

  // The objective (objective.md §1-6; keys at the top level, kernel_options nested).
  objective::ObjectiveConfig objective;
  // The data pipeline (`data:` plus the top-level max_length / truncation_mode /
  // pad_to_multiple_of).
  data::DataConfig data;

  // LoRA (TRL's ModelConfig names and defaults; model/lora.h). The base weights are frozen, the
  // adapters (and modules_to_save copies) trained, the reference is the same model with its
  // adapters switched off, and checkpoints hold the adapter in PEFT's format (model/adapter.h).
  bool use_peft = false;
  int64_t lora_r = 16;
  int64_t lora_alpha = 32;
  double lora_dropout = 0.05;
  // Projection names (q_proj, k_proj, v_proj, o_proj, gate_proj, up_proj, down_proj) or
  // "all-linear"; empty: q_proj, v_proj (PEFT's default for the Llama family).
  std::vector<std::string> lora_target_modules;
  bool use_rslora = false;  // scaling lora_alpha / √r instead of lora_alpha / r
  std::vector<std::string> lora_modules_to_save;  // lm_head, embed_tokens: trained copies
  // QLoRA-style bases (TRL's load_in_4bit / load_in_8bit; model/quantized_base.h): with use_peft
  // the frozen decoder projections stay quantized in memory, as GGUF blocks of base_quant_type
  // (empty: Q4_0 for 4 bits, Q8_0 for 8), or as a GGUF file stores them.
  bool load_in_4bit = false;
  bool load_in_8bit = false;
  std::string base_quant_type;
  // The ggml type the base's float projections become; nullopt without load_in_4bit/8bit.
  std::optional<uint32_t> base_quantization() const;

  // TR-DPO (TRL): every ref_model_sync_steps updates, ref = α·policy + (1 − α)·ref.
  bool sync_ref_model = false;
  double ref_model_mixup_alpha = 0.6;
  int64_t ref_model_sync_steps = 512;

  // Optimisation.
  double learning_rate = 1e-6;
  ScheduleType lr_scheduler_type = ScheduleType::kLinear;
  double warmup_ratio = 0.0;
  int64_t warmup_steps = 0;  // > 0 wins over warmup_ratio (as in TRL)
  int64_t per_device_train_batch_size = 8;
  int64_t per_device_eval_batch_size = 8;
  bool group_by_length = false;
  // TRL's padding_free: each batch's sequences packed end to end into fewer rows for the model's
  // forwards (model/packing.h); results equal the padded batch's.
  bool padding_free = false;
  // transformers' gradient_checkpointing: recompute each decoder layer in the backward.
  bool gradient_checkpointing = false;
  bool dataloader_drop_last = false;
  int64_t gradient_accumulation_steps = 1;
  double max_grad_norm = 1.0;  // 0 = no clipping
  double weight_decay = 0.0;
  double adam_beta1 = 0.9;
  double adam_beta2 = 0.999;
  double adam_epsilon = 1e-8;
  double num_train_epochs = 1.0;
  int64_t max_steps = -1;  // > 0 wins over num_train_epochs
  int64_t eval_steps = 0;  // 0 = evaluate before and after training only
  int64_t save_steps = 500;
  int64_t save_total_limit = 0;  // 0 = keep all checkpoints
  int64_t logging_steps = 10;
  int64_t seed = 42;
  bool precompute_ref_log_probs = false;
  // With precompute_ref_log_probs and penalty_alpha > 0: also cache the reference's penalty_topk
  // most likely next tokens at every penalised completion position (ref_topk.h), so the token
  // penalty (objective.md §6) runs without the reference model in memory.
  bool precompute_ref_topk = false;
  std::string ref_cache_dir;  // cached reference log-probs; empty = <output_dir>/ref_cache
  // embedding_source = encoder: a sentence-transformers directory (BERT family), e.g. the
  // all-MiniLM-L6-v2 that scripts/fetch_models.sh puts in models/all-minilm-l6-v2.
  std::string sentence_encoder;
  int64_t max_consecutive_bad_steps = 10;
  int64_t logprob_chunk_rows = 0;  // 0 = automatic (chunked log-prob rows per slice)
  // Multi-process runs (torchrun; train/data_parallel.h): seconds the rendezvous or a collective
  // waits for the other ranks before the run stops naming them (TrainingArguments' ddp_timeout),
  // and the ZeRO stage (0: every rank holds all AdamW moments; 1: each its share).
  int64_t ddp_timeout = 1800;
  int64_t zero_stage = 0;

  // What loading found worth one line each to the user (TRL keys dpok ignores, deprecated
  // values); not part of the configuration. Commands print them to stderr.
  std::vector<std::string> notes;

  // Path-valued keys (model, ref_model, tokenizer, output_dir, ref_cache_dir, data files and
  // cache_dir) go through expand_env when read.
  // Reads `path` (YAML), applies `overrides` ("key=value", dotted keys reach into `data` and
  // `kernel_options`; values are parsed as YAML) and validates.
  // Throws IoError (unreadable file), ConfigError (unknown key with the nearest valid name,
  // wrong type, out-of-range or conflicting values, removed TRL names with their replacement,
  // hub ids; the message names the key and the value).
  static TrainConfig load(const std::filesystem::path& path,
                          const std::vector<std::string>& overrides = {});

  // Same from an already parsed node (`source` names it in error messages).
  static TrainConfig from_yaml(YAML::Node root, const std::vector<std::string>& overrides = {},
                               const std::string& source = "<yaml>");

  // Range and cross-field checks of the run settings, then the objective's and the data's own
  // validate(). Throws ConfigError naming the key, the value and what is valid.
  void validate() const;

  // The resolved configuration (every key, defaults included) as YAML; loads back to the same
  // configuration.
  YAML::Node to_yaml() const;
  std::string to_yaml_string() const;
};

// The top-level section: run keys, the objective's and the data lengths, plus the nested
// `kernel_options` and `data` sections.
const schema::Section<TrainConfig>& train_section();
// The objective's keys (objective_schema.cpp) and its `kernel_options` mapping.
const schema::Section<objective::ObjectiveConfig>& objective_section();
const schema::Section<objective::KernelOptions>& kernel_options_section();

// Every key with its default and meaning, as the Markdown of docs/configuration.md.
std::string configuration_reference();

// Applies one "a.b.c=value" override to `root`, creating maps as needed. Throws ConfigError on a
// missing '=' or empty key.
void apply_override(YAML::Node& root, const std::string& assignment);

}  // namespace dpok::train
