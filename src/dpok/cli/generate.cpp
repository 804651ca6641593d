// `dpok generate MODEL (--prompt-ids "1 2 3" | --prompt TEXT) [...]`: KV-cached greedy or
// sampled continuation. Text prompts and decoded output use the model's tokenizer: --tokenizer,
// else tokenizer.json / tokenizer.model in the model directory (or next to a .gguf / .bin file,
// where a single *.model SentencePiece file is also accepted; a .gguf file carries its own).
// Without a tokenizer the new ids are printed. --chat sends the prompt as one user message
// through the tokenizer's chat template (with the generation prompt) and prints only the reply.
// A LoRA adapter (PEFT format) runs on top of MODEL with --adapter DIR, or MODEL is the adapter
// directory itself (its base_model_name_or_path is loaded under it).
#include <iostream>
#include <sstream>

#include "dpok/cli/command.h"
#include "dpok/cli/options.h"
#include "dpok/core/error.h"
#include "dpok/core/torch/runtime.h"
#include "dpok/model/adapter.h"
#include "dpok/model/generate.h"
#include "dpok/model/loader.h"
#include "dpok/text/tokenizer.h"
#include "dpok/text/tokenizer_path.h"

namespace dpok::cli {
namespace {

struct GenerateArgs {
  std::string model, adapter, prompt, prompt_ids, tokenizer, dtype = "fp32", device = "cpu";
  model::GenerationOptions options;
  bool print_ids = false, chat = false;
};

std::vector<int64_t> parse_ids(const std::string& text) {
  std::istringstream in(text);
  std::vector<int64_t> ids;
  std::string token;
  while (in >> token) {
    try {
      size_t used = 0;
      ids.push_back(std::stoll(token, &used));
      if (used != token.size()) throw std::invalid_argument(token);
    } catch (const std::exception&) {
      DPOK_THROW(ConfigError, "generate", "--prompt-ids: '{}' is not an integer", token);
    }
  }
  return ids;
}

std::string join_ids(const std::vector<int64_t>& ids) {
  std::string out;
  for (auto id : ids) out += (out.empty() ? "" : " ") + std::to_string(id);
  return out;
}

int run_generate(const GenerateArgs& a) {
  if (a.prompt.empty() == a.prompt_ids.empty()) {
    DPOK_THROW(ConfigError, "generate", "give exactly one of --prompt and --prompt-ids");
  }
  // Optional here: without a tokenizer the new ids are printed. An adapter's own tokenizer wins.
  auto tokenizer_path =
      a.adapter.empty() ? std::filesystem::path() : text::find_tokenizer(a.adapter, a.tokenizer);
  if (tokenizer_path.empty()) tokenizer_path = text::find_tokenizer(a.model, a.tokenizer);
  std::unique_ptr<text::Tokenizer> tokenizer;
  if (!tokenizer_path.empty()) tokenizer = text::Tokenizer::load(tokenizer_path);
  std::vector<int64_t> prompt;
  if (!a.prompt.empty()) {
    if (!tokenizer) {
      DPOK_THROW(ConfigError, "generate",
                 "{}: no tokenizer found next to the model; pass --tokenizer or --prompt-ids",
                 a.model);
    }
    if (a.chat) {
      const auto messages =
          nlohmann::ordered_json::array({{{"role", "user"}, {"content", a.prompt}}});
      // The template writes its own special tokens, as apply_chat_template(tokenize=True) does.
      const auto rendered =
          tokenizer->apply_chat_template(messages, /*add_generation_prompt=*/true);
      for (int32_t id : tokenizer->encode(rendered, /*add_special_tokens=*/false))
        prompt.push_back(id);
    } else {
      for (int32_t id : tokenizer->encode(a.prompt)) prompt.push_back(id);
    }
  } else if (a.chat) {
    DPOK_THROW(ConfigError, "generate", "--chat needs --prompt");
  } else {
    prompt = parse_ids(a.prompt_ids);
  }
  const model::LoadOptions load{.dtype = parse_dtype(a.dtype), .device = parse_device(a.device)};
  auto lm = a.adapter.empty() ? model::load_model(a.model, load)
                              : model::load_adapter_model(a.adapter, load, a.model);
  const auto new_ids = model::generate(lm, prompt, a.options);
  if (tokenizer) {
    std::vector<int32_t> all(a.chat ? prompt.end() : prompt.begin(), prompt.end());
    all.insert(all.end(), new_ids.begin(), new_ids.end());
    std::cout << tokenizer->decode(all, /*skip_special_tokens=*/true) << "\n";
  }
  if (!tokenizer || a.print_ids) std::cout << join_ids(new_ids) << "\n";
  return 0;
}

std::function<int()> setup_generate(CLI::App& app) {
  app.description("Continue a prompt with a KV-cached greedy or sampled decoder");
  auto a = std::make_shared<GenerateArgs>();
  app.add_option("model", a->model,
                 "model directory, .gguf or llama2.c .bin (a LoRA adapter directory: its base "
                 "with the adapter)")
      ->required();
  app.add_option("--adapter", a->adapter, "LoRA adapter directory (PEFT format) on top of MODEL");
  app.add_option("--prompt", a->prompt, "prompt text (needs a tokenizer)");
  app.add_option("--prompt-ids", a->prompt_ids, "prompt token ids, space-separated");
  add_tokenizer_option(app, a->tokenizer);
  app.add_option("--max-new-tokens", a->options.max_new_tokens, "tokens to generate at most")
      ->capture_default_str();
  app.add_option("--min-new-tokens", a->options.min_new_tokens, "EOS is suppressed before this")
      ->capture_default_str();
  app.add_option("--temperature", a->options.temperature, "0 = greedy")->capture_default_str();
  app.add_option("--top-k", a->options.top_k, "0 = off")->capture_default_str();
  app.add_option("--top-p", a->options.top_p, "1 = off")->capture_default_str();
  app.add_option("--seed", a->options.seed, "sampling seed")->capture_default_str();
  app.add_option("--dtype", a->dtype, "fp32, bf16 or fp16")->capture_default_str();
  add_device_option(app, a->device);
  app.add_flag("--print-ids", a->print_ids, "also print the new token ids");
  app.add_flag("--chat", a->chat,
               "send --prompt as a user message through the chat template; print the reply");
  return [a]() { return run_generate(*a); };
}

}  // namespace

DPOK_REGISTER_COMMAND("generate", setup_generate);

}  // namespace dpok::cli
