// Tokenizer location next to a model (see tokenizer_path.h).
#include "dpok/text/tokenizer_path.h"

#include "dpok/core/error.h"
#include "dpok/text/gguf_tokenizer.h"

namespace dpok::text {
namespace fs = std::filesystem;

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
