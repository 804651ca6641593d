// PEFT adapter files and merging (see adapter.h).
#include "dpok/model/adapter.h"

#include <nlohmann/json.hpp>

#include <cmath>
#include <set>

#include "dpok/core/error.h"
#include "dpok/core/file_util.h"
#include "dpok/io/safetensors.h"
#include "dpok/model/save.h"
#include "dpok/model/weights.h"

namespace dpok::model {
namespace fs = std::filesystem;
namespace {

constexpr const char* kComponent = "model.adapter";
constexpr const char* kConfigFile = "adapter_config.json";
constexpr const char* kWeightsFile = "adapter_model.safetensors";

using json = nlohmann::json;

// A string or a list of strings (PEFT writes target_modules as either); null → empty.
std::vector<std::string> string_list(const json& value, const std::string& where) {
  std::vector<std::string> out;
  if (value.is_null()) return out;
  if (value.is_string()) return {value.get<std::string>()};
  if (!value.is_array()) {
    DPOK_THROW(FormatError, kComponent, "{}: expected a string or a list of strings", where);
  }
  for (const auto& item : value) {
    if (!item.is_string()) {
      DPOK_THROW(FormatError, kComponent, "{}: expected a list of strings", where);
    }
    out.push_back(item.get<std::string>());
  }
  return out;
}

// The fields PEFT writes that dpok cannot honour unless they hold their defaults.
void refuse_unsupported(const json& j, const std::string& file) {
  const auto refuse = [&](const char* key, const std::string& value) {
    DPOK_THROW(UnsupportedError, kComponent, "{}: {} = {} is not supported (plain LoRA only)", file,
               key, value);
  };
  const auto peft_type = j.value("peft_type", std::string("LORA"));
  if (peft_type != "LORA") refuse("peft_type", peft_type);
  const auto task_type = j.value("task_type", std::string("CAUSAL_LM"));
  if (task_type != "CAUSAL_LM") refuse("task_type", task_type);
  if (j.value("bias", std::string("none")) != "none") refuse("bias", j["bias"].dump());
  for (const char* flag : {"use_dora", "fan_in_fan_out", "lora_bias"}) {
    if (j.contains(flag) && j[flag].is_boolean() && j[flag].get<bool>()) refuse(flag, "true");
  }
  for (const char* key : {"rank_pattern", "alpha_pattern"}) {
    if (j.contains(key) && !j[key].is_null() && !j[key].empty()) refuse(key, j[key].dump());
  }
  for (const char* key : {"layers_to_transform", "layer_replication", "target_parameters",
                          "exclude_modules", "trainable_token_indices"}) {
    if (j.contains(key) && !j[key].is_null()) refuse(key, j[key].dump());
  }
}

json adapter_config_json(const AdapterConfig& config) {
  const auto& lora = config.lora;
  const double alpha = lora.alpha;
  const json alpha_value =
      alpha == std::floor(alpha) ? json(static_cast<int64_t>(alpha)) : json(alpha);
  return {{"alpha_pattern", json::object()},
          {"auto_mapping", nullptr},
          {"base_model_name_or_path", config.base_model_name_or_path},
          {"bias", "none"},
          {"fan_in_fan_out", false},
          {"inference_mode", true},
          {"init_lora_weights", true},
          {"layers_pattern", nullptr},
          {"layers_to_transform", nullptr},
          {"lora_alpha", alpha_value},
          {"lora_dropout", lora.dropout},
          {"modules_to_save",
           lora.modules_to_save.empty() ? json(nullptr) : json(lora.modules_to_save)},
          {"peft_type", "LORA"},
          {"r", lora.r},
          {"rank_pattern", json::object()},
          {"revision", nullptr},
          {"target_modules", lora.target_modules},
          {"task_type", "CAUSAL_LM"},
          {"use_dora", false},
          {"use_rslora", lora.use_rslora}};
}

fs::path base_path(const AdapterConfig& config, const fs::path& dir, const fs::path& base) {
  const fs::path path = base.empty() ? fs::path(config.base_model_name_or_path) : base;
  if (path.empty()) {
    DPOK_THROW(ConfigError, kComponent,
               "{}: base_model_name_or_path is empty; name the base model (--base)",
               (dir / kConfigFile).string());
  }
  std::error_code ec;
  if (!fs::exists(path, ec)) {
    DPOK_THROW(ConfigError, kComponent,
               "{}: the base model {} does not exist (base_model_name_or_path{}); name it with "
               "--base",
               dir.string(), path.string(), base.empty() ? "" : " overridden");
  }
  if (is_adapter_dir(path)) {
    DPOK_THROW(UnsupportedError, kComponent,
               "{}: the base model {} is itself an adapter (stacked adapters are not supported)",
               dir.string(), path.string());
  }
  return path;
}

}  // namespace

AdapterSummary describe_adapter(const fs::path& dir) {
  AdapterSummary summary;
  summary.config = read_adapter_config(dir);
  summary.base = base_path(summary.config, dir, {});
  summary.weights_file = dir / kWeightsFile;
  const auto file = io::SafetensorsFile::open(summary.weights_file);
  for (const auto& view : file.tensors()) {
    ++summary.tensors;
    summary.elements += view.numel();
    summary.bytes += view.nbytes;
  }
  return summary;
}

bool is_adapter_dir(const fs::path& path) {
  std::error_code ec;
  return fs::is_directory(path, ec) && fs::exists(path / kConfigFile, ec);
}

AdapterConfig read_adapter_config(const fs::path& dir) {
  const auto file = (dir / kConfigFile).string();
  json j;
  try {
    j = json::parse(read_file(dir / kConfigFile));
  } catch (const json::exception& e) {
    DPOK_THROW(FormatError, kComponent, "{}: not valid JSON: {}", file, e.what());
  }
  if (!j.is_object()) DPOK_THROW(FormatError, kComponent, "{}: not a JSON object", file);
  refuse_unsupported(j, file);
  AdapterConfig config;
  auto& lora = config.lora;
  try {
    lora.r = j.at("r").get<int64_t>();
    lora.alpha = j.at("lora_alpha").get<double>();
    lora.dropout = j.value("lora_dropout", 0.0);
    lora.use_rslora = j.value("use_rslora", false);
    config.base_model_name_or_path =
        j.contains("base_model_name_or_path") && j["base_model_name_or_path"].is_string()
            ? j["base_model_name_or_path"].get<std::string>()
            : "";
  } catch (const json::exception& e) {
    DPOK_THROW(FormatError, kComponent, "{}: {}", file, e.what());
  }
  if (lora.r <= 0) DPOK_THROW(FormatError, kComponent, "{}: key 'r' must be > 0", file);
  try {
    lora.target_modules = resolve_target_modules(
        string_list(j.value("target_modules", json()), file + ": key 'target_modules'"),
        "target_modules");
    lora.modules_to_save =
        string_list(j.value("modules_to_save", json()), file + ": key 'modules_to_save'");
    check_modules_to_save(lora.modules_to_save, "modules_to_save");
  } catch (const ConfigError& e) {
    DPOK_THROW(UnsupportedError, kComponent, "{}: {}", file, e.what());
  }
  return config;
}

void save_adapter(CausalLMImpl& model, const AdapterConfig& config, const fs::path& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) {
    DPOK_THROW(IoError, kComponent, "{}: cannot create directory: {}", dir.string(), ec.message());
  }
  std::vector<at::Tensor> holders;
  const auto tensors = tensors_to_write(adapter_parameters(model), holders);
  io::write_safetensors(dir / kWeightsFile, tensors, {{"format", "pt"}});
  write_file_atomic(dir / kConfigFile, adapter_config_json(config).dump(2) + "\n");
}

void load_adapter_weights(CausalLMImpl& model, const fs::path& dir) {
  const auto file = io::SafetensorsFile::open(dir / kWeightsFile);
  const auto source = file.path().string();
  std::set<std::string> expected;
  for (auto& [name, param] : adapter_parameters(model)) {
    load_parameter(param, file.at(name), source);
    expected.insert(name);
  }
  for (const auto& view : file.tensors()) {
    if (!expected.count(view.name)) {
      DPOK_THROW(FormatError, kComponent,
                 "{}: tensor '{}' is not part of the adapter {} describes (target_modules, "
                 "modules_to_save)",
                 source, view.name, kConfigFile);
    }
  }
}

CausalLM load_adapter_model(const fs::path& dir, const LoadOptions& options, const fs::path& base) {
  const auto config = read_adapter_config(dir);
  auto model = load_model(base_path(config, dir, base), options);
  apply_lora(model, config.lora);
  load_adapter_weights(*model, dir);
  model->eval();  // the new adapter modules too: no dropout outside training
  return model;
}

CausalLM merge_adapter(const fs::path& dir, const LoadOptions& options, const fs::path& base) {
  // Merging needs float base weights to add B·A to, whatever the caller asked for.
  LoadOptions float_base = options;
  float_base.quantize_projections.reset();
  auto adapted = load_adapter_model(dir, float_base, base);
  at::NoGradGuard no_grad;
  // Fold every adapter into its base weight, in fp32: W + scaling · B A (PEFT's get_delta_weight).
  for (const auto& item : adapted->named_modules()) {
    auto projection = std::dynamic_pointer_cast<ProjectionImpl>(item.value());
    if (!projection || !projection->has_lora()) continue;
    auto delta = at::matmul(projection->lora_B.to(at::kFloat), projection->lora_A.to(at::kFloat));
    auto merged = projection->weight.to(at::kFloat) + delta * projection->lora_scaling();
    projection->weight.copy_(merged);
  }
  ModelConfig config = adapted->config();
  const bool copies = adapted->lm_head_copy.defined() || adapted->embed_tokens_copy.defined();
  if (config.tie_word_embeddings && copies) config.tie_word_embeddings = false;
  CausalLM plain(config, adapted->options(), /*initialize=*/false);
  const auto sources = adapted->named_parameters();
  for (auto& item : plain->named_parameters()) {
    const std::string& name = item.key();
    at::Tensor value = name == "lm_head.weight"              ? adapted->lm_head_weight()
                       : name == "model.embed_tokens.weight" ? adapted->embedding_weight()
                                                             : sources[name];
    item.value().copy_(value);
  }
  plain->eval();
  return plain;
}

}  // namespace dpok::model
