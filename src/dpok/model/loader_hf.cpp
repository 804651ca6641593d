// Hugging Face checkpoints: config.json + model.safetensors or sharded safetensors.
#include <nlohmann/json.hpp>

#include "dpok/core/error.h"
#include "dpok/core/file_util.h"
#include "dpok/io/safetensors.h"
#include "dpok/model/loader.h"
#include "dpok/model/quantized_base.h"
#include "dpok/model/weights.h"

namespace dpok::model {
namespace {

constexpr const char* kComponent = "model.load";

nlohmann::json parse_json_file(const std::filesystem::path& path) {
  const std::string text = read_file(path);
  auto json = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (json.is_discarded()) {
    DPOK_THROW(FormatError, kComponent, "{}: not valid JSON", path.string());
  }
  return json;
}

std::filesystem::path model_dir(const std::filesystem::path& dir_or_file) {
  return std::filesystem::is_directory(dir_or_file) ? dir_or_file : dir_or_file.parent_path();
}

// An integer, a list of integers, or null.
std::vector<int64_t> parse_eos(const nlohmann::json& value, const std::filesystem::path& path) {
  std::vector<int64_t> ids;
  if (value.is_null()) return ids;
  if (value.is_number_integer()) return {value.get<int64_t>()};
  if (value.is_array()) {
    for (const auto& item : value) {
      if (!item.is_number_integer()) break;
      ids.push_back(item.get<int64_t>());
    }
    if (ids.size() == value.size()) return ids;
  }
  DPOK_THROW(ConfigError, kComponent,
             "{}: key 'eos_token_id' must be an integer or a list of integers, got {}",
             path.string(), value.dump());
}

}  // namespace

ModelConfig read_hf_config(const std::filesystem::path& dir_or_file) {
  const auto dir = model_dir(dir_or_file);
  const auto config_path = dir / "config.json";
  if (!std::filesystem::exists(config_path)) {
    DPOK_THROW(IoError, kComponent, "{}: no config.json in the model directory", dir.string());
  }
  auto config = ModelConfig::from_hf_json(parse_json_file(config_path), config_path.string());
  // generate() stops on generation_config's EOS ids when given (Llama 3 instruct lists several).
  const auto generation_path = dir / "generation_config.json";
  if (std::filesystem::exists(generation_path)) {
    auto generation = parse_json_file(generation_path);
    if (generation.is_object() && generation.contains("eos_token_id")) {
      auto ids = parse_eos(generation["eos_token_id"], generation_path);
      if (!ids.empty()) config.eos_token_ids = ids;
    }
  }
  return config;
}

CausalLM load_hf(const std::filesystem::path& dir_or_file, const LoadOptions& options) {
  const auto config = read_hf_config(dir_or_file);
  const auto checkpoint = io::SafetensorsCheckpoint::open(dir_or_file);
  const std::string source = checkpoint.path().string();
  CausalLM model(config, at::TensorOptions().dtype(options.dtype).device(options.device),
                 /*initialize=*/false);
  const ProjectionQuantizer quantizer(*model, options.quantize_projections);
  for (auto& item : model->named_parameters()) {
    if (!checkpoint.contains(item.key())) {
      DPOK_THROW(FormatError, kComponent, "{}: missing tensor '{}' ({} expects it)", source,
                 item.key(), config.architecture);
    }
    load_parameter(item.value(), checkpoint.at(item.key()), source);
    if (quantizer.target(item.key()) != nullptr)
      quantizer.quantize_loaded(item.key(), item.value());
  }
  model->eval();
  return model;
}

}  // namespace dpok::model
