// Loading a model from disk: a Hugging Face directory (config.json + safetensors, sharded or
// not), a GGUF file (llama architecture, F32/F16/BF16 tensors), or a llama2.c .bin checkpoint.
//
// A directory holding adapter_config.json is a PEFT LoRA adapter: the model is its base
// (base_model_name_or_path) with the adapter applied (adapter.h).
//
// The format is detected from the path: a directory or .safetensors file is Hugging Face, a
// file starting with "GGUF" is GGUF, a .bin file is llama2.c. Weights are copied tensor by tensor
// from the memory-mapped file into freshly allocated parameters of the requested dtype and
// device, so at most one copy of the weights exists (plus the page cache of the mapping).
// Unsupported architectures and tensor types are refused by name (UnsupportedError); malformed
// files throw FormatError / IoError naming the file and tensor. Tokenizers are not loaded here.
#pragma once

#include <c10/core/Device.h>
#include <c10/core/ScalarType.h>

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>

#include "dpok/model/causal_lm.h"
#include "dpok/model/config.h"

namespace dpok::model {

struct LoadOptions {
  c10::ScalarType dtype = c10::kFloat;
  c10::Device device = c10::kCPU;
  // Keep the decoder projections' weights quantized (quantized_base.h): float weights become this
  // ggml type, GGUF blocks stay as stored. nullopt: every weight in `dtype`.
  std::optional<uint32_t> quantize_projections = std::nullopt;
};

enum class CheckpointFormat { kHuggingFace, kGguf, kLlama2c };

// Which loader `path` needs. Throws IoError when it does not exist, UnsupportedError when the
// format is not recognised.
CheckpointFormat detect_format(const std::filesystem::path& path);

// The configuration of the model at `path`, without loading its weights (for `dpok info`).
// `stored_dtype` receives the dtype of the checkpoint's weights as stored ("float32", ...).
ModelConfig read_model_config(const std::filesystem::path& path,
                              std::string* stored_dtype = nullptr);

// What the weight files of a checkpoint hold, read from their headers: every file is opened and
// validated (header, offsets and sizes inside the file, no overlaps; a sharded checkpoint's
// index against its shards), so an empty, truncated or corrupt file fails here, naming it.
struct WeightsSummary {
  std::vector<std::filesystem::path> files;
  uint64_t file_bytes = 0;  // on disk, all files
  int64_t tensors = 0;
  int64_t elements = 0;
  uint64_t tensor_bytes = 0;                // the tensors' data, as stored
  std::map<std::string, int64_t> per_type;  // tensor count per stored type ("F32", "Q4_1", ...)
};
WeightsSummary describe_weights(const std::filesystem::path& path);

// Loads the model at `path` in eval mode with gradients enabled on its parameters.
CausalLM load_model(const std::filesystem::path& path, const LoadOptions& options = {});

// Per-format entry points (load_model dispatches to these).
CausalLM load_hf(const std::filesystem::path& dir_or_file, const LoadOptions& options);
CausalLM load_gguf(const std::filesystem::path& file, const LoadOptions& options);
CausalLM load_llama2c(const std::filesystem::path& file, const LoadOptions& options);

// Per-format configuration readers (read_model_config dispatches to these). read_hf_config
// reads config.json (+ generation_config.json's eos_token_id, when present) of a directory.
ModelConfig read_hf_config(const std::filesystem::path& dir_or_file);
ModelConfig read_gguf_config(const std::filesystem::path& file);
ModelConfig read_llama2c_config(const std::filesystem::path& file);

}  // namespace dpok::model
