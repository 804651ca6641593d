// TrainConfig: the run section's rows, loading (TRL keys, overrides, the schema), validation and
// the resolved dump. The objective's rows are in objective_schema.cpp, the data's in
// data/config.cpp; this table lifts them to the top level.
#include "dpok/train/config.h"

#include <algorithm>
#include <functional>

#include "dpok/core/error.h"
#include "dpok/core/file_util.h"
#include "dpok/core/torch/runtime.h"
#include "dpok/io/gguf_quants.h"
#include "dpok/model/lora.h"
#include "dpok/model/quantized_linear.h"
#include "dpok/objective/requirements.h"
#include "dpok/train/reference_plan.h"
#include "dpok/train/trl_keys.h"

namespace dpok::train {
namespace {

std::vector<schema::Field<TrainConfig>> run_rows() {
  using C = TrainConfig;
  using schema::field;
  using schema::path_field;
  return {
      path_field("model", &C::model, "policy: Hugging Face directory or GGUF file (required)"),
      path_field("ref_model", &C::ref_model,
                 "reference model; empty: a frozen copy of the policy's initial weights"),
      path_field("tokenizer", &C::tokenizer, "tokenizer path; empty: the model directory"),
      field("device", &C::device, "cpu, cuda, cuda:N or auto"),
      field("dtype", &C::dtype, "compute dtype: fp32, bf16, fp16 (bf16 keeps fp32 master weights)"),
      path_field("output_dir", &C::output_dir, "run directory (config, metrics, checkpoints)"),
      field("threads", &C::threads, "LibTorch intra-op threads; 0: --threads / DPOK_THREADS"),
      field("use_peft", &C::use_peft,
            "train LoRA adapters on the frozen model; checkpoints hold the adapter (PEFT format)"),
      field("lora_r", &C::lora_r, "LoRA rank"),
      field("lora_alpha", &C::lora_alpha, "LoRA alpha: scaling lora_alpha / lora_r"),
      field("lora_dropout", &C::lora_dropout, "dropout on the adapters' input, in [0, 1)"),
      field("lora_target_modules", &C::lora_target_modules,
            "projections with adapters (q_proj, ..., down_proj) or all-linear; empty: q_proj, "
            "v_proj"),
      field("use_rslora", &C::use_rslora, "rank-stabilised scaling lora_alpha / √lora_r"),
      field("load_in_4bit", &C::load_in_4bit,
            "with use_peft: keep the frozen projections 4-bit (base_quant_type, QLoRA-style)"),
      field("load_in_8bit", &C::load_in_8bit,
            "with use_peft: keep the frozen projections 8-bit (Q8_0)"),
      field("base_quant_type", &C::base_quant_type,
            "GGUF block type of a quantized base: q4_0, q4_1, q4_k, q5_0, q5_1 (4-bit), q8_0 "
            "(8-bit); empty: q4_0 / q8_0; a GGUF file's quantized tensors stay as stored"),
      field("lora_modules_to_save", &C::lora_modules_to_save,
            "lm_head / embed_tokens: trained in full as copies (PEFT's modules_to_save)"),
      field("sync_ref_model", &C::sync_ref_model,
            "TR-DPO: mix the policy into the reference every ref_model_sync_steps"),
      field("ref_model_mixup_alpha", &C::ref_model_mixup_alpha,
            "TR-DPO α in ref = α·policy + (1 − α)·ref, in [0, 1]"),
      field("ref_model_sync_steps", &C::ref_model_sync_steps, "TR-DPO τ: updates between syncs"),
      field("learning_rate", &C::learning_rate, "AdamW learning rate of the policy"),
      field("lr_scheduler_type", &C::lr_scheduler_type, "learning-rate schedule after warmup"),
      field("warmup_ratio", &C::warmup_ratio, "warmup as a fraction of the updates, in [0, 1)"),
      field("warmup_steps", &C::warmup_steps, "warmup updates; > 0 wins over warmup_ratio"),
      field("per_device_train_batch_size", &C::per_device_train_batch_size,
            "preference pairs per micro-batch"),
      field("per_device_eval_batch_size", &C::per_device_eval_batch_size,
            "pairs per evaluation / reference batch"),
      field("group_by_length", &C::group_by_length, "batch pairs of similar length together"),
      field("padding_free", &C::padding_free,
            "pack each batch's sequences into fewer rows without padding (equal results)"),
      field("gradient_checkpointing", &C::gradient_checkpointing,
            "recompute each decoder layer in the backward instead of keeping its activations"),
      field("dataloader_drop_last", &C::dataloader_drop_last, "drop the last partial batch"),
      field("gradient_accumulation_steps", &C::gradient_accumulation_steps,
            "micro-batches per optimizer update"),
      field("max_grad_norm", &C::max_grad_norm, "gradient clipping norm; 0: off"),
      field("weight_decay", &C::weight_decay, "AdamW weight decay"),
      field("adam_beta1", &C::adam_beta1, "AdamW β1"),
      field("adam_beta2", &C::adam_beta2, "AdamW β2"),
      field("adam_epsilon", &C::adam_epsilon, "AdamW ε"),
      field("num_train_epochs", &C::num_train_epochs, "epochs when max_steps is not set"),
      field("max_steps", &C::max_steps, "optimizer updates; > 0 wins over num_train_epochs"),
      field("eval_steps", &C::eval_steps, "evaluate every N updates; 0: before and after only"),
      field("save_steps", &C::save_steps, "checkpoint every N updates; 0: at the end only"),
      field("save_total_limit", &C::save_total_limit, "checkpoints kept; 0: all"),
      field("logging_steps", &C::logging_steps, "log metrics every N updates"),
      field("seed", &C::seed, "seed of initialisation, data order and splits"),
      field("precompute_ref_log_probs", &C::precompute_ref_log_probs,
            "cache the reference's log-probs on disk and drop the reference model"),
      field("precompute_ref_topk", &C::precompute_ref_topk,
            "also cache the reference's top-k next tokens for the token penalty"),
      path_field("ref_cache_dir", &C::ref_cache_dir,
                 "reference cache directory (also holds encoder embeddings); empty: "
                 "<output_dir>/ref_cache"),
      path_field("sentence_encoder", &C::sentence_encoder,
                 "sentence-transformers directory for embedding_source = encoder"),
      field("max_consecutive_bad_steps", &C::max_consecutive_bad_steps,
            "non-finite updates in a row before the run stops"),
      field("logprob_chunk_rows", &C::logprob_chunk_rows,
            "rows per chunked log-prob slice; 0: automatic"),
      field("ddp_timeout", &C::ddp_timeout,
            "multi-process runs: seconds to wait for the other ranks before stopping"),
      field("zero_stage", &C::zero_stage,
            "multi-process runs: 1 shards the AdamW moments over the ranks (ZeRO-1); 0: off")};
}

const char* const kLengthKeys[] = {"max_length", "truncation_mode", "pad_to_multiple_of"};

// TRL sets the lengths at the top level; inside `data:` they would be a second place for them.
void reject_lengths_in_data(const YAML::Node& root) {
  const YAML::Node data = root["data"];
  if (!data || !data.IsMap()) return;
  for (const char* key : kLengthKeys) {
    if (data[key]) {
      DPOK_THROW(ConfigError, "config",
                 "key 'data.{}': set '{}' at the top level (TRL's name), not under data", key, key);
    }
  }
}

}  // namespace

const schema::Section<TrainConfig>& train_section() {
  static const schema::Section<TrainConfig> kSection("", [] {
    auto rows = run_rows();
    for (auto& row : schema::lift(&TrainConfig::objective, objective_section())) {
      rows.push_back(std::move(row));
    }
    for (auto& row : schema::lift(&TrainConfig::data, data::length_section())) {
      rows.push_back(std::move(row));
    }
    rows.push_back(schema::nested("data", &TrainConfig::data, data::data_section(),
                                  "the data files and pipeline"));
    return rows;
  }());
  return kSection;
}

void apply_override(YAML::Node& root, const std::string& assignment) {
  const auto eq = assignment.find('=');
  if (eq == std::string::npos || eq == 0) {
    DPOK_THROW(ConfigError, "config", "override '{}' is not of the form key=value", assignment);
  }
  const std::string key = assignment.substr(0, eq);
  YAML::Node value;
  try {
    value = YAML::Load(assignment.substr(eq + 1));
  } catch (const YAML::Exception& e) {
    DPOK_THROW(ConfigError, "config", "override '{}': value is not valid YAML: {}", assignment,
               e.what());
  }
  // Walk the dotted path with fresh handles: yaml-cpp nodes are references, and reassigning one
  // would overwrite the node it points at instead of moving down the tree.
  std::vector<std::string> parts;
  size_t start = 0;
  for (size_t dot; (dot = key.find('.', start)) != std::string::npos; start = dot + 1) {
    parts.push_back(key.substr(start, dot - start));
  }
  parts.push_back(key.substr(start));
  std::function<void(YAML::Node, size_t)> set = [&](YAML::Node node, size_t i) {
    if (parts[i].empty()) {
      DPOK_THROW(ConfigError, "config", "override '{}' has an empty key segment", assignment);
    }
    if (i + 1 == parts.size()) {
      node[parts[i]] = value;
      return;
    }
    if (!node[parts[i]] || !node[parts[i]].IsMap())
      node[parts[i]] = YAML::Node(YAML::NodeType::Map);
    set(node[parts[i]], i + 1);
  };
  set(root, 0);
}

TrainConfig TrainConfig::load(const std::filesystem::path& path,
                              const std::vector<std::string>& overrides) {
  const std::string text = read_file(path);
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    DPOK_THROW(ConfigError, "config", "{}: not valid YAML: {}", path.string(), e.what());
  }
  return from_yaml(root, overrides, path.string());
}

TrainConfig TrainConfig::from_yaml(YAML::Node root, const std::vector<std::string>& overrides,
                                   const std::string& source) {
  if (!root || root.IsNull()) root = YAML::Node(YAML::NodeType::Map);
  if (!root.IsMap()) {
    DPOK_THROW(ConfigError, "config", "{}: the top level must be a mapping of keys", source);
  }
  root = YAML::Clone(root);
  for (const auto& assignment : overrides) apply_override(root, assignment);
  TrainConfig cfg;
  try {
    cfg.notes = translate_trl_keys(root);
    reject_lengths_in_data(root);
    train_section().read(cfg, root, trl_key_names());
    cfg.validate();
  } catch (const ConfigError& e) {
    // "[config] key ...": name the file too, since overrides and includes make it ambiguous.
    throw ConfigError(fmt::format("{} (in {})", e.what(), source));
  }
  if (auto note = cfg.data.deprecation_note(); !note.empty()) cfg.notes.push_back(note);
  return cfg;
}

std::optional<uint32_t> TrainConfig::base_quantization() const {
  if (!load_in_4bit && !load_in_8bit) return std::nullopt;
  if (base_quant_type.empty()) return load_in_4bit ? io::kQ4_0 : io::kQ8_0;
  std::optional<uint32_t> type;
  try {
    type = model::ggml_type_from_name(base_quant_type);
  } catch (const ConfigError&) {
  }  // reported below, with the key
  static const std::vector<uint32_t> kFourBit = {io::kQ4_0, io::kQ4_1, io::kQ4_K, io::kQ5_0,
                                                 io::kQ5_1};
  const bool fits =
      type && (load_in_4bit ? std::find(kFourBit.begin(), kFourBit.end(), *type) != kFourBit.end()
                            : *type == io::kQ8_0);
  require_value(fits, "base_quant_type", base_quant_type,
                load_in_4bit ? "one of q4_0, q4_1, q4_k, q5_0, q5_1 with load_in_4bit"
                             : "q8_0 with load_in_8bit");
  return type;
}

void TrainConfig::validate() const {
  require_value(!model.empty(), "model", "''", "a Hugging Face directory or GGUF file");
  parse_dtype(dtype);  // throws ConfigError naming the valid dtypes
  require_value(threads >= 0, "threads", static_cast<double>(threads), ">= 0 (0 = default)");
  require_value(ref_model_mixup_alpha >= 0 && ref_model_mixup_alpha <= 1, "ref_model_mixup_alpha",
                ref_model_mixup_alpha, "in [0, 1]");
  require_value(ref_model_sync_steps > 0, "ref_model_sync_steps",
                static_cast<double>(ref_model_sync_steps), "> 0");
  require_value(learning_rate >= 0, "learning_rate", learning_rate, ">= 0");
  require_value(warmup_ratio >= 0 && warmup_ratio < 1, "warmup_ratio", warmup_ratio, "in [0, 1)");
  require_value(warmup_steps >= 0, "warmup_steps", static_cast<double>(warmup_steps), ">= 0");
  require_value(per_device_train_batch_size > 0, "per_device_train_batch_size",
                static_cast<double>(per_device_train_batch_size), "> 0");
  require_value(per_device_eval_batch_size > 0, "per_device_eval_batch_size",
                static_cast<double>(per_device_eval_batch_size), "> 0");
  require_value(gradient_accumulation_steps > 0, "gradient_accumulation_steps",
                static_cast<double>(gradient_accumulation_steps), "> 0");
  require_value(max_grad_norm >= 0, "max_grad_norm", max_grad_norm, ">= 0 (0 = off)");
  require_value(weight_decay >= 0, "weight_decay", weight_decay, ">= 0");
  require_value(adam_beta1 >= 0 && adam_beta1 < 1, "adam_beta1", adam_beta1, "in [0, 1)");
  require_value(adam_beta2 >= 0 && adam_beta2 < 1, "adam_beta2", adam_beta2, "in [0, 1)");
  require_value(adam_epsilon > 0, "adam_epsilon", adam_epsilon, "> 0");
  require_value(max_steps > 0 || num_train_epochs > 0, "num_train_epochs", num_train_epochs,
                "> 0 when max_steps is not set");
  require_value(eval_steps >= 0, "eval_steps", static_cast<double>(eval_steps), ">= 0");
  require_value(save_steps >= 0, "save_steps", static_cast<double>(save_steps),
                ">= 0 (0 = only at the end)");
  require_value(save_total_limit >= 0, "save_total_limit", static_cast<double>(save_total_limit),
                ">= 0");
  require_value(logging_steps > 0, "logging_steps", static_cast<double>(logging_steps), "> 0");
  require_value(max_consecutive_bad_steps > 0, "max_consecutive_bad_steps",
                static_cast<double>(max_consecutive_bad_steps), "> 0");
  require_value(ddp_timeout > 0, "ddp_timeout", static_cast<double>(ddp_timeout), "> 0 seconds");
  require_value(zero_stage == 0 || zero_stage == 1, "zero_stage", static_cast<double>(zero_stage),
                "0 or 1");
  require_value(logprob_chunk_rows >= 0, "logprob_chunk_rows",
                static_cast<double>(logprob_chunk_rows), ">= 0 (0 = automatic)");
  require_value(lora_r > 0, "lora_r", static_cast<double>(lora_r), "> 0");
  require_value(lora_alpha > 0, "lora_alpha", static_cast<double>(lora_alpha), "> 0");
  require_value(lora_dropout >= 0 && lora_dropout < 1, "lora_dropout", lora_dropout, "in [0, 1)");
  model::resolve_target_modules(lora_target_modules, "lora_target_modules");
  model::check_modules_to_save(lora_modules_to_save, "lora_modules_to_save");
  require_value(!(load_in_4bit && load_in_8bit), "load_in_8bit", "true",
                "false when load_in_4bit is true (one quantization of the base)");
  require_value(use_peft || !(load_in_4bit || load_in_8bit),
                load_in_4bit ? "load_in_4bit" : "load_in_8bit", "true",
                "false without use_peft (a quantized base is frozen: it trains LoRA adapters)");
  require_value(base_quant_type.empty() || load_in_4bit || load_in_8bit, "base_quant_type",
                base_quant_type, "empty without load_in_4bit / load_in_8bit");
  base_quantization();  // throws ConfigError for a type that does not fit the bits
  require_value(!use_peft || !sync_ref_model, "sync_ref_model", "true",
                "false with use_peft (the reference is the frozen base: adapters off)");
  const bool encoder = objective.embedding_source == objective::EmbeddingSource::kEncoder;
  require_value(!encoder || !sentence_encoder.empty(), "sentence_encoder", "''",
                "a sentence-transformers directory when embedding_source = encoder (e.g. "
                "models/all-minilm-l6-v2, fetched by scripts/fetch_models.sh)");
  objective.validate();
  data.validate();
  // objective.md §3, §6: whether the reference can be provided as configured (reference_plan.h).
  check_reference_settings(objective::requirements(objective), reference_settings(*this));
}

YAML::Node TrainConfig::to_yaml() const {
  return train_section().write(*this);
}

std::string TrainConfig::to_yaml_string() const {
  YAML::Emitter out;
  out << to_yaml();
  return std::string(out.c_str()) + "\n";
}

std::string configuration_reference() {
  const TrainConfig defaults;
  const std::string header = "| key | default | meaning |\n|---|---|---|\n";
  std::string out =
      "## Top level\n\nRun, optimisation, objective (objective.md §1–§6) and data-length keys, "
      "TRL's names where TRL has the concept.\n\n" +
      header + schema::reference_rows(train_section(), defaults);
  out += "\n## kernel_options\n\n" + header +
         schema::reference_rows(kernel_options_section(), defaults.objective.kernel_options);
  out += "\n## data\n\n" + header + schema::reference_rows(data::data_section(), defaults.data);
  out += "\n## Valid names\n\n";
  const auto names = [](const char* key, const std::vector<std::string>& choices) {
    return fmt::format("- `{}`: {}\n", key, join(choices));
  };
  out += names("loss_type", enum_choices<objective::LossType>());
  out += names("divergence", enum_choices<objective::ScoreMap>());
  out += names("kernel", enum_choices<objective::KernelType>());
  out += names("placement", enum_choices<objective::Placement>());
  out += names("embedding_source", enum_choices<objective::EmbeddingSource>());
  out += names("penalty_divergence", enum_choices<objective::Divergence>());
  out += names("penalty_on", enum_choices<objective::PenaltyOn>());
  out += names("kernel_options.mahalanobis_init", enum_choices<objective::MahalanobisInit>());
  out += names("lr_scheduler_type", enum_choices<ScheduleType>());
  out += names("truncation_mode", enum_choices<data::TruncationMode>());
  out += names("data.on_bad_record", enum_choices<data::OnBadRecord>());
  return out;
}

}  // namespace dpok::train
