// Tokenizer location next to a model (see tokenizer_path.h).
#include "dpok/text/tokenizer_path.h"

#include <nlohmann/json.hpp>

#include "dpok/core/error.h"
#include "dpok/core/file_util.h"
#include "dpok/text/gguf_tokenizer.h"

namespace dpok::text {
namespace fs = std::filesystem;
namespace {

// A PEFT adapter directory's base_model_name_or_path, or empty (not an adapter, none named).
fs::path adapter_base(const fs::path& dir) {
  if (!fs::exists(dir / "adapter_config.json")) return {};
  const auto json = nlohmann::json::parse(read_file(dir / "adapter_config.json"), nullptr,
                                          /*allow_exceptions=*/false);
  if (!json.is_object() || !json.contains("base_model_name_or_path")) return {};
  const auto& base = json["base_model_name_or_path"];
  return base.is_string() ? fs::path(base.get<std::string>()) : fs::path();
}

}  // namespace

fs::path find_tokenizer(const fs::path& model, const fs::path& explicit_path) {
  if (!explicit_path.empty()) return explicit_path;
  if (gguf_has_tokenizer(model)) return model;
  const bool is_dir = fs::is_directory(model);
  const fs::path dir = is_dir                    ? model
                       : model.has_parent_path() ? model.parent_path()
                                                 : fs::path(".");
  for (const char* name : {"tokenizer.json", "tokenizer.model"}) {
    if (fs::exists(dir / name)) return dir;
  }
  // A LoRA adapter saved without its tokenizer (PEFT's save_pretrained): the base model's.
  if (const auto base = is_dir ? adapter_base(dir) : fs::path(); !base.empty() && base != model) {
    return find_tokenizer(base);
  }
  if (is_dir || !fs::is_directory(dir)) return {};
  fs::path found;
  for (const auto& entry : fs::directory_iterator(dir)) {
    if (entry.path().extension() != ".model") continue;
    if (!found.empty()) return {};  // ambiguous: the user names one
    found = entry.path();
  }
  return found;
}

fs::path require_tokenizer(const fs::path& model, const fs::path& explicit_path,
                           const char* component, const std::string& option) {
  if (explicit_path.empty() && !fs::exists(model)) {
    DPOK_THROW(IoError, component, "model '{}' does not exist", model.string());
  }
  auto path = find_tokenizer(model, explicit_path);
  if (path.empty()) {
    DPOK_THROW(ConfigError, component,
               "no tokenizer found next to model '{}' (tokenizer.json, tokenizer.model or a "
               "single *.model file): set {} to its tokenizer",
               model.string(), option);
  }
  return path;
}

}  // namespace dpok::text
