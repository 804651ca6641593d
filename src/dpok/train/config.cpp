// TrainConfig: the key table, YAML parsing, overrides, validation and the resolved dump.
//
// Every scalar key is one row of kFields (name → member), so parsing, unknown-key suggestions and
// the resolved dump cannot drift apart.
#include "dpok/train/config.h"

#include <algorithm>
#include <cstdlib>
#include <functional>
#include <optional>
#include <set>

#include "dpok/core/error.h"
#include "dpok/core/file_util.h"
#include "dpok/objective/requirements.h"
#include "dpok/train/reference_plan.h"
#include "dpok/train/setup.h"

namespace dpok::train {
namespace {

constexpr const char* kComponent = "train.config";

struct Field {
  std::string name;
  std::function<void(TrainConfig&, const YAML::Node&)> read;
  std::function<YAML::Node(const TrainConfig&)> write;
};

template <typename T>
T read_as(const YAML::Node& node, const std::string& key) {
  try {
    return node.as<T>();
  } catch (const YAML::Exception&) {
    DPOK_THROW(ConfigError, kComponent, "key '{}': cannot read value '{}' as the expected type",
               key, YAML::Dump(node));
  }
}

template <typename T>
Field field(const char* name, T TrainConfig::*member) {
  return Field{name,
               [member, key = std::string(name)](TrainConfig& cfg, const YAML::Node& node) {
                 cfg.*member = read_as<T>(node, key);
               },
               [member](const TrainConfig& cfg) { return YAML::Node(cfg.*member); }};
}

// loss_type accepts one name or a list (TRL allows both).
Field loss_type_field() {
  return Field{"loss_type",
               [](TrainConfig& cfg, const YAML::Node& node) {
                 if (node.IsSequence()) {
                   cfg.loss_type = read_as<std::vector<std::string>>(node, "loss_type");
                 } else {
                   cfg.loss_type = {read_as<std::string>(node, "loss_type")};
                 }
               },
               [](const TrainConfig& cfg) { return YAML::Node(cfg.loss_type); }};
}

Field section_field(const char* name, YAML::Node TrainConfig::*member) {
  return Field{name,
               [member, key = std::string(name)](TrainConfig& cfg, const YAML::Node& node) {
                 if (!node.IsMap() && !node.IsNull()) {
                   DPOK_THROW(ConfigError, kComponent, "key '{}' must be a mapping, got '{}'", key,
                              YAML::Dump(node));
                 }
                 cfg.*member = YAML::Clone(node);
               },
               [member](const TrainConfig& cfg) {
                 return cfg.*member ? YAML::Clone(cfg.*member) : YAML::Node(YAML::NodeType::Map);
               }};
}

const std::vector<Field>& fields() {
  using C = TrainConfig;
  static const std::vector<Field> kFields = {
      field("model", &C::model),
      field("ref_model", &C::ref_model),
      field("tokenizer", &C::tokenizer),
      field("device", &C::device),
      field("dtype", &C::dtype),
      field("output_dir", &C::output_dir),
      field("threads", &C::threads),
      field("beta", &C::beta),
      loss_type_field(),
      field("loss_weights", &C::loss_weights),
      field("label_smoothing", &C::label_smoothing),
      field("divergence", &C::divergence),
      field("divergence_alpha", &C::divergence_alpha),
      field("discopop_tau", &C::discopop_tau),
      field("gamma", &C::gamma),
      field("kernel", &C::kernel),
      field("placement", &C::placement),
      field("embedding_source", &C::embedding_source),
      field("normalize_embeddings", &C::normalize_embeddings),
      field("hmk_entropy_weight", &C::hmk_entropy_weight),
      field("kernel_learning_rate", &C::kernel_learning_rate),
      field("learn_kernel", &C::learn_kernel),
      section_field("kernel_options", &C::kernel_options),
      field("penalty_alpha", &C::penalty_alpha),
      field("penalty_divergence", &C::penalty_divergence),
      field("penalty_on", &C::penalty_on),
      field("renyi_order", &C::renyi_order),
      field("penalty_topk", &C::penalty_topk),
      field("sinkhorn_epsilon", &C::sinkhorn_epsilon),
      field("sinkhorn_iterations", &C::sinkhorn_iterations),
      field("penalty_chunk_size", &C::penalty_chunk_size),
      field("max_length", &C::max_length),
      field("max_prompt_length", &C::max_prompt_length),
      field("truncation_mode", &C::truncation_mode),
      field("learning_rate", &C::learning_rate),
      field("lr_scheduler_type", &C::lr_scheduler_type),
      field("warmup_ratio", &C::warmup_ratio),
      field("warmup_steps", &C::warmup_steps),
      field("per_device_train_batch_size", &C::per_device_train_batch_size),
      field("per_device_eval_batch_size", &C::per_device_eval_batch_size),
      field("group_by_length", &C::group_by_length),
      field("dataloader_drop_last", &C::dataloader_drop_last),
      field("gradient_accumulation_steps", &C::gradient_accumulation_steps),
      field("max_grad_norm", &C::max_grad_norm),
      field("weight_decay", &C::weight_decay),
      field("adam_beta1", &C::adam_beta1),
      field("adam_beta2", &C::adam_beta2),
      field("adam_epsilon", &C::adam_epsilon),
      field("num_train_epochs", &C::num_train_epochs),
      field("max_steps", &C::max_steps),
      field("eval_steps", &C::eval_steps),
      field("save_steps", &C::save_steps),
      field("save_total_limit", &C::save_total_limit),
      field("logging_steps", &C::logging_steps),
      field("seed", &C::seed),
      field("precompute_ref_log_probs", &C::precompute_ref_log_probs),
      field("precompute_ref_topk", &C::precompute_ref_topk),
      field("ref_cache_dir", &C::ref_cache_dir),
      field("max_consecutive_bad_steps", &C::max_consecutive_bad_steps),
      field("logprob_chunk_rows", &C::logprob_chunk_rows),
      section_field("data", &C::data)};
  return kFields;
}

std::string nearest_key(const std::string& key) {
  std::string best;
  size_t best_distance = SIZE_MAX;
  for (const auto& f : fields()) {
    const size_t d = edit_distance(key, f.name);
    if (d < best_distance) {
      best_distance = d;
      best = f.name;
    }
  }
  return best;
}

void require(bool ok, const std::string& key, const std::string& value, const char* expected) {
  if (!ok) {
    DPOK_THROW(ConfigError, kComponent, "key '{}': value {} is invalid; expected {}", key, value,
               expected);
  }
}

void require_one_of(const std::string& key, const std::string& value,
                    std::initializer_list<const char*> valid) {
  for (const char* v : valid) {
    if (value == v) return;
  }
  std::string list;
  for (const char* v : valid) list += (list.empty() ? "" : ", ") + std::string(v);
  DPOK_THROW(ConfigError, kComponent, "key '{}': '{}' is not one of {}", key, value, list);
}

void expand_paths(TrainConfig& cfg) {
  for (std::string* path :
       {&cfg.model, &cfg.ref_model, &cfg.tokenizer, &cfg.output_dir, &cfg.ref_cache_dir}) {
    *path = expand_env(*path);
  }
  if (!cfg.data || !cfg.data.IsMap()) return;
  for (const char* key : {"train_files", "eval_files"}) {
    YAML::Node files = cfg.data[key];
    if (files && files.IsSequence()) {
      for (size_t i = 0; i < files.size(); ++i) {
        files[i] = expand_env(read_as<std::string>(files[i], std::string("data.") + key));
      }
    } else if (files && files.IsScalar()) {
      cfg.data[key] = expand_env(files.as<std::string>());
    }
  }
}

}  // namespace

std::string expand_env(const std::string& text) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '$' || i + 1 >= text.size() || text[i + 1] != '{') {
      out += text[i];
      continue;
    }
    const size_t close = text.find('}', i + 2);
    if (close == std::string::npos) {
      DPOK_THROW(ConfigError, kComponent, "unterminated '${{' in '{}'", text);
    }
    std::string name = text.substr(i + 2, close - i - 2);
    std::optional<std::string> fallback;
    if (const auto dash = name.find(":-"); dash != std::string::npos) {
      fallback = name.substr(dash + 2);
      name = name.substr(0, dash);
    }
    const char* value = std::getenv(name.c_str());
    if (value != nullptr && *value != '\0') {
      out += value;
    } else if (fallback) {
      out += *fallback;
    } else {
      DPOK_THROW(ConfigError, kComponent,
                 "'{}' uses ${{{}}}, which is not set (use ${{{}:-default}} for a default)", text,
                 name, name);
    }
    i = close;
  }
  return out;
}

size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t substitute = prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, substitute});
    }
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

void apply_override(YAML::Node& root, const std::string& assignment) {
  const auto eq = assignment.find('=');
  if (eq == std::string::npos || eq == 0) {
    DPOK_THROW(ConfigError, kComponent, "override '{}' is not of the form key=value", assignment);
  }
  const std::string key = assignment.substr(0, eq);
  YAML::Node value;
  try {
    value = YAML::Load(assignment.substr(eq + 1));
  } catch (const YAML::Exception& e) {
    DPOK_THROW(ConfigError, kComponent, "override '{}': value is not valid YAML: {}", assignment,
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
      DPOK_THROW(ConfigError, kComponent, "override '{}' has an empty key segment", assignment);
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
    DPOK_THROW(ConfigError, kComponent, "{}: not valid YAML: {}", path.string(), e.what());
  }
  return from_yaml(root, overrides, path.string());
}

TrainConfig TrainConfig::from_yaml(YAML::Node root, const std::vector<std::string>& overrides,
                                   const std::string& source) {
  if (!root || root.IsNull()) root = YAML::Node(YAML::NodeType::Map);
  if (!root.IsMap()) {
    DPOK_THROW(ConfigError, kComponent, "{}: the top level must be a mapping of keys", source);
  }
  root = YAML::Clone(root);
  for (const auto& assignment : overrides) apply_override(root, assignment);

  std::set<std::string> known;
  for (const auto& f : fields()) known.insert(f.name);
  for (const auto& entry : root) {
    const auto key = entry.first.as<std::string>();
    if (known.count(key) == 0) {
      DPOK_THROW(ConfigError, kComponent, "{}: unknown key '{}' (did you mean '{}'?)", source, key,
                 nearest_key(key));
    }
  }
  TrainConfig cfg;
  for (const auto& f : fields()) {
    if (root[f.name] && !root[f.name].IsNull()) f.read(cfg, root[f.name]);
  }
  expand_paths(cfg);
  cfg.validate();
  return cfg;
}

std::vector<double> TrainConfig::resolved_loss_weights() const {
  if (loss_weights.empty()) return std::vector<double>(loss_type.size(), 1.0);
  return loss_weights;
}

void TrainConfig::validate() const {
  require(!model.empty(), "model", "''", "a Hugging Face directory or GGUF file");
  require(beta > 0, "beta", fmt::format("{}", beta), "> 0");
  require(!loss_type.empty(), "loss_type", "[]", "at least one loss name");
  require(loss_weights.empty() || loss_weights.size() == loss_type.size(), "loss_weights",
          fmt::format("of length {}", loss_weights.size()),
          "one weight per loss_type entry (or none)");
  require(label_smoothing >= 0 && label_smoothing < 0.5, "label_smoothing",
          fmt::format("{}", label_smoothing), "in [0, 0.5)");
  require(gamma >= 0, "gamma", fmt::format("{}", gamma), ">= 0");
  require(penalty_alpha >= 0, "penalty_alpha", fmt::format("{}", penalty_alpha), ">= 0");
  require_one_of("placement", placement, {"logit", "additive"});
  require_one_of("embedding_source", embedding_source, {"policy", "reference", "precomputed"});
  require_one_of("penalty_on", penalty_on, {"chosen", "both"});
  require_one_of("truncation_mode", truncation_mode, {"keep_end", "keep_start"});
  require_one_of("lr_scheduler_type", lr_scheduler_type, {"constant", "linear", "cosine"});
  require(max_length > 1, "max_length", std::to_string(max_length), "> 1");
  require(max_prompt_length > 0 && max_prompt_length < max_length, "max_prompt_length",
          std::to_string(max_prompt_length), "in [1, max_length)");
  require(learning_rate >= 0, "learning_rate", fmt::format("{}", learning_rate), ">= 0");
  require(kernel_learning_rate >= 0, "kernel_learning_rate",
          fmt::format("{}", kernel_learning_rate), ">= 0");
  require(warmup_ratio >= 0 && warmup_ratio < 1, "warmup_ratio", fmt::format("{}", warmup_ratio),
          "in [0, 1)");
  require(warmup_steps >= 0, "warmup_steps", std::to_string(warmup_steps), ">= 0");
  require(per_device_train_batch_size > 0, "per_device_train_batch_size",
          std::to_string(per_device_train_batch_size), "> 0");
  require(per_device_eval_batch_size > 0, "per_device_eval_batch_size",
          std::to_string(per_device_eval_batch_size), "> 0");
  require(gradient_accumulation_steps > 0, "gradient_accumulation_steps",
          std::to_string(gradient_accumulation_steps), "> 0");
  require(max_grad_norm >= 0, "max_grad_norm", fmt::format("{}", max_grad_norm), ">= 0 (0 = off)");
  require(weight_decay >= 0, "weight_decay", fmt::format("{}", weight_decay), ">= 0");
  require(adam_beta1 >= 0 && adam_beta1 < 1, "adam_beta1", fmt::format("{}", adam_beta1),
          "in [0, 1)");
  require(adam_beta2 >= 0 && adam_beta2 < 1, "adam_beta2", fmt::format("{}", adam_beta2),
          "in [0, 1)");
  require(adam_epsilon > 0, "adam_epsilon", fmt::format("{}", adam_epsilon), "> 0");
  require(max_steps > 0 || num_train_epochs > 0, "num_train_epochs",
          fmt::format("{}", num_train_epochs), "> 0 when max_steps is not set");
  require(eval_steps >= 0, "eval_steps", std::to_string(eval_steps), ">= 0");
  require(save_steps >= 0, "save_steps", std::to_string(save_steps), ">= 0 (0 = only at the end)");
  require(save_total_limit >= 0, "save_total_limit", std::to_string(save_total_limit), ">= 0");
  require(logging_steps > 0, "logging_steps", std::to_string(logging_steps), "> 0");
  require(max_consecutive_bad_steps > 0, "max_consecutive_bad_steps",
          std::to_string(max_consecutive_bad_steps), "> 0");
  require(threads >= 0, "threads", std::to_string(threads), ">= 0 (0 = default)");
  require(logprob_chunk_rows >= 0, "logprob_chunk_rows", std::to_string(logprob_chunk_rows),
          ">= 0 (0 = automatic)");
  for (const char* key : {"max_length", "max_prompt_length", "truncation_mode"}) {
    if (data && data.IsMap() && data[key]) {
      DPOK_THROW(ConfigError, kComponent,
                 "key 'data.{}': set '{}' at the top level (TRL's name); the trainer passes it to "
                 "the data section",
                 key, key);
    }
  }
  // objective.md §3, §6: whether the reference can be provided as configured (reference_plan.h).
  check_reference_settings(objective::requirements(to_objective_config(*this, /*sft_only=*/false)),
                           reference_settings(*this));
}

YAML::Node TrainConfig::to_yaml() const {
  YAML::Node root(YAML::NodeType::Map);
  for (const auto& f : fields()) root[f.name] = f.write(*this);
  return root;
}

std::string TrainConfig::to_yaml_string() const {
  YAML::Emitter out;
  out << to_yaml();
  return std::string(out.c_str()) + "\n";
}

}  // namespace dpok::train
