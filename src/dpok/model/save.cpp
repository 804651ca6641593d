// Hugging Face format writer (see save.h).
#include "dpok/model/save.h"

#include <nlohmann/json.hpp>

#include <span>
#include <vector>

#include "dpok/core/error.h"
#include "dpok/core/file_util.h"
#include "dpok/io/safetensors.h"
#include "dpok/model/quantized_base.h"
#include "dpok/model/weights.h"

namespace dpok::model {
namespace {

nlohmann::json optional_id(const std::optional<int64_t>& id) {
  return id ? nlohmann::json(*id) : nlohmann::json(nullptr);
}

nlohmann::json generation_config(const ModelConfig& config) {
  nlohmann::json j = {{"_from_model_config", true},
                      {"bos_token_id", optional_id(config.bos_token_id)},
                      {"pad_token_id", optional_id(config.pad_token_id)}};
  if (config.eos_token_ids.size() == 1) {
    j["eos_token_id"] = config.eos_token_ids[0];
  } else if (!config.eos_token_ids.empty()) {
    j["eos_token_id"] = config.eos_token_ids;
  }
  return j;
}

}  // namespace

std::vector<io::TensorToWrite> tensors_to_write(
    const std::vector<std::pair<std::string, at::Tensor>>& named,
    std::vector<at::Tensor>& holders) {
  // CPU contiguous tensors are written straight from their memory; others are copied one by one
  // into `holders`, which keeps the bytes alive until the writer is done.
  std::vector<io::TensorToWrite> tensors;
  holders.reserve(holders.size() + named.size());
  for (const auto& [name, tensor] : named) {
    auto cpu = tensor.detach().to(at::kCPU).contiguous();
    holders.push_back(cpu);
    const auto* bytes = static_cast<const std::byte*>(cpu.data_ptr());
    tensors.push_back({name, to_io_dtype(cpu.scalar_type()), cpu.sizes().vec(),
                       std::span<const std::byte>(bytes, cpu.nbytes())});
  }
  return tensors;
}

std::string hf_dtype_name(c10::ScalarType dtype) {
  switch (dtype) {
    case at::kFloat:
      return "float32";
    case at::kBFloat16:
      return "bfloat16";
    case at::kHalf:
      return "float16";
    case at::kDouble:
      return "float64";
    default:
      return c10::toString(dtype);
  }
}

void save_pretrained(CausalLM& model, const std::filesystem::path& dir, size_t max_shard_bytes) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) {
    DPOK_THROW(IoError, "model.save", "{}: cannot create directory: {}", dir.string(),
               ec.message());
  }
  std::vector<std::pair<std::string, at::Tensor>> named;
  for (const auto& item : model->named_parameters()) named.emplace_back(item.key(), item.value());
  // A quantized base is written dequantized: a Hugging Face checkpoint holds float weights.
  for (const auto& [name, weight] : quantized_weights(*model)) {
    named.emplace_back(name, weight->dequantize().to(model->options()));
  }
  std::vector<at::Tensor> holders;
  const auto tensors = tensors_to_write(named, holders);
  io::write_safetensors_checkpoint(dir, tensors, max_shard_bytes, {{"format", "pt"}});

  ModelConfig config = model->config();
  config.torch_dtype = hf_dtype_name(model->options().dtype().toScalarType());
  write_file_atomic(dir / "config.json", config.to_hf_json().dump(2) + "\n");
  write_file_atomic(dir / "generation_config.json", generation_config(config).dump(2) + "\n");
}

}  // namespace dpok::model
