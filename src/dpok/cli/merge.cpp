// `dpok merge ADAPTER --out DIR [--base MODEL] [--dtype fp32|bf16|fp16]`: a LoRA adapter (PEFT
// format: a `dpok train` checkpoint with use_peft, or PEFT's save_pretrained) merged into its
// base model (W + scaling · B A, modules_to_save copies in place of the originals) and written as
// a standard Hugging Face checkpoint with the tokenizer files: what PEFT's merge_and_unload then
// save_pretrained gives, for tools that do not read adapters.
#include <iostream>

#include "dpok/cli/command.h"
#include "dpok/core/error.h"
#include "dpok/core/torch/runtime.h"
#include "dpok/model/adapter.h"
#include "dpok/model/save.h"
#include "dpok/text/tokenizer_path.h"
#include "dpok/train/setup.h"

namespace dpok::cli {
namespace {

struct MergeArgs {
  std::string adapter, base, out, tokenizer, dtype = "fp32";
};

int run_merge(const MergeArgs& a) {
  if (!model::is_adapter_dir(a.adapter)) {
    DPOK_THROW(ConfigError, "merge", "{} is not an adapter directory (no adapter_config.json)",
               a.adapter);
  }
  // Merged in fp32 (the delta B A is added at full precision), then saved in --dtype.
  auto model = model::merge_adapter(a.adapter, {}, a.base);
  if (const auto dtype = parse_dtype(a.dtype); dtype != at::kFloat) model->to(dtype);
  model::save_pretrained(model, a.out);
  // The adapter's own tokenizer files when it has them, else its base model's (--base's).
  auto tokenizer = text::find_tokenizer(a.adapter, a.tokenizer);
  if (tokenizer.empty() && !a.base.empty()) tokenizer = text::find_tokenizer(a.base);
  if (!tokenizer.empty()) train::copy_tokenizer_files(tokenizer, a.out);
  std::cout << "wrote " << a.out << " (" << model->config().architecture << ", "
            << (model->config().tie_word_embeddings ? "tied" : "untied") << " embeddings"
            << (tokenizer.empty() ? ", no tokenizer found" : "") << ")\n";
  return 0;
}

std::function<int()> setup_merge(CLI::App& app) {
  app.description("Merge a LoRA adapter into its base model and save a Hugging Face checkpoint");
  auto a = std::make_shared<MergeArgs>();
  app.add_option("adapter", a->adapter, "adapter directory (adapter_config.json)")->required();
  app.add_option("--out", a->out, "output directory")->required();
  app.add_option("--base", a->base, "base model (default: the adapter's base_model_name_or_path)");
  app.add_option("--tokenizer", a->tokenizer,
                 "tokenizer to copy (default: the adapter's, else the base model's)");
  app.add_option("--dtype", a->dtype, "dtype of the saved weights: fp32, bf16 or fp16")
      ->capture_default_str();
  return [a]() { return run_merge(*a); };
}

}  // namespace

DPOK_REGISTER_COMMAND("merge", setup_merge);

}  // namespace dpok::cli
