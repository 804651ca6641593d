// LoRA adapters on a model (see lora.h).
#include "dpok/model/lora.h"

#include <algorithm>
#include <cmath>

#include "dpok/core/error.h"
#include "dpok/core/text_util.h"

namespace dpok::model {
namespace {

constexpr const char* kPeftPrefix = "base_model.model.";
constexpr const char* kCopies = "modules_to_save.";

// A copy's module path in the Hugging Face model ("lm_head", "model.embed_tokens").
std::string copy_module_path(const std::string& name) {
  return name == "embed_tokens" ? "model.embed_tokens" : name;
}

std::string last_segment(const std::string& path) {
  const auto dot = path.rfind('.');
  return dot == std::string::npos ? path : path.substr(dot + 1);
}

}  // namespace

double LoraSettings::scaling() const {
  return use_rslora ? alpha / std::sqrt(static_cast<double>(r)) : alpha / static_cast<double>(r);
}

const std::vector<std::string>& projection_names() {
  static const std::vector<std::string> kNames = {"q_proj",    "k_proj",  "v_proj",   "o_proj",
                                                  "gate_proj", "up_proj", "down_proj"};
  return kNames;
}

std::vector<std::string> resolve_target_modules(const std::vector<std::string>& requested,
                                                const std::string& key) {
  if (requested.empty()) return {"q_proj", "v_proj"};
  if (requested.size() == 1 && requested[0] == "all-linear") {
    auto all = projection_names();
    std::sort(all.begin(), all.end());
    return all;
  }
  std::vector<std::string> unknown, names;
  for (const auto& name : requested) {
    const auto& valid = projection_names();
    if (std::find(valid.begin(), valid.end(), name) == valid.end()) {
      unknown.push_back(name);
    } else if (std::find(names.begin(), names.end(), name) == names.end()) {
      names.push_back(name);
    }
  }
  if (!unknown.empty()) {
    DPOK_THROW(ConfigError, "config",
               "key '{}': unknown module name(s) {}; valid: {} or \"all-linear\" (regular "
               "expressions are not supported)",
               key, join(unknown), join(projection_names()));
  }
  std::sort(names.begin(), names.end());
  return names;
}

void check_modules_to_save(const std::vector<std::string>& names, const std::string& key) {
  for (const auto& name : names) {
    if (name != "lm_head" && name != "embed_tokens") {
      DPOK_THROW(ConfigError, "config",
                 "key '{}': '{}' is not a module dpok trains a copy of (lm_head, embed_tokens)",
                 key, name);
    }
  }
}

void apply_lora(CausalLM& model, const LoraSettings& settings) {
  for (auto& p : model->parameters()) p.requires_grad_(false);
  const auto adapters = model->attach_adapter();
  const auto& targets = settings.target_modules;
  for (const auto& item : model->named_modules()) {
    auto projection = std::dynamic_pointer_cast<ProjectionImpl>(item.value());
    if (!projection) continue;
    const auto name = last_segment(item.key());
    if (std::find(targets.begin(), targets.end(), name) == targets.end()) continue;
    projection->add_lora(settings.r, settings.scaling(), settings.dropout, adapters);
  }
  for (const auto& name : settings.modules_to_save) model->add_trained_copy(name);
}

bool is_adapter_parameter(const std::string& name) {
  return name.find(".lora_A.") != std::string::npos || name.find(".lora_B.") != std::string::npos ||
         name.rfind(kCopies, 0) == 0;
}

std::vector<std::pair<std::string, at::Tensor>> adapter_parameters(CausalLMImpl& model) {
  std::vector<std::pair<std::string, at::Tensor>> out;
  for (const auto& item : model.named_parameters()) {
    const std::string& name = item.key();
    if (!is_adapter_parameter(name)) continue;
    if (name.rfind(kCopies, 0) != 0) {
      out.emplace_back(kPeftPrefix + name, item.value());
    } else {
      const auto module = name.substr(std::string(kCopies).size());
      out.emplace_back(kPeftPrefix + copy_module_path(module) + ".weight", item.value());
    }
  }
  return out;
}

}  // namespace dpok::model
