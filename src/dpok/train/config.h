// The trainer's configuration: one schema for the YAML file, the `key=value` command-line
// overrides and the resolved configuration written into the run directory (style.md rule 16).
//
// Names follow TRL's DPOConfig where the concept exists there (beta, loss_type, learning_rate,
// per_device_train_batch_size, ...) and objective.md for the DPO-Kernels settings (gamma, kernel,
// placement, embedding_source, divergence, penalty_*). The `data` section is kept as YAML and
// validated by dpok::data::DataConfig::from_yaml; `kernel_options` likewise by the objective.
//
// What it does: parse, apply overrides, reject unknown keys (suggesting the nearest valid name),
// check ranges and cross-field conflicts up front. What it does not do: load models or data.
#pragma once

#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

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

  // Preference loss (objective.md §1-2).
  double beta = 0.1;
  std::vector<std::string> loss_type = {"sigmoid"};
  std::vector<double> loss_weights;  // empty = 1 for each loss_type entry
  double label_smoothing = 0.0;
  std::string divergence = "reverse_kl";  // score map g (mode A)
  double divergence_alpha = 0.5;          // coefficient of the `alpha` score map
  double discopop_tau = 0.05;

  // Semantic term and kernels (objective.md §3-5).
  double gamma = 0.0;
  std::string kernel = "rbf";
  std::string placement = "logit";
  std::string embedding_source = "policy";
  bool normalize_embeddings = true;
  double hmk_entropy_weight = 0.01;
  double kernel_learning_rate = 1e-3;
  bool learn_kernel = true;
  YAML::Node kernel_options;  // extra kernel hyper-parameters, passed to the objective

  // Token-level penalty (objective.md §6).
  double penalty_alpha = 0.0;
  std::string penalty_divergence = "kl";
  std::string penalty_on = "chosen";
  double renyi_order = 0.9;
  int64_t penalty_topk = 32;
  double sinkhorn_epsilon = 0.05;
  int64_t sinkhorn_iterations = 50;
  int64_t penalty_chunk_size = 256;

  // Sequence lengths (applied by the data subsystem).
  int64_t max_length = 512;
  int64_t max_prompt_length = 256;
  std::string truncation_mode = "keep_end";

  // Optimisation.
  double learning_rate = 1e-6;
  std::string lr_scheduler_type = "linear";  // constant | linear | cosine
  double warmup_ratio = 0.0;
  int64_t warmup_steps = 0;  // > 0 wins over warmup_ratio (as in TRL)
  int64_t per_device_train_batch_size = 8;
  int64_t per_device_eval_batch_size = 8;
  bool group_by_length = false;
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
  std::string
      ref_cache_dir;  // where cached reference log-probs live; empty = <output_dir>/ref_cache
  int64_t max_consecutive_bad_steps = 10;
  int64_t logprob_chunk_rows = 0;  // 0 = automatic (chunked log-prob rows per slice)

  // The data section, validated by dpok::data::DataConfig::from_yaml. The lengths and the
  // truncation mode are set at the top level (TRL names) and passed down; setting them inside
  // `data` is a ConfigError.
  YAML::Node data;

  // Path-valued keys (model, ref_model, tokenizer, output_dir, ref_cache_dir and the entries of
  // data.train_files / data.eval_files) go through expand_env when read.
  // Reads `path` (YAML), applies `overrides` ("key=value", dotted keys reach into `data` and
  // `kernel_options`; values are parsed as YAML) and validates.
  // Throws IoError (unreadable file), ConfigError (unknown key with the nearest valid name,
  // wrong type, out-of-range or conflicting values; the message names the key and the value).
  static TrainConfig load(const std::filesystem::path& path,
                          const std::vector<std::string>& overrides = {});

  // Same from an already parsed node (`source` names it in error messages).
  static TrainConfig from_yaml(YAML::Node root, const std::vector<std::string>& overrides = {},
                               const std::string& source = "<yaml>");

  // Range and cross-field checks. Throws ConfigError naming the key, the value and what is valid.
  void validate() const;

  // The resolved configuration (every key, defaults included) as YAML.
  YAML::Node to_yaml() const;
  std::string to_yaml_string() const;

  // The loss weights aligned with loss_type (1.0 each when loss_weights is empty).
  std::vector<double> resolved_loss_weights() const;
};

// Expands ${VAR} and ${VAR:-default} from the environment (paths such as
// ${DPOK_ASSETS:-../shared/assets}/models/...). Throws ConfigError on an unset variable without a
// default, or an unterminated "${".
std::string expand_env(const std::string& text);

// Applies one "a.b.c=value" override to `root`, creating maps as needed. Throws ConfigError on a
// missing '=' or empty key.
void apply_override(YAML::Node& root, const std::string& assignment);

// Levenshtein distance (used to suggest the nearest valid key).
size_t edit_distance(const std::string& a, const std::string& b);

}  // namespace dpok::train
