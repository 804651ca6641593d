// The TRL / transformers / alignment-handbook key table and its translation (see trl_keys.h).
#include "dpok/train/trl_keys.h"

#include <algorithm>
#include <filesystem>
#include <map>
#include <set>

#include "dpok/core/error.h"
#include "dpok/core/text_util.h"

namespace dpok::train {
namespace fs = std::filesystem;
namespace {

enum class Kind {
  kRename,   // detail: the dpok key (dotted for `data.`)
  kCustom,   // translated by code below (detail: what it becomes)
  kIgnore,   // detail: why dpok ignores it (noted when its value asks for something)
  kFeature,  // detail: what is missing; ConfigError when its value asks for it
  kRemoved,  // detail: what replaces it
};

struct ExternalKey {
  const char* name;
  Kind kind;
  const char* detail;
};

constexpr const char* kHub = "no hub upload: dpok runs offline";
constexpr const char* kTracking = "no experiment trackers: metrics go to output_dir/metrics.jsonl";
constexpr const char* kLogging = "dpok logs every logging_steps to stderr and metrics.jsonl";
constexpr const char* kEval = "dpok evaluates before and after training and every eval_steps";
constexpr const char* kSave = "dpok checkpoints every save_steps (0: at the end)";
constexpr const char* kSpeed =
    "memory and speed options of transformers (checkpointing, compilation, Liger kernels)";
constexpr const char* kOneDevice =
    "dpok's multi-process training is its own data parallelism on c10d (ddp_timeout, zero_stage)";
constexpr const char* kAttention = "dpok has one attention implementation";
constexpr const char* kLora = "dpok's adapters are for causal language modelling (CAUSAL_LM)";
constexpr const char* kQuant =
    "bitsandbytes settings: dpok's quantized bases are GGUF block types (base_quant_type)";
constexpr const char* kColumns = "dpok reads the columns it needs and ignores the others";
constexpr const char* kModelCode = "dpok loads local weights and runs no model code";
constexpr const char* kNoDropout = "dpok's models run without dropout";

// TRL 1.16 (ModelConfig, ScriptArguments, DatasetMixtureConfig, DPOConfig), transformers 5.23
// (TrainingArguments), alignment-handbook recipes, and names TRL 1.x removed (0.28's deprecation
// messages). DPOConfig / TrainingArguments names that are dpok keys too are not listed.
constexpr ExternalKey kKeys[] = {
    // ModelConfig.
    {"model_name_or_path", Kind::kCustom, "model (a local path)"},
    {"model_revision", Kind::kFeature, "a model revision (dpok loads local files)"},
    {"torch_dtype", Kind::kCustom, "dtype"},
    {"attn_implementation", Kind::kIgnore, kAttention},
    {"lora_target_parameters", Kind::kFeature, "LoRA on parameters (MoE experts)"},
    {"lora_task_type", Kind::kIgnore, kLora},
    {"use_dora", Kind::kFeature, "DoRA adapters"},
    {"bnb_4bit_quant_type", Kind::kIgnore, kQuant},
    {"use_bnb_nested_quant", Kind::kIgnore, kQuant},
    {"bnb_4bit_quant_storage", Kind::kIgnore, kQuant},
    // ScriptArguments, DatasetMixtureConfig.
    {"dataset_name", Kind::kCustom, "data.train_files (a local file or directory)"},
    {"dataset_config", Kind::kFeature, "a hub dataset configuration (dpok reads local files)"},
    {"dataset_train_split", Kind::kCustom, "the train file of a dataset_name directory"},
    {"dataset_test_split", Kind::kCustom, "the eval file of a dataset_name directory"},
    {"dataset_streaming", Kind::kIgnore, "dpok streams its files anyway"},
    {"ignore_bias_buffers", Kind::kIgnore, kOneDevice},
    {"datasets", Kind::kCustom, "data.train_files (local paths)"},
    {"streaming", Kind::kIgnore, "dpok streams its files anyway"},
    {"test_split_size", Kind::kRename, "data.eval_fraction"},
    // DPOConfig (TRL 1.16).
    {"model_init_kwargs", Kind::kIgnore, kModelCode},
    {"trust_remote_code", Kind::kIgnore, kModelCode},
    {"router_aux_loss_coef", Kind::kFeature, "the MoE auxiliary loss"},
    {"disable_dropout", Kind::kIgnore, kNoDropout},
    {"dataset_num_proc", Kind::kRename, "data.num_threads"},
    {"precompute_ref_batch_size", Kind::kIgnore,
     "the reference runs with per_device_eval_batch_size"},
    {"f_divergence_type", Kind::kCustom, "divergence"},
    {"f_alpha_divergence_coef", Kind::kRename, "divergence_alpha"},
    {"activation_offloading", Kind::kIgnore, kSpeed},
    {"pad_token", Kind::kFeature, "a pad token other than the tokenizer's (else EOS)"},
    // TrainingArguments (transformers 5.23).
    {"lr_scheduler_kwargs", Kind::kFeature, "scheduler arguments (dpok's schedulers take none)"},
    {"optim", Kind::kCustom, "AdamW (dpok's optimizer)"},
    {"optim_args", Kind::kFeature, "optimizer arguments beyond adam_beta1/2 and adam_epsilon"},
    {"optim_target_modules", Kind::kFeature, "per-module optimizers"},
    {"average_tokens_across_devices", Kind::kIgnore, kOneDevice},
    {"label_smoothing_factor", Kind::kFeature,
     "transformers' label smoothing (the DPO losses' is label_smoothing)"},
    {"bf16", Kind::kCustom, "dtype: bf16"},
    {"fp16", Kind::kCustom, "dtype: fp16"},
    {"bf16_full_eval", Kind::kIgnore, "evaluation runs in dtype"},
    {"fp16_full_eval", Kind::kIgnore, "evaluation runs in dtype"},
    {"tf32", Kind::kIgnore, kSpeed},
    {"activation_checkpointing", Kind::kIgnore, kSpeed},
    {"activation_checkpointing_kwargs", Kind::kIgnore, kSpeed},
    {"gradient_checkpointing_kwargs", Kind::kIgnore,
     "dpok recomputes each decoder layer (gradient_checkpointing); there are no options"},
    {"torch_compile", Kind::kIgnore, kSpeed},
    {"torch_compile_backend", Kind::kIgnore, kSpeed},
    {"torch_compile_mode", Kind::kIgnore, kSpeed},
    {"use_liger_kernel", Kind::kIgnore, kSpeed},
    {"liger_kernel_config", Kind::kIgnore, kSpeed},
    {"use_cache", Kind::kIgnore, kSpeed},
    {"neftune_noise_alpha", Kind::kFeature, "NEFTune embedding noise"},
    {"torch_empty_cache_steps", Kind::kIgnore, kSpeed},
    {"auto_find_batch_size", Kind::kFeature, "automatic batch sizes"},
    {"logging_strategy", Kind::kIgnore, kLogging},
    {"logging_first_step", Kind::kIgnore, kLogging},
    {"log_on_each_node", Kind::kIgnore, kLogging},
    {"logging_nan_inf_filter", Kind::kIgnore, kLogging},
    {"include_num_input_tokens_seen", Kind::kIgnore, kLogging},
    {"log_level", Kind::kIgnore, kLogging},
    {"log_level_replica", Kind::kIgnore, kLogging},
    {"disable_tqdm", Kind::kIgnore, kLogging},
    {"report_to", Kind::kIgnore, kTracking},
    {"run_name", Kind::kIgnore, kTracking},
    {"project", Kind::kIgnore, kTracking},
    {"trackio_space_id", Kind::kIgnore, kTracking},
    {"trackio_bucket_id", Kind::kIgnore, kTracking},
    {"trackio_static_space_id", Kind::kIgnore, kTracking},
    {"eval_strategy", Kind::kCustom, "with dataset_name: whether the test split is read"},
    {"eval_delay", Kind::kIgnore, kEval},
    {"prediction_loss_only", Kind::kIgnore, kEval},
    {"eval_on_start", Kind::kIgnore, kEval},
    {"eval_do_concat_batches", Kind::kIgnore, kEval},
    {"eval_use_gather_object", Kind::kIgnore, kEval},
    {"eval_accumulation_steps", Kind::kIgnore, kEval},
    {"include_for_metrics", Kind::kIgnore, kEval},
    {"batch_eval_metrics", Kind::kIgnore, kEval},
    {"save_only_model", Kind::kIgnore, kSave},
    {"save_strategy", Kind::kIgnore, kSave},
    {"save_on_each_node", Kind::kIgnore, kSave},
    {"enable_jit_checkpoint", Kind::kIgnore, kSave},
    {"push_to_hub", Kind::kIgnore, kHub},
    {"hub_token", Kind::kIgnore, kHub},
    {"hub_private_repo", Kind::kIgnore, kHub},
    {"hub_model_id", Kind::kIgnore, kHub},
    {"hub_strategy", Kind::kIgnore, kHub},
    {"hub_always_push", Kind::kIgnore, kHub},
    {"hub_revision", Kind::kIgnore, kHub},
    {"load_best_model_at_end", Kind::kFeature, "keeping the best checkpoint by a metric"},
    {"metric_for_best_model", Kind::kIgnore, kSave},
    {"greater_is_better", Kind::kIgnore, kSave},
    {"ignore_data_skip", Kind::kIgnore, "dpok resumes the data order exactly"},
    {"restore_callback_states_from_checkpoint", Kind::kIgnore, "dpok has no callbacks"},
    {"full_determinism", Kind::kIgnore, "dpok is deterministic for a seed on CPU"},
    {"data_seed", Kind::kIgnore, "dpok's data order follows seed"},
    {"use_cpu", Kind::kCustom, "device: cpu"},
    {"accelerator_config", Kind::kIgnore, kOneDevice},
    {"parallelism_config", Kind::kIgnore, kOneDevice},
    {"dataloader_num_workers", Kind::kIgnore, kOneDevice},
    {"dataloader_pin_memory", Kind::kIgnore, kOneDevice},
    {"dataloader_persistent_workers", Kind::kIgnore, kOneDevice},
    {"dataloader_prefetch_factor", Kind::kIgnore, kOneDevice},
    {"dataloader_multiprocessing_context", Kind::kIgnore, kOneDevice},
    {"dataloader_in_order", Kind::kIgnore, kOneDevice},
    {"remove_unused_columns", Kind::kIgnore, kColumns},
    {"label_names", Kind::kIgnore, kColumns},
    {"train_sampling_strategy", Kind::kCustom, "group_by_length"},
    {"length_column_name", Kind::kIgnore, kColumns},
    {"ddp_find_unused_parameters", Kind::kIgnore, kOneDevice},
    {"ddp_bucket_cap_mb", Kind::kIgnore, kOneDevice},
    {"ddp_broadcast_buffers", Kind::kIgnore, kOneDevice},
    {"ddp_static_graph", Kind::kIgnore, kOneDevice},
    {"ddp_backend", Kind::kIgnore, kOneDevice},
    {"fsdp", Kind::kIgnore, kOneDevice},
    {"fsdp_config", Kind::kIgnore, kOneDevice},
    {"deepspeed", Kind::kIgnore, kOneDevice},
    {"debug", Kind::kIgnore, kLogging},
    {"skip_memory_metrics", Kind::kIgnore, kLogging},
    {"do_train", Kind::kIgnore, "dpok train always trains"},
    {"do_eval", Kind::kIgnore, kEval},
    {"do_predict", Kind::kIgnore, kEval},
    {"resume_from_checkpoint", Kind::kFeature,
     "resuming from the configuration file (use `dpok train --config FILE --resume [DIR]`)"},
    {"local_rank", Kind::kIgnore, kOneDevice},
    // alignment-handbook recipes.
    {"dataset_mixture", Kind::kCustom, "data.train_files (local paths)"},
    {"tokenizer_name_or_path", Kind::kRename, "tokenizer"},
    {"preprocessing_num_workers", Kind::kRename, "data.num_threads"},
    {"chat_template", Kind::kFeature,
     "a chat template in the configuration (use a tokenizer whose tokenizer_config.json has it)"},
    {"hub_model_revision", Kind::kIgnore, kHub},
    {"use_flash_attention_2", Kind::kIgnore, kAttention},
    {"overwrite_output_dir", Kind::kIgnore,
     "removed in transformers 5; dpok writes into output_dir and resumes with --resume"},
    {"dataset_mixer", Kind::kRemoved,
     "the older alignment-handbook name; use dataset_name with a local path, or data.train_files"},
    {"dataset_splits", Kind::kRemoved,
     "the older alignment-handbook name; use dataset_train_split / dataset_test_split"},
    {"evaluation_strategy", Kind::kRemoved, "transformers renamed it eval_strategy"},
    {"max_seq_length", Kind::kRemoved, "TRL renamed it max_length"},
    // Removed from DPOConfig in TRL 1.x (deprecated in 0.28 with these replacements).
    {"max_prompt_length", Kind::kRemoved,
     "TRL 1.x dropped it from DPOConfig; sequences are truncated by max_length with "
     "truncation_mode (keep_start drops a record "
     "whose prompt fills max_length); filter overlong prompts out of the data instead"},
    {"max_completion_length", Kind::kRemoved, "TRL 1.x dropped it from DPOConfig; use max_length"},
    {"rpo_alpha", Kind::kCustom, "loss_type: [sigmoid, sft] with loss_weights: [1.0, rpo_alpha]"},
    {"reference_free", Kind::kRemoved,
     "TRL 1.x dropped it from DPOConfig; TRL points to CPOTrainer for reference-free objectives; "
     "dpok always uses a reference"},
    {"generate_during_eval", Kind::kRemoved,
     "TRL 1.x dropped it from DPOConfig; TRL uses a callback instead; dpok writes samples with "
     "`dpok generate`"},
    {"force_use_ref_model", Kind::kRemoved,
     "TRL 1.x dropped it from DPOConfig; a ref_model, when set, is used"},
    {"ref_model_init_kwargs", Kind::kRemoved,
     "TRL 1.x dropped it from DPOConfig; set ref_model (and dtype)"},
    {"model_adapter_name", Kind::kRemoved,
     "TRL 1.x dropped it from DPOConfig; only the default adapter remains"},
    {"ref_adapter_name", Kind::kRemoved, "TRL 1.x dropped it from DPOConfig; set ref_model"},
    {"label_pad_token_id", Kind::kRemoved,
     "TRL 1.x dropped it from DPOConfig; it can no longer be set"},
    {"padding_value", Kind::kRemoved, "TRL 0.26 dropped it; the tokenizer's pad token is used"},
    {"use_logits_to_keep", Kind::kRemoved,
     "TRL 1.x dropped it from DPOConfig; the trainer no longer uses it (dpok scores completion "
     "tokens only)"},
    {"base_model_attribute_name", Kind::kRemoved,
     "TRL 1.x dropped it from DPOConfig; the base model comes from get_decoder"},
    {"tools", Kind::kRemoved, "TRL 1.x dropped it from DPOConfig; tools come with the dataset"},
};

const ExternalKey* find_key(const std::string& name) {
  for (const auto& key : kKeys) {
    if (name == key.name) return &key;
  }
  return nullptr;
}

// A value that asks for nothing: null, false, 0, "", none / no (TRL's "off" spellings), [] or {}.
bool inactive(const YAML::Node& node) {
  if (!node || node.IsNull()) return true;
  if (node.IsSequence() || node.IsMap()) return node.size() == 0;
  static const std::set<std::string> kOff = {"",   "false", "False", "none", "None",
                                             "no", "0",     "0.0",   "null", "main"};
  return kOff.count(node.Scalar()) > 0;
}

std::string text(const YAML::Node& node) {
  return node.IsScalar() ? node.Scalar() : YAML::Dump(node);
}

// Sets a dpok key ("a" or "data.b") unless the file sets it itself, which would be two values.
void set_key(YAML::Node& root, const std::string& from, const std::string& to,
             const YAML::Node& value) {
  const auto dot = to.find('.');
  const std::string leaf = dot == std::string::npos ? to : to.substr(dot + 1);
  if (dot != std::string::npos) {
    const std::string section = to.substr(0, dot);
    if (!root[section] || !root[section].IsMap()) root[section] = YAML::Node(YAML::NodeType::Map);
  }
  // A fresh handle, never reassigned: assigning to a yaml-cpp node overwrites what it refers to.
  YAML::Node parent = dot == std::string::npos ? root : root[to.substr(0, dot)];
  if (parent[leaf] && text(parent[leaf]) != text(value)) {
    DPOK_THROW(ConfigError, "config",
               "key '{}' ({}) and key '{}' ({}) say the same thing differently; keep one", from,
               text(value), to, text(parent[leaf]));
  }
  parent[leaf] = YAML::Clone(value);
}

[[noreturn]] void offline(const std::string& key, const std::string& id, const char* kind,
                          const char* target) {
  DPOK_THROW(ConfigError, "config",
             "key '{}': '{}' is not a local path; it looks like a Hugging Face Hub {} id, and dpok "
             "runs offline. Download it first (e.g. `huggingface-cli download{} {} --local-dir "
             "DIR`{}) and set {} to the local path",
             key, id, kind, std::string(kind) == "dataset" ? " --repo-type dataset" : "", id,
             std::string(kind) == "dataset" ? ", then export its splits to JSONL" : "", target);
}

// The JSON / JSONL files of a dataset directory that belong to `split` (train.jsonl,
// train-00000-of-00001.jsonl.gz, ...).
std::vector<std::string> split_files(const fs::path& dir, const std::string& split) {
  std::vector<std::string> out;
  for (const auto& entry : fs::directory_iterator(dir)) {
    const std::string name = entry.path().filename().string();
    if (entry.is_regular_file() && name.rfind(split, 0) == 0 &&
        name.find(".json") != std::string::npos) {
      out.push_back(entry.path().string());
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

// One local dataset (a file, or a directory of split files) as data files.
std::vector<std::string> local_dataset(const std::string& key, const std::string& id,
                                       const std::string& split) {
  const std::string path = expand_env(id);
  if (!fs::exists(path)) offline(key, id, "dataset", "data.train_files");
  if (!fs::is_directory(path)) return {path};
  auto files = split_files(path, split);
  if (files.empty()) {
    DPOK_THROW(ConfigError, "config",
               "key '{}': directory '{}' has no {}*.json / .jsonl file for split '{}'", key, path,
               split, split);
  }
  return files;
}

YAML::Node as_list(const std::vector<std::string>& items) {
  YAML::Node out(YAML::NodeType::Sequence);
  for (const auto& item : items) out.push_back(item);
  return out;
}

std::string scalar_or(const YAML::Node& node, const std::string& fallback) {
  return node && node.IsScalar() ? node.Scalar() : fallback;
}

// dataset_name + dataset_train_split / dataset_test_split (+ eval_strategy, as TRL's script:
// the test split is read only when evaluation is on).
void translate_dataset_name(YAML::Node& root) {
  const std::string id = scalar_or(root["dataset_name"], "");
  const std::string train = scalar_or(root["dataset_train_split"], "train");
  set_key(root, "dataset_name", "data.train_files",
          as_list(local_dataset("dataset_name", id, train)));
  const std::string eval = scalar_or(root["eval_strategy"], "no");
  if (eval != "no" && fs::is_directory(expand_env(id))) {
    const std::string test = scalar_or(root["dataset_test_split"], "test");
    set_key(root, "dataset_test_split", "data.eval_files",
            as_list(local_dataset("dataset_test_split", id, test)));
  }
}

// TRL's `datasets` ({path, split, ...} entries) and the handbook's `dataset_mixture`
// ({datasets: [{id, split, weight, ...}], test_split_size}): local datasets, each taken whole.
void translate_mixture(YAML::Node& root, const std::string& key) {
  const YAML::Node node = key == "datasets" ? root[key] : root[key]["datasets"];
  if (!node || !node.IsSequence()) {
    DPOK_THROW(ConfigError, "config", "key '{}': expected a list of datasets", key);
  }
  std::vector<std::string> files;
  for (const auto& entry : node) {
    const std::string id = scalar_or(entry[key == "datasets" ? "path" : "id"], "");
    for (const char* share : {"weight", "fraction"}) {
      if (entry[share] && entry[share].as<double>(1.0) != 1.0) {
        DPOK_THROW(ConfigError, "config",
                   "key '{}': dataset '{}' has {} {}; dpok takes each dataset whole (not "
                   "supported yet)",
                   key, id, share, text(entry[share]));
      }
    }
    for (auto& f : local_dataset(key, id, scalar_or(entry["split"], "train"))) files.push_back(f);
  }
  set_key(root, key, "data.train_files", as_list(files));
  if (key == "dataset_mixture" && root[key]["test_split_size"]) {
    set_key(root, key, "data.eval_fraction", root[key]["test_split_size"]);
  }
}

// One custom key; returns whether it is noted as ignored.
void translate_custom(YAML::Node& root, const std::string& name, const YAML::Node& value,
                      std::map<std::string, std::vector<std::string>>& ignored) {
  if (name == "model_name_or_path") {
    const std::string path = text(value);
    if (!fs::exists(expand_env(path))) offline(name, path, "model", "model");
    set_key(root, name, "model", value);
  } else if (name == "torch_dtype") {
    if (text(value) != "auto") set_key(root, name, "dtype", value);
  } else if (name == "bf16" || name == "fp16") {
    if (!inactive(value)) root["dtype"] = name;  // TRL's mixed precision is dpok's compute dtype
  } else if (name == "use_cpu") {
    if (!inactive(value)) set_key(root, name, "device", YAML::Node("cpu"));
  } else if (name == "f_divergence_type") {
    static const std::map<std::string, std::string> kNames = {{"reverse_kl", "reverse_kl"},
                                                              {"forward_kl", "forward_kl"},
                                                              {"js_divergence", "js"},
                                                              {"alpha_divergence", "alpha"}};
    const auto it = kNames.find(text(value));
    set_key(root, name, "divergence", YAML::Node(it == kNames.end() ? text(value) : it->second));
  } else if (name == "optim") {
    const std::string optim = text(value);
    if (optim.rfind("adamw", 0) != 0 && optim.rfind("paged_adamw", 0) != 0) {
      DPOK_THROW(ConfigError, "config",
                 "key 'optim': '{}' is not supported; dpok's optimizer is AdamW (fp32 states), "
                 "so adamw_torch and its variants are accepted",
                 optim);
    }
    if (optim != "adamw_torch") ignored["dpok's optimizer is AdamW (fp32 states)"].push_back(name);
  } else if (name == "train_sampling_strategy") {
    const std::string strategy = text(value);
    if (strategy == "group_by_length") {
      set_key(root, name, "group_by_length", YAML::Node(true));
    } else if (strategy != "random") {
      DPOK_THROW(ConfigError, "config",
                 "key 'train_sampling_strategy': '{}' is not supported; dpok samples randomly "
                 "(random) or by length (group_by_length)",
                 strategy);
    }
  } else if (name == "rpo_alpha") {
    DPOK_THROW(ConfigError, "config",
               "key 'rpo_alpha' was removed in TRL 1.x: write rpo_alpha: {} as loss_type: "
               "[sigmoid, sft] with loss_weights: [1.0, {}]",
               text(value), text(value));
  } else if (name == "dataset_name") {
    translate_dataset_name(root);
  } else if (name == "datasets" || name == "dataset_mixture") {
    translate_mixture(root, name);
  }
  // dataset_train_split, dataset_test_split and eval_strategy are read with dataset_name.
}

}  // namespace

const std::vector<std::string>& trl_key_names() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> out;
    for (const auto& key : kKeys) out.emplace_back(key.name);
    return out;
  }();
  return names;
}

std::vector<std::string> translate_trl_keys(YAML::Node& root) {
  // TRL's default "auto" pads to 128 only on Neuron: no padding here.
  if (root["pad_to_multiple_of"] && text(root["pad_to_multiple_of"]) == "auto") {
    root.remove("pad_to_multiple_of");
  }
  if (root["dtype"] && text(root["dtype"]) == "auto") root.remove("dtype");
  std::vector<std::pair<std::string, const ExternalKey*>> present;
  for (const auto& entry : root) {
    const auto name = entry.first.as<std::string>();
    if (const ExternalKey* key = find_key(name)) present.emplace_back(name, key);
  }
  // bf16 / fp16 (mixed precision) last: they decide the compute dtype over torch_dtype.
  std::stable_partition(present.begin(), present.end(),
                        [](const auto& p) { return p.first != "bf16" && p.first != "fp16"; });
  std::map<std::string, std::vector<std::string>> ignored;
  for (const auto& [name, key] : present) {
    const YAML::Node value = YAML::Clone(root[name]);
    switch (key->kind) {
      case Kind::kRename:
        set_key(root, name, key->detail, value);
        break;
      case Kind::kCustom:
        translate_custom(root, name, value, ignored);
        break;
      case Kind::kIgnore:
        if (!inactive(value)) ignored[key->detail].push_back(name);
        break;
      case Kind::kFeature:
        if (!inactive(value)) {
          DPOK_THROW(ConfigError, "config",
                     "key '{}': {} asks for {}, which dpok does not support yet (set it to false "
                     "/ null, or remove it)",
                     name, text(value), key->detail);
        }
        break;
      case Kind::kRemoved:
        DPOK_THROW(ConfigError, "config", "key '{}' was removed: {}", name, key->detail);
    }
  }
  for (const auto& [name, key] : present) root.remove(name);
  if (ignored.empty()) return {};
  std::string line = "[config] ignored (dpok does not do these):";
  bool first = true;
  for (const auto& [reason, names] : ignored) {
    line += fmt::format("{} {} ({})", first ? "" : ";", join(names), reason);
    first = false;
  }
  return {line};
}

}  // namespace dpok::train
