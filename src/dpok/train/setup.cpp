// The run's objective, the tokenizer location and tokenizer files (see setup.h).
#include "dpok/train/setup.h"

#include "dpok/core/error.h"
#include "dpok/core/file_util.h"
#include "dpok/io/gguf.h"
#include "dpok/text/gguf_tokenizer.h"
#include "dpok/text/tokenizer_path.h"

namespace dpok::train {
namespace fs = std::filesystem;
namespace {

constexpr const char* kComponent = "train.setup";

}  // namespace

objective::ObjectiveConfig to_objective_config(const TrainConfig& config, bool sft_only) {
  objective::ObjectiveConfig out = config.objective;
  if (sft_only) {
    out.loss_type = {objective::LossType::kSft};
    out.loss_weights.clear();
    out.gamma = 0.0;
    out.penalty_alpha = 0.0;
  }
  return out;
}

fs::path tokenizer_path(const TrainConfig& config) {
  return text::require_tokenizer(config.model, config.tokenizer, kComponent, "'tokenizer'");
}

void copy_tokenizer_files(const fs::path& tokenizer, const fs::path& dir) {
  static const std::vector<std::string> kFiles = {"tokenizer.json", "tokenizer_config.json",
                                                  "tokenizer.model", "special_tokens_map.json",
                                                  "chat_template.jinja"};
  if (text::gguf_has_tokenizer(tokenizer)) {
    // A GGUF file's tokenizer is written out as the tokenizer.json / tokenizer_config.json that
    // transformers builds from it, so the saved checkpoint loads without the GGUF.
    const auto files = text::gguf_tokenizer_files(io::GgufFile::open(tokenizer));
    write_file_atomic(dir / "tokenizer.json", files.tokenizer.dump(2));
    write_file_atomic(dir / "tokenizer_config.json", files.config.dump(2));
    return;
  }
  std::vector<fs::path> sources;
  if (fs::is_directory(tokenizer)) {
    for (const auto& name : kFiles) {
      if (fs::exists(tokenizer / name)) sources.push_back(tokenizer / name);
    }
  } else {
    sources.push_back(tokenizer);
    // A tokenizer.json travels with its tokenizer_config.json.
    auto config = tokenizer.parent_path() / "tokenizer_config.json";
    if (fs::exists(config)) sources.push_back(config);
  }
  for (const auto& source : sources) {
    // A SentencePiece model saved under another name (tok512.model) is what transformers'
    // LlamaTokenizer looks for as tokenizer.model.
    fs::path target = dir / source.filename();
    if (source.extension() == ".model") target = dir / "tokenizer.model";
    std::error_code ec;
    fs::copy_file(source, target, fs::copy_options::overwrite_existing, ec);
    if (ec) {
      DPOK_THROW(IoError, kComponent, "cannot copy tokenizer file {} to {}: {}", source.string(),
                 target.string(), ec.message());
    }
  }
}

}  // namespace dpok::train
