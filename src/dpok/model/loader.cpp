// Format detection and dispatch (see loader.h).
#include "dpok/model/loader.h"

#include <fstream>

#include "dpok/core/error.h"
#include "dpok/io/gguf.h"
#include "dpok/io/llama2c.h"
#include "dpok/io/safetensors.h"
#include "dpok/model/adapter.h"

namespace dpok::model {
namespace {

bool starts_with_gguf_magic(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  char magic[4] = {};
  in.read(magic, sizeof(magic));
  return in.gcount() == 4 && std::string_view(magic, 4) == "GGUF";
}

}  // namespace

CheckpointFormat detect_format(const std::filesystem::path& path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) {
    DPOK_THROW(IoError, "model.load", "{}: no such file or directory", path.string());
  }
  if (std::filesystem::is_directory(path, ec)) return CheckpointFormat::kHuggingFace;
  if (starts_with_gguf_magic(path)) return CheckpointFormat::kGguf;
  const auto ext = path.extension().string();
  if (ext == ".safetensors") return CheckpointFormat::kHuggingFace;
  if (ext == ".bin") return CheckpointFormat::kLlama2c;
  DPOK_THROW(UnsupportedError, "model.load",
             "{}: unrecognised model format (expected a Hugging Face directory, a .gguf file or a "
             "llama2.c .bin)",
             path.string());
}

ModelConfig read_model_config(const std::filesystem::path& path, std::string* stored_dtype) {
  if (is_adapter_dir(path)) {
    return read_model_config(read_adapter_config(path).base_model_name_or_path, stored_dtype);
  }
  ModelConfig config;
  switch (detect_format(path)) {
    case CheckpointFormat::kHuggingFace:
      config = read_hf_config(path);
      break;
    case CheckpointFormat::kGguf:
      config = read_gguf_config(path);
      break;
    case CheckpointFormat::kLlama2c:
      config = read_llama2c_config(path);
      break;
  }
  if (stored_dtype != nullptr) *stored_dtype = config.torch_dtype;
  return config;
}

namespace {

void add_views(WeightsSummary& summary, const std::vector<io::TensorView>& views) {
  for (const auto& view : views) {
    ++summary.tensors;
    summary.elements += view.numel();
    summary.tensor_bytes += view.nbytes;
    ++summary.per_type[std::string(io::dtype_name(view.dtype))];
  }
}

}  // namespace

WeightsSummary describe_weights(const std::filesystem::path& path) {
  WeightsSummary summary;
  switch (detect_format(path)) {
    case CheckpointFormat::kHuggingFace: {
      const auto checkpoint = io::SafetensorsCheckpoint::open(path);
      for (const auto& file : checkpoint.files()) {
        summary.files.push_back(file.path());
        add_views(summary, file.tensors());
      }
      break;
    }
    case CheckpointFormat::kGguf: {
      const auto file = io::GgufFile::open(path);
      summary.files.push_back(path);
      for (const auto& info : file.tensor_infos()) {
        ++summary.tensors;
        summary.elements += static_cast<int64_t>(*io::checked_nbytes(info.shape, 1));
        summary.tensor_bytes += info.nbytes;
        ++summary.per_type[io::ggml_type_name(info.ggml_type)];
      }
      break;
    }
    case CheckpointFormat::kLlama2c: {
      const auto file = io::Llama2cFile::open(path);
      summary.files.push_back(path);
      add_views(summary, file.tensors());
      break;
    }
  }
  for (const auto& file : summary.files) summary.file_bytes += std::filesystem::file_size(file);
  return summary;
}

CausalLM load_model(const std::filesystem::path& path, const LoadOptions& options) {
  if (is_adapter_dir(path)) return load_adapter_model(path, options);
  switch (detect_format(path)) {
    case CheckpointFormat::kHuggingFace:
      return load_hf(path, options);
    case CheckpointFormat::kGguf:
      return load_gguf(path, options);
    case CheckpointFormat::kLlama2c:
      return load_llama2c(path, options);
  }
  DPOK_CHECK(false, "unhandled checkpoint format");
}

}  // namespace dpok::model
