// `dpok info MODEL [--json]`: what a checkpoint holds (architecture, parameter count, stored
// dtype, context length, layer and head counts, RoPE) without loading its weights, and what its
// weight files hold (files, tensors, bytes, per-type counts), read from their validated headers:
// a missing, empty, truncated or corrupt weight file is an error, not a healthy model. A LoRA
// adapter directory is described (configuration, adapter tensors) and then its base.
#include <iostream>
#include <nlohmann/json.hpp>

#include "dpok/cli/command.h"
#include "dpok/core/error.h"
#include "dpok/core/text_util.h"
#include "dpok/model/adapter.h"
#include "dpok/model/loader.h"

namespace dpok::cli {
namespace {

std::string format_name(model::CheckpointFormat format) {
  switch (format) {
    case model::CheckpointFormat::kHuggingFace:
      return "huggingface";
    case model::CheckpointFormat::kGguf:
      return "gguf";
    case model::CheckpointFormat::kLlama2c:
      return "llama2c";
  }
  return "unknown";
}

std::string ids_string(const std::vector<int64_t>& ids) {
  std::string out;
  for (auto id : ids) out += (out.empty() ? "" : " ") + std::to_string(id);
  return out.empty() ? "-" : out;
}

std::function<int()> setup_info(CLI::App& app) {
  app.description("Describe a model checkpoint (Hugging Face directory, .gguf or llama2.c .bin)");
  auto path = std::make_shared<std::string>();
  auto as_json = std::make_shared<bool>(false);
  app.add_option("model", *path, "model directory or file")->required();
  app.add_flag("--json", *as_json, "print the Hugging Face config.json of the model instead");
  return [path, as_json]() {
    if (model::is_adapter_dir(*path) && !*as_json) {
      // The adapter first, then the base it goes on.
      const auto adapter = model::describe_adapter(*path);
      const auto& lora = adapter.config.lora;
      std::cout << fmt::format(
          "adapter           LoRA r {}, alpha {} (scaling {:.4g}{}), dropout {}\n"
          "target modules    {}\nmodules to save   {}\n"
          "adapter weights   {}: {} tensors, {} parameters ({:.2f} MiB)\nbase model        {}\n\n",
          lora.r, lora.alpha, lora.scaling(), lora.use_rslora ? ", rsLoRA" : "", lora.dropout,
          join(lora.target_modules),
          lora.modules_to_save.empty() ? "-" : join(lora.modules_to_save),
          adapter.weights_file.string(), adapter.tensors, adapter.elements,
          static_cast<double>(adapter.bytes) / (1 << 20), adapter.base.string());
      *path = adapter.base.string();
    }
    const auto format = model::detect_format(*path);
    std::string stored;
    const auto c = model::read_model_config(*path, &stored);
    const auto weights = model::describe_weights(*path);
    if (weights.elements != c.num_parameters()) {
      DPOK_THROW(FormatError, "info",
                 "{}: the weight files hold {} elements in {} tensors, but the "
                 "configuration describes {} parameters",
                 *path, weights.elements, weights.tensors, c.num_parameters());
    }
    if (*as_json) {
      std::cout << c.to_hf_json().dump(2) << "\n";
      return 0;
    }
    const double millions = static_cast<double>(c.num_parameters()) / 1e6;
    std::cout << fmt::format(
        "format            {}\narchitecture      {} ({})\nparameters        {} ({:.2f}M)\n"
        "dtype             {}\ncontext length    {}\nlayers            {}\nhidden size       {}\n"
        "intermediate size {}\nattention heads   {} (key/value heads {}, head dim {})\n"
        "vocabulary        {}\nrope              {} (theta {}, factor {})\n"
        "tied embeddings   {}\nbos / eos / pad   {} / {} / {}\n",
        format_name(format), c.architecture, c.model_type, c.num_parameters(), millions, stored,
        c.max_position_embeddings, c.num_hidden_layers, c.hidden_size, c.intermediate_size,
        c.num_attention_heads, c.num_key_value_heads, c.head_dim, c.vocab_size, c.rope.type,
        c.rope.theta, c.rope.factor, c.tie_word_embeddings ? "yes" : "no",
        c.bos_token_id ? std::to_string(*c.bos_token_id) : "-", ids_string(c.eos_token_ids),
        c.pad_token_id ? std::to_string(*c.pad_token_id) : "-");
    std::string types;
    for (const auto& [type, count] : weights.per_type) {
      types += fmt::format("{}{} {}", types.empty() ? "" : ", ", count, type);
    }
    std::cout << fmt::format(
        "weight files      {} ({:.1f} MiB)\ntensors           {} ({}; {:.1f} MiB of data)\n"
        "stored elements   {}\n",
        weights.files.size(), static_cast<double>(weights.file_bytes) / (1 << 20), weights.tensors,
        types, static_cast<double>(weights.tensor_bytes) / (1 << 20), weights.elements);
    return 0;
  };
}

}  // namespace

DPOK_REGISTER_COMMAND("info", setup_info);

}  // namespace dpok::cli
