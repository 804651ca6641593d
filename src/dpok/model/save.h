// Saving a model in Hugging Face format: config.json, generation_config.json and safetensors
// (model.safetensors, or model-0000i-of-0000N.safetensors + model.safetensors.index.json above
// the shard threshold), in the layout transformers' from_pretrained loads.
//
// Each file is written atomically (temporary, fsync, rename); making the whole directory appear
// atomically is the caller's job (the trainer writes to a temporary directory and renames it).
// Weights are saved in the model's dtype. Tokenizer files are not written here.
#pragma once

#include <cstddef>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "dpok/io/safetensors.h"

#include "dpok/model/causal_lm.h"

namespace dpok::model {

// Writes `model` into `dir` (created if needed). Throws IoError naming the file on failure.
void save_pretrained(CausalLM& model, const std::filesystem::path& dir,
                     size_t max_shard_bytes = size_t{5} << 30);

// `named` tensors as safetensors entries in their dtype: CPU contiguous tensors point at their own
// memory, others at a copy appended to `holders`, which must outlive the write.
std::vector<io::TensorToWrite> tensors_to_write(
    const std::vector<std::pair<std::string, at::Tensor>>& named, std::vector<at::Tensor>& holders);

// The "dtype" transformers writes for a LibTorch dtype ("float32", "bfloat16", "float16", ...).
std::string hf_dtype_name(c10::ScalarType dtype);

}  // namespace dpok::model
